package memexport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/exporttest"
	"github.com/gdprkit/gdpr/export/memexport"
)

func TestStore(t *testing.T) {
	exporttest.RunStoreTests(t, func(*testing.T) export.Store { return memexport.New() })
}

func TestBlobs(t *testing.T) {
	exporttest.RunBlobsTests(t, func(*testing.T) export.Blobs { return memexport.NewBlobs() })
}

func TestNilContext(t *testing.T) {
	s, b := memexport.New(), memexport.NewBlobs()
	var nilCtx context.Context
	d := exporttest.NewDelivery("subject-a", time.Now(), 1)
	for op, call := range map[string]func() error{
		"create":      func() error { return s.Create(nilCtx, d) },
		"get":         func() error { _, err := s.Get(nilCtx, d.ID); return err },
		"claim":       func() error { _, _, err := s.Claim(nilCtx, d.Parts[0].TokenHash, time.Now()); return err },
		"list":        func() error { _, err := s.List(nilCtx, export.DeliveryFilter{}); return err },
		"delete":      func() error { return s.Delete(nilCtx, d.ID) },
		"create blob": func() error { _, err := b.Create(nilCtx, "x"); return err },
		"open blob":   func() error { _, err := b.Open(nilCtx, "x"); return err },
		"remove blob": func() error { return b.Remove(nilCtx, "x") },
	} {
		var err error
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s with a nil context panicked: %v", op, p)
				}
			}()
			err = call()
		}()
		var ee *export.Error
		if !errors.As(err, &ee) || ee.Op != op || ee.Field != "ctx" || !errors.Is(err, export.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("%s with a nil context: %v; want *export.Error{Op: %q, Field: \"ctx\"} wrapping export.ErrInvalid", op, err, op)
		}
	}
	if ds, _ := s.List(t.Context(), export.DeliveryFilter{}); len(ds) != 0 {
		t.Errorf("a nil-context Create stored %d deliveries", len(ds))
	}
}

// TestInvalidFields: each refusal names its field.
func TestInvalidFields(t *testing.T) {
	s := memexport.New()
	base := exporttest.NewDelivery("subject-a", time.Now(), 2)
	for field, edit := range map[string]func(d *export.Delivery){
		"id":         func(d *export.Delivery) { d.ID = "" },
		"parts":      func(d *export.Delivery) { d.Parts = nil },
		"expires":    func(d *export.Delivery) { d.Expires = d.Created },
		"token_hash": func(d *export.Delivery) { d.Parts[1].TokenHash = nil },
		"blob":       func(d *export.Delivery) { d.Parts[0].Blob = "" },
		"size":       func(d *export.Delivery) { d.Parts[0].Size = -5 },
	} {
		d := base
		d.Parts = append([]export.DeliveryPart(nil), base.Parts...)
		edit(&d)
		err := s.Create(t.Context(), d)
		var ee *export.Error
		if !errors.As(err, &ee) || ee.Field != field || ee.Op != "create" || !errors.Is(err, export.ErrInvalid) {
			t.Errorf("Create with a bad %s: %v; want *export.Error{Op: \"create\", Field: %q} wrapping ErrInvalid", field, err, field)
		}
	}
}

// TestDoesNotPrint: no fmt verb prints a stored subject or hash.
func TestDoesNotPrint(t *testing.T) {
	s, b := memexport.New(), memexport.NewBlobs()
	d := exporttest.NewDelivery("CANARY-subject", time.Now(), 1)
	if err := s.Create(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	w, _ := b.Create(t.Context(), "blob-canary")
	io.WriteString(w, "CANARY-bytes")
	w.Close()
	for _, v := range []any{s, b} {
		for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
			out := fmt.Sprintf(f, v)
			if strings.Contains(strings.ToLower(out), "canary") || !strings.Contains(out, "memexport.") {
				t.Errorf("%s of a store prints %q; want only its type's name", f, out)
			}
		}
	}
}

// TestBlobsLeftBehind: Len and Pending count what a test would find left.
func TestBlobsLeftBehind(t *testing.T) {
	b := memexport.NewBlobs()
	ctx := t.Context()
	w, _ := b.Create(ctx, "a")
	if b.Len() != 0 || b.Pending() != 1 {
		t.Fatalf("Len %d, Pending %d; want 0, 1", b.Len(), b.Pending())
	}
	if _, err := b.Create(ctx, "a"); !errors.Is(err, export.ErrConflict) {
		t.Errorf("a second Create of a blob being written: %v; want ErrConflict", err)
	}
	w.Close()
	if b.Len() != 1 || b.Pending() != 0 {
		t.Fatalf("Len %d, Pending %d; want 1, 0", b.Len(), b.Pending())
	}
	w, _ = b.Create(ctx, "b")
	b.Remove(ctx, "b")
	if err := w.Close(); !errors.Is(err, export.ErrNotFound) {
		t.Errorf("Close of a removed blob's writer: %v; want ErrNotFound", err)
	}
	if b.Len() != 1 || b.Pending() != 0 {
		t.Fatalf("Len %d, Pending %d; want 1, 0", b.Len(), b.Pending())
	}
	cctx, cancel := context.WithCancel(ctx)
	w, _ = b.Create(cctx, "c")
	cancel()
	if _, err := w.Write([]byte("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after the context ended: %v", err)
	}
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after the context ended: %v", err)
	}
	if b.Len() != 1 || b.Pending() != 0 {
		t.Fatalf("Len %d, Pending %d; want 1, 0", b.Len(), b.Pending())
	}
	if err := w.Close(); err == nil {
		t.Error("a second Close succeeded")
	}
}
