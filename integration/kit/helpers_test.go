// Package kit_test runs package kit, every store of the library composed
// on one *sql.DB, on every database: Open's refusals (and that a refused
// Open leaves the database untouched), the order of an erasure's
// targets, the Keyring's restriction guard, several instances sharing
// the requests, Run's shutdown, Keys' printing, and two kits under two
// table prefixes on one database.
package kit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/insecuredevkeys"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// maxWait bounds every wait of these tests.
const maxWait = 30 * time.Second

// devKeys returns a development key set for one test, as
// examples/dsar-server's testKeys makes it, and the path of the file
// insecuredevkeys keeps it in (it holds the KEK's and the audit signer's
// key material in clear, for TestKeysPrintNoSecret).
func devKeys(t testing.TB) (kit.Keys, string) {
	t.Helper()
	path := t.TempDir() + "/keys.json"
	dev, err := insecuredevkeys.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	signer, verifier, err := dev.AuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	subjectKey := make([]byte, 32)
	rand.Read(subjectKey)
	return kit.Keys{KEK: dev.KEK(), AuditSigner: signer, AuditVerifier: verifier, PseudonymKey: dev.PseudonymKey(),
		SubjectKey: subjectKey, ReceiptKey: dev.ReceiptKey(), UnsubscribeSecrets: [][]byte{dev.UnsubscribeSecret()}}, path
}

func testKeys(t testing.TB) kit.Keys {
	t.Helper()
	k, _ := devKeys(t)
	return k
}

// register is a small record of processing activities: a consent-based
// newsletter and a contract-based account.
func register() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "newsletter", Name: "Monthly newsletter", Purpose: "newsletter", Basis: gdpr.Consent,
			DirectMarketing: true, SubjectCategories: []string{"subscribers"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "e-mail address"}},
			Retention:      gdpr.RetentionRule{Description: "until the subscriber withdraws"},
		}, {
			ID: "account", Name: "User account", Purpose: "account", Basis: gdpr.Contract,
			Description: "To run the account you signed up for.", SubjectCategories: []string{"users"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "name and e-mail address"}},
			Retention:      gdpr.RetentionRule{Description: "until the account is closed"},
		}},
	}
}

// noticeText is the newsletter's consent notice.
const noticeText = "May we send you our monthly newsletter by e-mail?"

// emailField is where the host keeps a subject's encrypted e-mail address.
var emailField = crypto.Field{Table: "profiles", Column: "email", Category: "contact"}

// logs collects what a kit logs, for the failure messages and to check
// that nothing went wrong in the background.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// errorLines returns the lines logged at level ERROR.
func (l *logs) errorLines() []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return out
}

// fastOptions are the options of every kit of these tests: caches off
// (an erasure then completes as soon as its steps are done, instead of
// waiting out other instances' key and pseudonym caches), a short poll
// and restriction cache, exports into a directory of the test, and a
// logger into l.
func fastOptions(t testing.TB, l *logs) []kit.Option {
	t.Helper()
	blobs, err := export.DirBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	send := func(context.Context, gdpr.Request, export.Delivery, []export.Token) error { return nil }
	return []kit.Option{
		kit.WithExports(blobs, send),
		kit.WithLogger(slog.New(slog.NewTextHandler(l, nil))),
		kit.WithCryptoOptions(crypto.WithCache(0, 0)),
		kit.WithAuditOptions(audit.WithPseudonymCache(0, 0)),
		kit.WithErasureOptions(erasure.WithPoll(50*time.Millisecond), erasure.WithRestrictionCache(50*time.Millisecond)),
	}
}

// openKit opens a kit on db with fastOptions and then opts, closed when
// t ends (after its Run, whose cleanup is registered later and so runs
// first). It fails t on any error.
func openKit(t testing.TB, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, opts ...kit.Option) (*kit.Kit, *logs) {
	t.Helper()
	l := &logs{}
	ctx, cancel := context.WithTimeout(context.Background(), maxWait)
	defer cancel()
	k, err := kit.Open(ctx, db, d, register(), keys, append(fastOptions(t, l), opts...)...)
	if err != nil {
		t.Fatalf("kit.Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), maxWait)
		defer cancel()
		if err := k.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	publish(t, k)
	return k, l
}

// publish publishes the newsletter's notice (a version already published
// with the same text is returned as it is).
func publish(t testing.TB, k *kit.Kit) {
	t.Helper()
	_, err := k.Ledger().Publish(context.Background(), consent.Notice{ID: "newsletter", Version: 1,
		TextHash: consent.HashText(noticeText), Language: "en", URL: "https://example.com/privacy/newsletter/v1"})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// running is one Run of a kit in a goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

// startRun runs k.Run in a goroutine until stop is called or t ends;
// t.Cleanup cancels it and waits for it (at most maxWait).
func startRun(t testing.TB, k *kit.Kit) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- k.Run(ctx) }()
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r
}

// stop cancels the Run and returns what it returned, or an error if it
// did not return within maxWait. Calling it again returns nil.
func (r *running) stop() error {
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(maxWait):
		return fmt.Errorf("Run did not return within %v of its context's end", maxWait)
	}
}

