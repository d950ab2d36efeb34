package export_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
)

// orders is a host's own table as a source: it streams the subject's
// orders, one record each.
var orders = gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
	for i, item := range []string{"tea", "=HYPERLINK(\"http://x\")"} {
		err := w.WriteRecord(ctx, gdpr.Record{
			Dataset: "orders", ID: fmt.Sprint(i + 1), Activity: "shop", Category: "orders", Provided: true,
			Time:   time.Date(2026, 5, 1+i, 10, 0, 0, 0, time.UTC),
			Fields: map[string]any{"item": item, "cents": 450, "receipt": []byte{0x25, 0x50, 0x44, 0x46}},
		})
		if err != nil {
			return err
		}
	}
	return nil
})

var register = &gdpr.Register{
	Controller: gdpr.Party{Name: "Example Shop GmbH", Email: "privacy@shop.example"},
	Activities: []gdpr.Activity{{
		ID: "shop", Name: "Orders", Description: "To deliver what you order.", Basis: gdpr.Contract,
		SubjectCategories: []string{"customers"},
		DataCategories:    []gdpr.Category{{ID: "orders", Description: "What you ordered and paid"}},
		Retention:         gdpr.RetentionRule{Description: "10 years after the order (tax law)"},
	}},
}

// A subject's access bundle is written to any io.Writer, and the
// receiving side opens it with the controller's public key: the
// signature, every file's hash and the archive's shape are checked
// before a record is read.
func ExampleBuilder_Write() {
	ctx := context.Background()
	pub, key, _ := ed25519.GenerateKey(nil) // in production: a key in a KMS, as a crypto.Signer
	b, err := export.New(key,
		export.WithSources(export.Source{Name: "shop", Exporter: orders}),
		export.WithRegister(register),
		export.WithClock(func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }),
	)
	if err != nil {
		log.Fatal(err)
	}
	var bundle bytes.Buffer
	m, err := b.Write(ctx, &bundle, gdpr.Request{ID: "req-1", Kind: gdpr.KindAccess, Subject: "customer-42"})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range m.Files {
		fmt.Println(f.Path, f.Records)
	}

	opened, err := export.Open(bytes.NewReader(bundle.Bytes()), int64(bundle.Len()), pub)
	if err != nil {
		log.Fatal(err)
	}
	for r, err := range opened.Records(ctx, "orders") {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %v %s\n", r.ID, r.Fields["item"], r.Fields["receipt"])
	}
	info, _ := opened.Information()
	fmt.Println(info.Activities[0].Purpose, info.Activities[0].BasisArticle, info.Activities[0].Retention.Description)
	// Output:
	// data/orders.json 2
	// data/orders.csv 2
	// information.json 0
	// index.html 2
	// 1 tea %PDF
	// 2 =HYPERLINK("http://x") %PDF
	// shop Art. 6(1)(b) 10 years after the order (tax law)
}

// A portability bundle holds only what the subject provided under
// consent or a contract; a record the controller derived is left out and
// counted.
func ExampleBuilder_Write_portability() {
	ctx := context.Background()
	_, key, _ := ed25519.GenerateKey(nil)
	derived := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		return w.WriteRecord(ctx, gdpr.Record{Dataset: "scores", ID: "1", Activity: "shop", Fields: map[string]any{"churn_risk": 0.2}})
	})
	b, err := export.New(key, export.WithRegister(register), export.WithSources(
		export.Source{Name: "shop", Exporter: orders},
		export.Source{Name: "analytics", Exporter: derived},
	))
	if err != nil {
		log.Fatal(err)
	}
	var bundle bytes.Buffer
	m, err := b.Write(ctx, &bundle, gdpr.Request{Kind: gdpr.KindPortability, Subject: "customer-42"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(m.Files), "files; omitted:", m.Omitted)
	// Output:
	// 3 files; omitted: 1
}
