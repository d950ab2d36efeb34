package gdprhttp_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprhttp"
)

// countingStore is a memconsent.Store that counts the Ledger's writes of
// choices (Append, Suppress) and can be made to fail them.
type countingStore struct {
	*memconsent.Store
	mu         sync.Mutex
	appends    int
	suppresses int
	fail       error
}

var _ consent.Store = (*countingStore)(nil)

func (s *countingStore) Append(ctx context.Context, e consent.Event) error {
	s.mu.Lock()
	fail := s.fail
	if fail == nil {
		s.appends++
	}
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.Store.Append(ctx, e)
}

func (s *countingStore) Suppress(ctx context.Context, entries ...consent.Suppression) error {
	s.mu.Lock()
	s.suppresses++
	s.mu.Unlock()
	return s.Store.Suppress(ctx, entries...)
}

func (s *countingStore) writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appends + s.suppresses
}

func (s *countingStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

// fixture is a Ledger over a countingStore with a clock the test moves,
// a published notice and an Unsubscriber.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	store  *countingStore
	ledger *consent.Ledger
	mu     sync.Mutex
	now    time.Time
	logs   *syncBuffer
	logger *slog.Logger
	// trailDown makes the Ledger's Recorder fail.
	trailDown atomic.Bool
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

const (
	purpose gdpr.Purpose = "newsletter"
	notice  string       = "newsletter"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func newFixture(t testing.TB, opts ...consent.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), store: &countingStore{Store: memconsent.New()},
		now: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC), logs: &syncBuffer{}}
	f.logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	unsub, err := consent.NewUnsubscriber(secret)
	if err != nil {
		t.Fatal(err)
	}
	trail := gdpr.RecorderFunc(func(context.Context, gdpr.Event) error {
		if f.trailDown.Load() {
			return errors.New("trail down")
		}
		return nil
	})
	opts = append([]consent.Option{consent.WithClock(f.clock), consent.WithUnsubscriber(unsub), consent.WithRecorder(trail)}, opts...)
	f.ledger, err = consent.New(f.store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ledger.Publish(f.ctx, consent.Notice{ID: notice, Version: 1, TextHash: consent.HashText("May we?")}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// give records subject's consent and returns an unsubscribe token for it.
func (f *fixture) give(subject gdpr.SubjectID, ttl time.Duration) string {
	f.t.Helper()
	if _, err := f.ledger.Give(f.ctx, consent.Choice{Subject: subject, Purpose: purpose,
		Notice: consent.NoticeRef{ID: notice, Version: 1}}); err != nil {
		f.t.Fatal(err)
	}
	tok, err := f.ledger.UnsubscribeToken(subject, purpose, consent.Email, ttl)
	if err != nil {
		f.t.Fatal(err)
	}
	f.advance(time.Second)
	return tok
}

// request starts double opt-in for subject and returns the token.
func (f *fixture) request(subject gdpr.SubjectID) string {
	f.t.Helper()
	_, tok, err := f.ledger.Request(f.ctx, consent.Choice{Subject: subject, Purpose: purpose,
		Notice: consent.NoticeRef{ID: notice, Version: 1}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.advance(time.Second)
	return tok
}

// allowed reports whether subject may be e-mailed for the purpose.
func (f *fixture) allowed(subject gdpr.SubjectID) bool {
	f.t.Helper()
	d, err := f.ledger.Decide(f.ctx, consent.Query{Subject: subject, Purpose: purpose, Contact: consent.Email})
	if err != nil {
		f.t.Fatal(err)
	}
	return d.Allowed
}

func (f *fixture) unsubscribeHandler(opts ...gdprhttp.Option) *gdprhttp.UnsubscribeHandler {
	f.t.Helper()
	h, err := gdprhttp.NewUnsubscribeHandler(f.ledger, append([]gdprhttp.Option{gdprhttp.WithLogger(f.logger)}, opts...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func (f *fixture) confirmHandler(opts ...gdprhttp.Option) *gdprhttp.ConfirmHandler {
	f.t.Helper()
	h, err := gdprhttp.NewConfirmHandler(f.ledger, append([]gdprhttp.Option{gdprhttp.WithLogger(f.logger)}, opts...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

const formType = "application/x-www-form-urlencoded"

// serve sends one request to h and returns the answer.
func serve(h http.Handler, method, target, contentType, body string, hdr ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// linkHeaders checks the headers every answer of a handler carries.
func linkHeaders(t *testing.T, w *httptest.ResponseRecorder) {
	t.Helper()
	for k, want := range map[string]string{
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
		"Content-Type":           "text/html; charset=utf-8",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// noInlineCode checks a page holds nothing a strict CSP would block.
func noInlineCode(t *testing.T, body string) {
	t.Helper()
	low := strings.ToLower(body)
	for _, bad := range []string{"<script", "<style", " style=", " onclick", " onload", " onsubmit", "javascript:", " action="} {
		if strings.Contains(low, bad) {
			t.Errorf("page holds %q:\n%s", bad, body)
		}
	}
}
