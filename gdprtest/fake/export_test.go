package fake_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/gdprtest/fake"
)

// TestAccessRequestThenErasure asks for a copy through the Kit's engine,
// downloads it with the link the subject was sent, checks it with the
// reader, and erases the subject: the erasure takes an undownloaded
// delivery with it.
func TestAccessRequestThenErasure(t *testing.T) {
	ctx := context.Background()
	k := fake.New(t, register())
	const s = gdpr.SubjectID("user-access")
	if _, err := k.Ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("v1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Ledger.Give(ctx, consent.Choice{Subject: s, Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}, Method: consent.MethodCheckbox}); err != nil {
		t.Fatal(err)
	}
	access := func() (erasure.Request, []export.Token) {
		r, _, err := k.Requests.Submit(ctx, erasure.Submission{Kind: gdpr.KindAccess, Subject: s, Authenticated: true})
		if err != nil {
			t.Fatal(err)
		}
		r, err = k.Requests.Process(ctx, r.ID)
		if err != nil || r.State != erasure.StateCompleted {
			t.Fatalf("Process: %v, state %s", err, r.State)
		}
		toks := k.Links.Tokens(r.ID)
		if len(toks) != 1 {
			t.Fatalf("%d links sent", len(toks))
		}
		return r, toks
	}
	_, toks := access()
	dl, err := k.Deliveries.Download(ctx, toks[0].Reveal())
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(dl)
	dl.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err := export.Open(bytes.NewReader(data), int64(len(data)), k.ExportKey)
	if err != nil {
		t.Fatal(err)
	}
	sources := b.Manifest().Sources
	if len(sources) != 4 {
		t.Fatalf("sources %v", sources)
	}
	var consentRecords int
	for _, ds := range b.Datasets() {
		for r, err := range b.Records(ctx, ds) {
			if err != nil {
				t.Fatal(err)
			}
			if r.Activity == "newsletter" {
				consentRecords++
			}
		}
	}
	if consentRecords == 0 {
		t.Fatalf("no record of the consent in datasets %v", b.Datasets())
	}
	info, err := b.Information()
	if err != nil || len(info.Activities) != 1 || info.Activities[0].ID != "newsletter" {
		t.Fatalf("Information: %+v, %v", info, err)
	}

	// A second copy, never downloaded, goes with the erasure.
	access()
	if k.DeliveryBlobs.Len() != 1 {
		t.Fatalf("%d blobs before the erasure", k.DeliveryBlobs.Len())
	}
	r, _, err := k.Requests.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: s, Authenticated: true})
	if err != nil {
		t.Fatal(err)
	}
	if r, err = k.Requests.Process(ctx, r.ID); err != nil || r.State != erasure.StateCompleted {
		t.Fatalf("erasure: %v, %s", err, r.State)
	}
	if k.DeliveryBlobs.Len() != 0 {
		t.Fatalf("%d blobs after the erasure", k.DeliveryBlobs.Len())
	}
}
