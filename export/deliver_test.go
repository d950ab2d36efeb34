package export_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/memexport"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/internal/clock"
)

const canary = "Erika Mustermann, Hauptstr. 5"

// fixture is a Builder and a Deliverer on memory, with a fake clock and
// a recording Recorder.
type fixture struct {
	pub   ed25519.PublicKey
	b     *export.Builder
	d     *export.Deliverer
	store *memexport.Store
	blobs *memexport.Blobs
	clk   *clock.Fake
	rec   *gdprtest.Recorder
}

func newFixture(t *testing.T, opts ...export.Option) *fixture {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pub: pub, store: memexport.New(), blobs: memexport.NewBlobs(),
		clk: clock.NewFake(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)), rec: &gdprtest.Recorder{}}
	src := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		return w.WriteRecord(ctx, gdpr.Record{Dataset: "profile", ID: "1", Provided: true, Activity: "shop",
			Fields: map[string]any{"name": canary, "subject": string(s)}})
	})
	f.b, err = export.New(key, export.WithSources(export.Source{Name: "crm", Exporter: src}),
		export.WithRegister(register), export.WithClock(f.clk.Now), export.WithRecorder(f.rec))
	if err != nil {
		t.Fatal(err)
	}
	f.d, err = export.NewDeliverer(f.store, f.blobs, append([]export.Option{export.WithClock(f.clk.Now), export.WithRecorder(f.rec)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) deliver(t *testing.T, subject gdpr.SubjectID, recipients ...age.Recipient) (export.Delivery, []export.Token) {
	t.Helper()
	del, toks, err := f.d.Deliver(context.Background(), f.b, gdpr.Request{ID: "req-" + string(subject), Kind: gdpr.KindAccess, Subject: subject}, recipients...)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || len(del.Parts) != 1 {
		t.Fatalf("got %d tokens, %d parts; want 1 and 1", len(toks), len(del.Parts))
	}
	return del, toks
}

func download(t *testing.T, d *export.Deliverer, tok string) []byte {
	t.Helper()
	dl, err := d.Download(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(dl)
	if err != nil {
		t.Fatal(err)
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != dl.Size {
		t.Fatalf("downloaded %d bytes, Size says %d", len(data), dl.Size)
	}
	return data
}

func openBundle(t *testing.T, pub ed25519.PublicKey, data []byte) *export.Bundle {
	t.Helper()
	b, err := export.Open(bytes.NewReader(data), int64(len(data)), pub)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeliverDownloadOnce(t *testing.T) {
	f := newFixture(t)
	del, toks := f.deliver(t, "s-1")
	data := download(t, f.d, toks[0].Reveal())
	b := openBundle(t, f.pub, data)
	n := 0
	for r, err := range b.Records(context.Background(), "profile") {
		if err != nil {
			t.Fatal(err)
		}
		if r.Fields["name"] != canary {
			t.Fatalf("name = %v", r.Fields["name"])
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
	// The token is spent, the blob and the delivery are gone.
	if _, err := f.d.Download(context.Background(), toks[0].Reveal()); !errors.Is(err, export.ErrNotFound) || !errors.Is(err, gdpr.ErrNotFound) {
		t.Fatalf("second download: %v, want ErrNotFound", err)
	}
	if f.blobs.Len() != 0 {
		t.Fatalf("%d blobs left after the download", f.blobs.Len())
	}
	if _, err := f.store.Get(context.Background(), del.ID); !errors.Is(err, export.ErrNotFound) {
		t.Fatalf("delivery after its download: %v, want ErrNotFound", err)
	}
	var actions []string
	for _, e := range f.rec.Events() {
		actions = append(actions, e.Action)
		if e.Action == "export.downloaded" && e.Subject != "s-1" {
			t.Fatalf("the download event is not about the subject")
		}
	}
	if got := strings.Join(actions, ","); got != "export.written,export.delivered,export.downloaded" {
		t.Fatalf("events %s", got)
	}
}

func TestDownloadRefusesBadTokens(t *testing.T) {
	f := newFixture(t)
	_, toks := f.deliver(t, "s-1")
	tok := toks[0].Reveal()
	for _, bad := range []string{"", "x", tok[:len(tok)-1], tok + "A", strings.ToUpper(tok), tok + "=", "../" + tok, strings.Repeat("A", 43)} {
		if bad == tok {
			continue
		}
		_, err := f.d.Download(context.Background(), bad)
		if !errors.Is(err, export.ErrNotFound) {
			t.Fatalf("Download(%q): %v, want ErrNotFound", bad, err)
		}
		if strings.Contains(fmt.Sprintf("%+v", err), bad) && bad != "" && bad != "x" {
			t.Fatalf("the error quotes the token: %v", err)
		}
	}
	// The real token still works once.
	download(t, f.d, tok)
}

func TestDownloadAfterExpiry(t *testing.T) {
	f := newFixture(t, export.WithTTL(time.Hour))
	_, toks := f.deliver(t, "s-1")
	f.clk.Add(time.Hour)
	if _, err := f.d.Download(context.Background(), toks[0].Reveal()); !errors.Is(err, export.ErrNotFound) {
		t.Fatalf("download at expiry: %v, want ErrNotFound", err)
	}
	n, err := f.d.Sweep(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if f.blobs.Len() != 0 {
		t.Fatalf("%d blobs left after the sweep", f.blobs.Len())
	}
	if n, err := f.d.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("second Sweep = %d, %v; want 0", n, err)
	}
}

func TestConcurrentDownloadsOneWins(t *testing.T) {
	f := newFixture(t)
	_, toks := f.deliver(t, "s-1")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dl, err := f.d.Download(context.Background(), toks[0].Reveal())
			if err == nil {
				wins.Add(1)
				io.Copy(io.Discard, dl)
				dl.Close()
			} else if !errors.Is(err, export.ErrNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d downloads succeeded, want exactly 1", wins.Load())
	}
}

func TestBlobsHoldNoPlaintext(t *testing.T) {
	f := newFixture(t)
	del, toks := f.deliver(t, "s-1")
	rc, err := f.blobs.Open(context.Background(), del.Parts[0].Blob)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(rc)
	rc.Close()
	if bytes.Contains(stored, []byte("Mustermann")) || bytes.Contains(stored, []byte("PK\x03\x04")) {
		t.Fatal("the stored blob holds the bundle in clear")
	}
	// A blob altered at rest fails the download.
	stored[len(stored)/2] ^= 1
	w, _ := f.blobs.Create(context.Background(), del.Parts[0].Blob)
	w.Write(stored)
	w.Close()
	dl, err := f.d.Download(context.Background(), toks[0].Reveal())
	if err == nil {
		_, err = io.ReadAll(dl)
		dl.Close()
	}
	if !errors.Is(err, export.ErrBundle) {
		t.Fatalf("download of an altered blob: %v, want ErrBundle", err)
	}
}

func TestTokenNeverPrints(t *testing.T) {
	f := newFixture(t)
	_, toks := f.deliver(t, "s-1")
	tok := toks[0]
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%v %+v %#v %s %q %x", tok, tok, tok, tok, tok, tok), fmt.Sprint(toks)} {
		if strings.Contains(s, tok.Reveal()) {
			t.Fatalf("a token prints: %s", s)
		}
	}
	if _, err := json.Marshal(tok); err == nil {
		t.Fatal("a Token marshals to JSON")
	}
	if tok.Part() != 1 || len(tok.Reveal()) != 43 {
		t.Fatalf("token part %d, length %d", tok.Part(), len(tok.Reveal()))
	}
}

func TestDeliverEncryptedToSubject(t *testing.T) {
	f := newFixture(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pass, err := age.NewScryptRecipient("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	pass.SetWorkFactor(10) // fast, for the test
	for name, rc := range map[string]age.Recipient{"x25519": id.Recipient(), "passphrase": pass} {
		t.Run(name, func(t *testing.T) {
			_, toks := f.deliver(t, gdpr.SubjectID("s-"+name), rc)
			dl, err := f.d.Download(context.Background(), toks[0].Reveal())
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(dl)
			dl.Close()
			if !dl.Encrypted || !strings.HasSuffix(dl.Name, ".zip.age") {
				t.Fatalf("Encrypted %v, Name %q", dl.Encrypted, dl.Name)
			}
			var ident age.Identity = id
			if name == "passphrase" {
				ident, _ = age.NewScryptIdentity("correct horse battery staple")
			}
			r, err := age.Decrypt(bytes.NewReader(data), ident)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			openBundle(t, f.pub, plain)
		})
	}
}

func TestEraseSubjectDeletesDeliveries(t *testing.T) {
	f := newFixture(t)
	f.deliver(t, "s-1")
	_, other := f.deliver(t, "s-2")
	rep, err := f.d.EraseSubject(context.Background(), "s-1")
	if err != nil || rep.Erased != 1 {
		t.Fatalf("EraseSubject = %+v, %v; want 1 erased", rep, err)
	}
	if f.blobs.Len() != 1 {
		t.Fatalf("%d blobs, want the other subject's only", f.blobs.Len())
	}
	download(t, f.d, other[0].Reveal())
	if rep, err := f.d.EraseSubject(context.Background(), "s-1"); err != nil || rep.Erased != 0 {
		t.Fatalf("second EraseSubject = %+v, %v", rep, err)
	}
}

func TestOptionsBelongToTheirType(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	if _, err := export.New(key, export.WithTTL(time.Hour)); !errors.Is(err, export.ErrInvalid) || !strings.Contains(err.Error(), "NewDeliverer") {
		t.Fatalf("New(WithTTL): %v", err)
	}
	if _, err := export.NewDeliverer(memexport.New(), memexport.NewBlobs(), export.WithPartSize(export.MinPartSize)); !errors.Is(err, export.ErrInvalid) {
		t.Fatalf("NewDeliverer(WithPartSize): %v", err)
	}
	var ee *export.Error
	_, err := export.NewDeliverer(memexport.New(), memexport.NewBlobs(), export.WithTTL(time.Second))
	if !errors.As(err, &ee) || ee.Field != "WithTTL" || ee.Op != "new_deliverer" {
		t.Fatalf("NewDeliverer(WithTTL(1s)): %#v", err)
	}
}

func TestHandler(t *testing.T) {
	f := newFixture(t)
	var sent [][]export.Token
	var sendErr error
	h, err := export.NewHandler(f.b, f.d, func(_ context.Context, r gdpr.Request, d export.Delivery, toks []export.Token) error {
		if sendErr != nil {
			return sendErr
		}
		sent = append(sent, toks)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := gdpr.Request{ID: "req-1", Kind: gdpr.KindAccess, Subject: "s-1"}
	sendErr = errors.New("smtp down")
	if _, err := h.HandleRequest(context.Background(), r); !errors.Is(err, export.ErrSource) {
		t.Fatalf("HandleRequest with a failing send: %v, want ErrSource", err)
	}
	if f.blobs.Len() != 0 {
		t.Fatal("a delivery nobody was told of is left behind")
	}
	sendErr = nil
	res, err := h.HandleRequest(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 1 || res.Reference == "" {
		t.Fatalf("result %+v", res)
	}
	// A retry (the engine crashed before it stored the result) makes a
	// new delivery; the first one's link dies.
	if _, err := h.HandleRequest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 {
		t.Fatalf("send called %d times", len(sent))
	}
	if _, err := f.d.Download(context.Background(), sent[0][0].Reveal()); !errors.Is(err, export.ErrNotFound) {
		t.Fatalf("the superseded link: %v, want ErrNotFound", err)
	}
	download(t, f.d, sent[1][0].Reveal())
	if _, err := h.HandleRequest(context.Background(), gdpr.Request{ID: "r", Kind: gdpr.KindErasure, Subject: "s-1"}); !errors.Is(err, export.ErrInvalid) {
		t.Fatalf("an erasure request: %v, want ErrInvalid", err)
	}
}

type transmitter struct {
	got []byte
	m   *export.Manifest
}

func (tr *transmitter) Transmit(ctx context.Context, r gdpr.Request, m *export.Manifest, open func(int) (io.ReadCloser, error)) (bool, error) {
	if r.Params["to"] != "other-controller" {
		return false, nil
	}
	rc, err := open(1)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	tr.got, err = io.ReadAll(rc)
	tr.m = m
	return err == nil, err
}

func TestHandlerTransmitsPortability(t *testing.T) {
	f := newFixture(t)
	tr := &transmitter{}
	h, err := export.NewHandler(f.b, f.d, func(context.Context, gdpr.Request, export.Delivery, []export.Token) error { return nil }, export.WithTransmitter(tr))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.HandleRequest(context.Background(), gdpr.Request{ID: "req-2", Kind: gdpr.KindPortability, Subject: "s-1", Params: map[string]string{"to": "other-controller"}}); err != nil {
		t.Fatal(err)
	}
	b := openBundle(t, f.pub, tr.got)
	if b.Manifest().Kind != gdpr.KindPortability || len(b.Datasets()) != 1 {
		t.Fatalf("transmitted %s with datasets %v", b.Manifest().Kind, b.Datasets())
	}
}

func TestServeHTTP(t *testing.T) {
	f := newFixture(t)
	_, toks := f.deliver(t, "s-1")
	mux := http.NewServeMux()
	mux.Handle("/download/{token}", f.d)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + "/download/" + toks[0].Reveal()
	// A GET (a mail scanner, a preview) spends nothing.
	for range 3 {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`<form method="post">`)) || bytes.Contains(body, []byte("<script")) {
			t.Fatalf("GET: %d %s", resp.StatusCode, body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Fatalf("GET headers %v", resp.Header)
		}
	}
	resp, err := http.Post(url, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST: %d %v", resp.StatusCode, resp.Header)
	}
	openBundle(t, f.pub, data)
	resp, err = http.Post(url, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || bytes.Contains(body, []byte(toks[0].Reveal())) {
		t.Fatalf("second POST: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodPut, url, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
}

func TestRunSweeps(t *testing.T) {
	f := newFixture(t, export.WithTTL(time.Minute))
	f.deliver(t, "s-1")
	f.clk.Add(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.d.Run(ctx, time.Millisecond) }()
	deadline := time.Now().Add(5 * time.Second)
	for f.blobs.Len() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if f.blobs.Len() != 0 {
		t.Fatal("Run did not sweep the expired delivery")
	}
}

// A subject whose data is restricted still gets their copy: the sources
// are asked with the subject's consent as the allowance (Art. 18(2)).
func TestSourcesCalledWithConsentAllowance(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	var got []gdpr.Allowance
	src := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		got = append(got, gdpr.AllowanceFrom(ctx))
		return nil
	})
	b, err := export.New(key, export.WithSources(export.Source{Name: "s", Exporter: src}))
	if err != nil {
		t.Fatal(err)
	}
	r := gdpr.Request{Kind: gdpr.KindAccess, Subject: "s-1"}
	if _, err := b.Write(context.Background(), io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write(gdpr.WithAllowance(context.Background(), gdpr.AllowLegalClaims), io.Discard, r); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != gdpr.AllowConsent || got[1] != gdpr.AllowLegalClaims {
		t.Fatalf("allowances %v", got)
	}
}

// FuzzDownloadToken: any text as a token is refused with ErrNotFound
// (never a panic, never another error), and spends nothing.
func FuzzDownloadToken(f *testing.F) {
	f.Add("")
	f.Add(strings.Repeat("A", 43))
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Add("../../etc/passwd")
	f.Add("\xff\xfe")
	d, err := export.NewDeliverer(memexport.New(), memexport.NewBlobs())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if _, err := d.Download(context.Background(), tok); !errors.Is(err, export.ErrNotFound) {
			t.Fatalf("Download(%q): %v, want ErrNotFound", tok, err)
		}
	})
}
