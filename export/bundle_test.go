package export_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
)

// bundleOf writes the records as one source's and returns the bundle and
// the key it verifies under.
func bundleOf(t *testing.T, kind gdpr.RequestKind, recs ...gdpr.Record) ([]byte, ed25519.PublicKey) {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(nil)
	src := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		for _, r := range recs {
			if err := w.WriteRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	b, err := export.New(key, export.WithSources(export.Source{Name: "src", Exporter: src}), export.WithRegister(register),
		export.WithClock(func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "req-1", Kind: kind, Subject: "s-1"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), pub
}

func readAll(t *testing.T, data []byte, pub ed25519.PublicKey, dataset string) []gdpr.Record {
	t.Helper()
	b := openBundle(t, pub, data)
	var out []gdpr.Record
	for r, err := range b.Records(context.Background(), dataset) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestRoundTripValues: what a source writes comes back as the format
// says: the same values, numbers as json.Number, times in UTC.
func TestRoundTripValues(t *testing.T) {
	var ctl strings.Builder
	for c := 0; c < 0x20; c++ {
		ctl.WriteByte(byte(c))
	}
	blob := make([]byte, 1<<20)
	rand.Read(blob)
	long := strings.Repeat("é", 2<<20) // 4 MiB
	when := time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.FixedZone("CEST", 2*3600))
	type tc struct {
		name     string
		in, want any
	}
	cases := []tc{
		{"nil", nil, nil},
		{"bool", true, true},
		{"int", -42, json.Number("-42")},
		{"int64 max", int64(1<<63 - 1), json.Number("9223372036854775807")},
		{"uint64 max", uint64(1<<64 - 1), json.Number("18446744073709551615")},
		{"int8", int8(-8), json.Number("-8")},
		{"float", 1.5, json.Number("1.5")},
		{"float big", 1e21, json.Number("1e+21")},
		{"float small", 1e-7, json.Number("1e-7")},
		{"json.Number", json.Number("12.50"), json.Number("12.50")},
		{"controls", ctl.String(), ctl.String()},
		{"html and separators", "<a href=\"x\">&</a>\u2028\u2029", "<a href=\"x\">&</a>\u2028\u2029"},
		{"emoji", "😀 Zoë", "😀 Zoë"},
		{"long", long, long},
		{"non-UTF-8", "a\xff\xfe\x00b", "a\xff\xfe\x00b"},
		{"bytes", []byte{0, 1, 255}, []byte{0, 1, 255}},
		{"empty bytes", []byte{}, []byte{}},
		{"1 MiB bytes", blob, blob},
		{"time", when, when.UTC()},
		{"nested", map[string]any{"a": []any{1, map[string]any{"b": []byte("x"), "c": "\xff"}}},
			map[string]any{"a": []any{json.Number("1"), map[string]any{"b": []byte("x"), "c": "\xff"}}}},
		{"map[string]string", map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{"[]string", []string{"a", "b"}, []any{"a", "b"}},
		{"pointer keys", map[string]any{"a/b": map[string]any{"~c": []byte("y")}}, map[string]any{"a/b": map[string]any{"~c": []byte("y")}}},
		{"struct", struct {
			A int `json:"a"`
		}{3}, map[string]any{"a": json.Number("3")}},
	}
	var recs []gdpr.Record
	for i, c := range cases {
		recs = append(recs, gdpr.Record{Dataset: "values", ID: fmt.Sprint(i), Category: "c", Activity: "shop", Provided: i%2 == 0,
			Time: when, Fields: map[string]any{"v": c.in}})
	}
	data, pub := bundleOf(t, gdpr.KindAccess, recs...)
	got := readAll(t, data, pub, "values")
	if len(got) != len(cases) {
		t.Fatalf("%d records back, want %d", len(got), len(cases))
	}
	for i, c := range cases {
		r := got[i]
		if r.ID != fmt.Sprint(i) || r.Dataset != "values" || r.Category != "c" || r.Activity != "shop" || r.Provided != (i%2 == 0) || !r.Time.Equal(when) {
			t.Errorf("%s: record metadata %+v", c.name, r)
		}
		v := r.Fields["v"]
		if wt, ok := c.want.(time.Time); ok {
			gt, ok := v.(time.Time)
			if !ok || !gt.Equal(wt) || gt.Location() != time.UTC {
				t.Errorf("%s: got %#v, want %v in UTC", c.name, v, wt)
			}
			continue
		}
		if !reflect.DeepEqual(v, c.want) {
			t.Errorf("%s: got %.80v (%T), want %.80v (%T)", c.name, v, v, c.want, c.want)
		}
	}
}

var injections = []string{
	"<script>alert(1)</script>", `=cmd|' /C calc'!A0`, `@SUM(1+1)*cmd|' /C calc'!A0`, "+1+1", "-2+3",
	"\t=1", "\r=1", " =1", "＝1", "＋1", "－1", "＠1",
}

// TestInjectionInert: no CSV cell or header a spreadsheet would run, and
// no markup in the HTML page, whatever the values and the field names.
func TestInjectionInert(t *testing.T) {
	fields := map[string]any{"n": -5}
	for i, s := range injections {
		fields[fmt.Sprint("f", i)] = s
		fields[s] = "name"
	}
	data, pub := bundleOf(t, gdpr.KindAccess, gdpr.Record{Dataset: "x", ID: "=1", Fields: fields})
	b := openBundle(t, pub, data)
	rc, err := b.File(1, "data/x.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(rc).ReadAll()
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	nCol := -1
	for i, h := range rows[0] {
		if h == "n" {
			nCol = i
		}
	}
	for ri, row := range rows {
		for ci, cell := range row {
			if ri == 1 && ci == nCol {
				if cell != "-5" {
					t.Errorf("the number cell is %q, want -5", cell)
				}
				continue
			}
			s := strings.TrimLeft(cell, " ")
			if s == "" || s[0] == '\'' {
				continue
			}
			if strings.ContainsRune("=+-@\t\r", rune(s[0])) || strings.HasPrefix(s, "＝") || strings.HasPrefix(s, "＋") || strings.HasPrefix(s, "－") || strings.HasPrefix(s, "＠") {
				t.Errorf("row %d column %d: a live formula %q", ri, ci, cell)
			}
		}
	}
	rc, _ = b.File(1, "index.html")
	page, _ := io.ReadAll(rc)
	rc.Close()
	if bytes.Contains(page, []byte("<script")) || !bytes.Contains(page, []byte("&lt;script&gt;")) {
		t.Error("index.html holds the planted script unescaped, or not at all")
	}
}

// TestSourceFailsMidway: a source that fails after some records leaves
// the writer untouched, and the error names it without the data.
func TestSourceFailsMidway(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	boom := errors.New("connection reset")
	later := false
	failing := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		for i := range 3 {
			if err := w.WriteRecord(ctx, gdpr.Record{Dataset: "crm", ID: fmt.Sprint(i), Fields: map[string]any{"name": canary}}); err != nil {
				return err
			}
		}
		return boom
	})
	after := gdpr.ExporterFunc(func(context.Context, gdpr.SubjectID, gdpr.RecordWriter) error { later = true; return nil })
	b, err := export.New(key, export.WithSources(export.Source{Name: "crm", Exporter: failing}, export.Source{Name: "after", Exporter: after}))
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	_, err = b.Write(context.Background(), &w, gdpr.Request{Kind: gdpr.KindAccess, Subject: "s-1"})
	var ee *export.Error
	if !errors.Is(err, export.ErrSource) || !errors.Is(err, boom) || !errors.As(err, &ee) || ee.Field != "crm" {
		t.Fatalf("Write: %#v, want ErrSource naming crm", err)
	}
	if w.Len() != 0 || later {
		t.Fatalf("%d bytes written, later source called: %v", w.Len(), later)
	}
	for _, s := range []string{fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err)} {
		if strings.Contains(s, "Mustermann") || strings.Contains(s, "s-1") {
			t.Fatalf("the error holds personal data: %s", s)
		}
	}
}

// TestTruncatedAndResigned: a bundle cut anywhere is refused; one whose
// data was changed and manifest re-signed by another key is refused
// against the controller's key.
func TestTruncatedAndResigned(t *testing.T) {
	data, pub := bundleOf(t, gdpr.KindAccess, gdpr.Record{Dataset: "crm", ID: "1", Fields: map[string]any{"name": canary}})
	for i := 1; i <= 50; i++ {
		n := len(data) * i / 51
		if _, err := export.Open(bytes.NewReader(data[:n]), int64(n), pub); !errors.Is(err, export.ErrBundle) {
			t.Fatalf("cut at %d of %d: %v, want ErrBundle", n, len(data), err)
		}
	}
	// The attacker's own bundle of changed data verifies under the
	// attacker's key only.
	forged, attacker := bundleOf(t, gdpr.KindAccess, gdpr.Record{Dataset: "crm", ID: "1", Fields: map[string]any{"name": "Mallory"}})
	if _, err := export.Open(bytes.NewReader(forged), int64(len(forged)), pub); !errors.Is(err, export.ErrSignature) {
		t.Fatalf("a bundle signed by another key: %v, want ErrSignature", err)
	}
	if _, err := export.Open(bytes.NewReader(forged), int64(len(forged)), attacker); err != nil {
		t.Fatalf("the attacker's bundle under the attacker's key: %v", err)
	}
	// The controller's manifest over the attacker's data files.
	zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	zf, _ := zip.NewReader(bytes.NewReader(forged), int64(len(forged)))
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for i, f := range zf.File {
		src := f
		if f.Name == export.ManifestPath {
			src = zr.File[i]
		}
		r, _ := src.OpenRaw()
		w, _ := zw.CreateRaw(&src.FileHeader)
		io.Copy(w, r)
	}
	zw.Close()
	if _, err := export.Open(bytes.NewReader(out.Bytes()), int64(out.Len()), pub); !errors.Is(err, export.ErrBundle) {
		t.Fatalf("the controller's manifest over changed files: %v, want ErrBundle", err)
	}
}

// TestDeterministicBytes: the same input and clock give the same bytes.
func TestDeterministicBytes(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	_ = pub
	src := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		return w.WriteRecord(ctx, gdpr.Record{Dataset: "crm", ID: "1", Fields: map[string]any{"b": 1, "a": []byte("x"), "c": map[string]any{"z": 1, "y": 2}}})
	})
	write := func(at time.Time) []byte {
		b, err := export.New(key, export.WithSources(export.Source{Name: "crm", Exporter: src}), export.WithRegister(register),
			export.WithClock(func() time.Time { return at }))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "r", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if !bytes.Equal(write(t0), write(t0)) {
		t.Fatal("two bundles of the same input differ")
	}
	if bytes.Equal(write(t0), write(t0.Add(time.Hour))) {
		t.Fatal("bundles of two times are the same")
	}
}