// erased records every call of a host target: per subject, and the
// global order of the calls of every target sharing its sequence.
type erased struct {
	name string
	// during, if set, runs inside each call, before it is counted.
	during func(ctx context.Context, s gdpr.SubjectID) error

	mu    sync.Mutex
	calls map[gdpr.SubjectID]int
}

func newErased(name string) *erased { return &erased{name: name, calls: map[gdpr.SubjectID]int{}} }

func (e *erased) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if e.during != nil {
		if err := e.during(ctx, s); err != nil {
			return gdpr.ErasureReport{}, err
		}
	}
	e.mu.Lock()
	e.calls[s]++
	e.mu.Unlock()
	return gdpr.ErasureReport{Erased: 1}, nil
}

func (e *erased) count(s gdpr.SubjectID) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[s]
}

func (e *erased) target() erasure.Target { return erasure.Target{Name: e.name, Eraser: e} }

// submit files a request of the signed-in subject through k's engine.
func submit(t testing.TB, k *kit.Kit, s erasure.Submission) erasure.Request {
	t.Helper()
	s.Authenticated = true
	r, created, err := k.Engine().Submit(gdpr.WithActor(context.Background(), gdpr.SubjectActor()), s)
	if err != nil || !created {
		t.Fatalf("Submit %s: created %v, %v", s.Kind, created, err)
	}
	return r
}

// waitClosed polls k's engine until the request is closed, or fails t
// after maxWait with where it stands and what k logged.
func waitClosed(t testing.TB, k *kit.Kit, l *logs, id string) erasure.Request {
	t.Helper()
	stop := time.Now().Add(maxWait)
	for {
		r, err := k.Engine().Get(context.Background(), id)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if !r.State.Open() {
			return r
		}
		if time.Now().After(stop) {
			t.Fatalf("request %s still %s after %v; steps %+v; logs:\n%s", id, r.State, maxWait, r.Steps, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// entriesOf returns the audit entries of k's trail linked to s.
func entriesOf(t testing.TB, k *kit.Kit, s gdpr.SubjectID) []audit.Entry {
	t.Helper()
	es, err := linkedEntries(context.Background(), k, s)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	return es
}

// linkedEntries returns the audit entries of k's trail linked to s.
func linkedEntries(ctx context.Context, k *kit.Kit, s gdpr.SubjectID) ([]audit.Entry, error) {
	var out []audit.Entry
	f := audit.Filter{Subject: s, Limit: 1000}
	for {
		page, err := k.Trail().Entries(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < f.Limit {
			return out, nil
		}
		f.From = page[len(page)-1].Index + 1
	}
}

// actions returns the entries' actions, with their outcomes.
func actions(es []audit.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action + ":" + string(e.Outcome)
	}
	return out
}

// verifyTrail fails t unless k's trail verifies.
func verifyTrail(t testing.TB, k *kit.Kit) *audit.Report {
	t.Helper()
	rep, err := k.Trail().Verify(context.Background(), audit.VerifyOptions{})
	if err != nil {
		t.Fatalf("Trail().Verify: %v (report %+v)", err, rep)
	}
	if !rep.OK() {
		t.Fatalf("Trail().Verify found problems: %+v", rep.Problems)
	}
	return rep
}

// giveConsent records the subject's consent to the newsletter.
func giveConsent(t testing.TB, k *kit.Kit, s gdpr.SubjectID) {
	t.Helper()
	_, err := k.Ledger().Give(context.Background(), consent.Choice{Subject: s, Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}, Method: consent.MethodCheckbox, Channel: "web"})
	if err != nil {
		t.Fatalf("Give: %v", err)
	}
}

// encrypt encrypts the subject's e-mail address through k's Keyring.
func encrypt(t testing.TB, k *kit.Kit, s gdpr.SubjectID) []byte {
	t.Helper()
	ct, err := k.Keyring().Encrypt(context.Background(), s, emailField, []byte(string(s)+"@example.org"))
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return ct
}

// subject returns a new subject ID for the test.
func subject(what string) gdpr.SubjectID {
	var b [6]byte
	rand.Read(b[:])
	return gdpr.SubjectID(fmt.Sprintf("%s-%x", what, b))
}

// tables returns the names of the tables of the database db reaches (the
// test's SQLite file, PostgreSQL schema or MySQL database), sorted.
func tables(t testing.TB, d sqldialect.Dialect, db *sql.DB) []string {
	t.Helper()
	var q string
	switch d {
	case sqldialect.SQLite:
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	case sqldialect.Postgres:
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
	case sqldialect.MySQL:
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
	default:
		t.Fatalf("tables: dialect %v", d)
	}
	rows, err := db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("list tables: %v", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// withPrefix returns the tables whose name starts with prefix.
func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(strings.ToLower(n), prefix) {
			out = append(out, n)
		}
	}
	return out
}
