package export

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
)

// fuzzKey signs the seed bundles; the fuzzers trust it, so that a mutated
// bundle that keeps its manifest reaches the checks past the signature.
var fuzzKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// seedBundle writes a small bundle: two datasets, every kind of value.
func seedBundle(tb testing.TB, kind gdpr.RequestKind) []byte {
	tb.Helper()
	src := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		recs := []gdpr.Record{
			{Dataset: "profile", ID: "1", Provided: true, Activity: "shop", Time: time.Unix(1e9, 5),
				Fields: map[string]any{"name": "=Ann", "bin": []byte{0, 255}, "bad": "\xff", "when": time.Unix(7, 0), "n": 1.5,
					"nest": map[string]any{"a/b~c": []any{"x", 2, nil, true}}}},
			{Dataset: "orders", ID: "o-1", Fields: map[string]any{"item": "<script>", "cents": -5}},
		}
		for _, r := range recs {
			if err := w.WriteRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	reg := &gdpr.Register{Controller: gdpr.Party{Name: "Fuzz Ltd", Email: "p@fuzz.example"}, Activities: []gdpr.Activity{{
		ID: "shop", Basis: gdpr.Contract, SubjectCategories: []string{"customers"},
		DataCategories: []gdpr.Category{{ID: "contact"}}, Retention: gdpr.RetentionRule{Description: "10 years"},
	}}}
	b, err := New(fuzzKey, WithSources(Source{Name: "src", Exporter: src}), WithRegister(reg),
		WithClock(func() time.Time { return time.Unix(2e9, 0) }))
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "r-1", Kind: kind, Subject: "s-1"}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzOpen feeds arbitrary bytes to the reader as a one-part bundle: it
// never panics, fails only with ErrBundle or ErrInvalid, and a bundle it
// opens iterates to the end.
func FuzzOpen(f *testing.F) {
	for _, k := range []gdpr.RequestKind{gdpr.KindAccess, gdpr.KindPortability} {
		b := seedBundle(f, k)
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(append(bytes.Clone(b), 0))
	}
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Add([]byte{})
	pub := fuzzKey.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Open(bytes.NewReader(data), int64(len(data)), pub, WithMaxSize(64<<20))
		if err != nil {
			if !errors.Is(err, ErrBundle) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Open failed with neither ErrBundle nor ErrInvalid: %v", err)
			}
			return
		}
		for _, ds := range b.Datasets() {
			for _, err := range b.Records(context.Background(), ds) {
				if err != nil {
					break
				}
			}
		}
		b.Information()
	})
}

// FuzzVerifyManifest feeds arbitrary manifests to VerifyManifest: no
// panic, and one that verifies re-encodes to the same canonical form.
func FuzzVerifyManifest(f *testing.F) {
	b, err := Open(bytes.NewReader(seedBundle(f, gdpr.KindAccess)), int64(len(seedBundle(f, gdpr.KindAccess))), fuzzKey.Public().(ed25519.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	raw, err := sign(b.Manifest(), fuzzKey, fuzzKey.Public().(ed25519.PublicKey))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(bytes.Replace(raw, []byte(`"records": 1`), []byte(`"records": 2`), 1))
	f.Add([]byte(`{"format":"gdpr-export/1","Format":"x"}`))
	f.Add([]byte(`{}`))
	pub := fuzzKey.Public().(ed25519.PublicKey)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := VerifyManifest(data, pub)
		if err != nil {
			if !errors.Is(err, ErrBundle) {
				t.Fatalf("VerifyManifest failed without ErrBundle: %v", err)
			}
			return
		}
		if _, err := signingInput(m); err != nil {
			t.Fatalf("a verified manifest does not canonicalise: %v", err)
		}
	})
}

// FuzzCanonical: Canonical never panics, and is idempotent.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x\u0001"]}`, `{"€":1,"\ud83d\ude00":2,"z":3}`, `[1,2`, `{"a":1,"a":2}`, `1e5`, `"\u2028"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Canonical(data)
		if err != nil {
			return
		}
		c2, err := Canonical(c)
		if err != nil {
			t.Fatalf("Canonical of its own output fails: %v", err)
		}
		if !bytes.Equal(c, c2) {
			t.Fatalf("Canonical is not idempotent:\n%s\n%s", c, c2)
		}
	})
}

// FuzzDecodeRecord: a data file's line never panics the decoder, and a
// line that decodes encodes to a line that decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"id":"1","provided":true,"fields":{"b":"AAH/"},"types":{"/b":"bytes"}}`))
	f.Add([]byte(`{"id":"1","time":"2001-09-09T01:46:40Z","provided":false,"fields":{"t":"1970-01-01T00:00:07Z","s":"/w=="},"types":{"/t":"time","/s":"binary-string"}}`))
	f.Add([]byte(`{"id":"1","ID":"2","provided":false,"fields":{}}`))
	f.Add([]byte(`{"id":"1","provided":false,"fields":{"a":[1,{"b":"x"}]},"types":{"/a/1/b":"bytes"}}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := decodeRecord("ds", line)
		if err != nil {
			return
		}
		var e encoder
		if err := e.record(&r); err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		r2, err := decodeRecord("ds", e.buf)
		if err != nil {
			t.Fatalf("a re-encoded record does not decode: %v\n%s", err, e.buf)
		}
		var e2 encoder
		if err := e2.record(&r2); err != nil || !bytes.Equal(e.buf, e2.buf) {
			t.Fatalf("encoding is not stable:\n%s\n%s", e.buf, e2.buf)
		}
	})
}