// TestPartsRoundTrip: a bundle split into parts reads back whole; a part
// missing, swapped or altered is refused.
func TestPartsRoundTrip(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	const n = 3000
	src := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		buf := make([]byte, 600)
		for i := range n {
			rand.Read(buf)
			if err := w.WriteRecord(ctx, gdpr.Record{Dataset: []string{"a", "b"}[i%2], ID: fmt.Sprint(i), Fields: map[string]any{"noise": hex.EncodeToString(buf)}}); err != nil {
				return err
			}
		}
		return nil
	})
	b, err := export.New(key, export.WithSources(export.Source{Name: "src", Exporter: src}), export.WithPartSize(export.MinPartSize))
	if err != nil {
		t.Fatal(err)
	}
	var parts []*bytes.Buffer
	m, err := b.WriteParts(context.Background(), gdpr.Request{ID: "r", Kind: gdpr.KindAccess, Subject: "s-1"}, func(int) (io.WriteCloser, error) {
		parts = append(parts, new(bytes.Buffer))
		return nopWriteCloser{parts[len(parts)-1]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 || m.Parts != len(parts) {
		t.Fatalf("%d parts (manifest %d), want at least 3", len(parts), m.Parts)
	}
	asParts := func(bs []*bytes.Buffer) []export.Part {
		var ps []export.Part
		for _, p := range bs {
			ps = append(ps, export.Part{R: bytes.NewReader(p.Bytes()), Size: int64(p.Len())})
		}
		return ps
	}
	bd, err := export.OpenParts(asParts(parts), pub)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, ds := range bd.Datasets() {
		for _, err := range bd.Records(context.Background(), ds) {
			if err != nil {
				t.Fatal(err)
			}
			total++
		}
	}
	if total != n {
		t.Fatalf("%d records back, want %d", total, n)
	}
	swapped := append([]*bytes.Buffer{parts[1], parts[0]}, parts[2:]...)
	altered := bytes.NewBuffer(bytes.Clone(parts[0].Bytes()))
	altered.Bytes()[altered.Len()/2] ^= 1
	for name, ps := range map[string][]*bytes.Buffer{
		"missing": parts[1:], "swapped": swapped, "altered": append([]*bytes.Buffer{altered}, parts[1:]...),
	} {
		if _, err := export.OpenParts(asParts(ps), pub); !errors.Is(err, export.ErrBundle) {
			t.Errorf("%s part: %v, want ErrBundle", name, err)
		}
	}
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
