package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
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
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// inbox is the test's mailer: every message, by recipient.
type inbox struct {
	mu   sync.Mutex
	msgs []message
}

func (b *inbox) send(_ context.Context, m message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.msgs = append(b.msgs, m)
	return nil
}

// link waits for the newest message to `to` whose body holds a link
// matching re, and returns it.
func (b *inbox) link(t *testing.T, to string, re *regexp.Regexp) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for i := len(b.msgs) - 1; i >= 0; i-- {
			if m := b.msgs[i]; m.To == to {
				if l := re.FindString(m.Body); l != "" {
					b.mu.Unlock()
					return l
				}
			}
		}
		b.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no message to the subject with a link matching %s", re)
	return ""
}

// last returns the newest message to `to`.
func (b *inbox) last(t *testing.T, to string) message {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.msgs) - 1; i >= 0; i-- {
		if b.msgs[i].To == to {
			return b.msgs[i]
		}
	}
	t.Fatal("no message to the subject")
	return message{}
}

// all returns the messages to `to`, oldest first.
func (b *inbox) all(to string) []message {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []message
	for _, m := range b.msgs {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// count returns the number of messages to `to`.
func (b *inbox) count(to string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.msgs {
		if m.To == to {
			n++
		}
	}
	return n
}

// testKeys is a development key set for one test.
func testKeys(t testing.TB) (kit.Keys, []byte) {
	t.Helper()
	dev, err := insecuredevkeys.Load(t.TempDir() + "/keys.json")
	if err != nil {
		t.Fatal(err)
	}
	signer, verifier, err := dev.AuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	subjectKey, session := make([]byte, 32), make([]byte, 32)
	rand.Read(subjectKey)
	rand.Read(session)
	return kit.Keys{KEK: dev.KEK(), AuditSigner: signer, AuditVerifier: verifier, PseudonymKey: dev.PseudonymKey(),
		SubjectKey: subjectKey, ReceiptKey: dev.ReceiptKey(), UnsubscribeSecrets: [][]byte{dev.UnsubscribeSecret()}}, session
}

const testOperatorToken = "operator-token-for-tests-0123456789"

// instance is one running app behind a TLS test server.
type instance struct {
	app  *app
	srv  *httptest.Server
	mail *inbox
	logs *lockedLog
	stop func()
}

// startInstance opens the app on db and serves it over TLS; its
// background work runs until the test ends. rates, if given, are the
// sign-in and intake rates per minute.
func startInstance(t *testing.T, db *sql.DB, d sqldialect.Dialect, state string, keys kit.Keys, session []byte, id string, rates ...int) *instance {
	t.Helper()
	return launch(t, db, d, state, keys, session, id, true, func(cfg *config) {
		if len(rates) == 2 {
			cfg.signinRate, cfg.intakeRate = rates[0], rates[1]
		}
	})
}

// sqliteInstance is startInstance on a SQLite database and state of the
// test's own, with fresh keys.
func sqliteInstance(t *testing.T) *instance {
	t.Helper()
	keys, session := testKeys(t)
	return startInstance(t, testdb.Open(t, sqldialect.SQLite), sqldialect.SQLite, t.TempDir(), keys, session, "one")
}

// launch opens the app on db, after tweak changed its test
// configuration, and serves it over TLS; with run, its background work
// (the request workers, the sweeps) runs until the test ends.
func launch(t *testing.T, db *sql.DB, d sqldialect.Dialect, state string, keys kit.Keys, session []byte, id string, run bool, tweak func(*config)) *instance {
	t.Helper()
	in := &instance{mail: &inbox{}, logs: &lockedLog{}}
	in.srv = httptest.NewUnstartedServer(nil)
	in.srv.StartTLS()
	cfg := config{db: db, dialect: d, state: state, keys: keys, sessionSecret: session,
		operatorToken: testOperatorToken, baseURL: in.srv.URL, mail: in.mail, cacheTTL: 200 * time.Millisecond,
		logger: slog.New(redactor{slog.NewJSONHandler(in.logs, nil)}), workerID: id, signinRate: 600, intakeRate: 600}
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := open(context.Background(), cfg)
	if err != nil {
		in.srv.Close()
		t.Fatal(err)
	}
	in.app = a
	in.srv.Config.Handler = a.handler()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	if run {
		go func() { done <- a.run(ctx) }()
	} else {
		done <- nil
	}
	var once sync.Once
	in.stop = func() { // once: a test may stop it before its cleanup does
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run %s: %v", id, err)
			}
			in.srv.Close()
			a.close(context.Background())
		})
	}
	t.Cleanup(in.stop)
	return in
}

// lockedLog is an instance's log, safe to read while it is written.
type lockedLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// browser is a client with a cookie jar, as a subject's browser: every
// POST carries the Sec-Fetch-Site a browser sends for a same-origin form.
type browser struct {
	t   *testing.T
	c   *http.Client
	url string
}

func newBrowser(t *testing.T, in *instance) *browser {
	jar, _ := cookiejar.New(nil)
	c := *in.srv.Client() // a copy: the server's client has no jar
	c.Jar = jar
	return &browser{t: t, c: &c, url: in.srv.URL}
}

func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	res, err := b.c.Get(b.url + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

var (
	signinLink   = regexp.MustCompile(`/signin/confirm\?t=[A-Za-z0-9_-]{43}`)
	downloadLink = regexp.MustCompile(`/download/[A-Za-z0-9_.-]+`)
)

// signIn signs the browser in as the owner of email.
func (b *browser) signIn(in *instance, email string) {
	b.t.Helper()
	if code, _ := b.post("/signin", url.Values{"email": {email}}); code != http.StatusOK {
		b.t.Fatalf("POST /signin: %d", code)
	}
	link := in.mail.link(b.t, email, signinLink)
	tok := strings.TrimPrefix(link, "/signin/confirm?t=")
	if code, _ := b.get(link); code != http.StatusOK {
		b.t.Fatalf("GET the sign-in link: %d", code)
	}
	if code, body := b.post("/signin/confirm", url.Values{"t": {tok}}); code != http.StatusOK || !strings.Contains(body, "Your privacy") {
		b.t.Fatalf("POST /signin/confirm: %d, not the account page", code)
	}
	// The link works once.
	if code, _ := b.post("/signin/confirm", url.Values{"t": {tok}}); code != http.StatusBadRequest {
		b.t.Fatalf("a used sign-in link: %d, want 400", code)
	}
}

// requestState returns the state cell of the newest request of kind on
// the account page.
func (b *browser) waitRequest(kind string, want ...string) {
	b.t.Helper()
	re := regexp.MustCompile(`data-kind="` + kind + `">\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td class="state">([a-z_]+)</td>`)
	deadline := time.Now().Add(30 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		_, body := b.get("/account")
		if m := re.FindStringSubmatch(body); m != nil {
			last = m[1]
			for _, w := range want {
				if last == w {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("the %s request is %q, want one of %v", kind, last, want)
}

// TestJourney walks one subject through the whole app on every database:
// sign-in, a consent given and withdrawn, a copy of their data
// downloaded once and verified, an erasure, after which their data are
// unreadable, their session signs no one in, and the audit trail still
// verifies.
func TestJourney(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		keys, session := testKeys(t)
		in := startInstance(t, db, d, t.TempDir(), keys, session, "one")
		b := newBrowser(t, in)
		const email = "ann.example@example.org"
		b.signIn(in, email)
		_, page := b.get("/account")
		if !strings.Contains(page, email) {
			t.Fatal("the account page does not show the subject's address")
		}
		subject, err := in.app.acc.lookup(context.Background(), email)
		if err != nil || subject == "" {
			t.Fatalf("lookup: %q, %v", subject, err)
		}

		// Consent: given, then withdrawn with one click.
		if code, body := b.post("/consents", url.Values{"purpose": {"newsletter"}, "contact": {"email"}, "action": {"give"}}); code != http.StatusOK || !strings.Contains(body, "Your choice is saved") {
			t.Fatalf("give: %d", code)
		}
		allowed := func() bool {
			d, err := in.app.kit.Ledger().Decide(context.Background(), consent.Query{Subject: subject, Purpose: "newsletter", Contact: consent.Email})
			if err != nil {
				t.Fatal(err)
			}
			return d.Allowed
		}
		if !allowed() {
			t.Fatal("after giving consent, the newsletter is not allowed")
		}
		b.post("/consents", url.Values{"purpose": {"newsletter"}, "contact": {"email"}, "action": {"withdraw"}})
		if allowed() {
			t.Fatal("after withdrawing, the newsletter is still allowed")
		}

		// A copy of their data: a single-use link by e-mail.
		if code, _ := b.post("/requests", url.Values{"kind": {"access"}}); code != http.StatusOK {
			t.Fatalf("access request: %d", code)
		}
		link := in.mail.link(t, email, downloadLink)
		if code, _ := b.get(link); code != http.StatusOK {
			t.Fatalf("GET the download link: %d", code)
		}
		code, bundle := b.post(link, nil)
		if code != http.StatusOK {
			t.Fatalf("POST the download link: %d", code)
		}
		bun, err := export.Open(strings.NewReader(bundle), int64(len(bundle)), keys.ReceiptKey.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatalf("the bundle does not verify: %v", err)
		}
		sets := strings.Join(bun.Datasets(), ",")
		for _, want := range []string{"accounts", "consent_events", "audit_entries"} {
			if !strings.Contains(sets, want) {
				t.Errorf("the bundle has datasets %s, none %s", sets, want)
			}
		}
		if code, _ := b.post(link, nil); code != http.StatusNotFound {
			t.Errorf("the download link spent twice: %d, want 404", code)
		}
		b.waitRequest("access", "completed")

		// Who used their data.
		if _, act := b.get("/activity"); !strings.Contains(act, "consent.given") || !strings.Contains(act, "consent.withdrawn") {
			t.Error("the activity page does not list the consent events")
		}

		// Erasure.
		var ct []byte
		if err := db.QueryRow(in.app.acc.q("SELECT email FROM "+in.app.acc.table("accounts")+" WHERE subject = ?"), string(subject)).Scan(&ct); err != nil {
			t.Fatal(err)
		}
		if code, _ := b.post("/requests", url.Values{"kind": {"erasure"}}); code != http.StatusOK {
			t.Fatalf("erasure request: %d", code)
		}
		receipt := in.mail.link(t, email, regexp.MustCompile(`/receipts/[0-9a-f-]{36}`))
		id := strings.TrimPrefix(receipt, "/receipts/")
		var done erasure.Request
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if done, err = in.app.kit.Engine().Get(context.Background(), id); err == nil && !done.State.Open() {
				break
			}
		}
		if done.State != erasure.StateCompleted {
			t.Fatalf("the erasure is %s", done.State)
		}
		if _, err := in.app.kit.Keyring().Decrypt(context.Background(), subject, emailField, ct); !errors.Is(err, crypto.ErrShredded) {
			t.Errorf("the erased subject's address decrypts: %v, want ErrShredded", err)
		}
		if code, _ := b.get("/account"); code != http.StatusOK { // redirected to the sign-in page
			t.Errorf("GET /account after erasure: %d", code)
		}
		if _, body := b.get("/account"); strings.Contains(body, email) || !strings.Contains(body, "Send me a sign-in link") {
			t.Error("the erased subject's session still signs them in")
		}
		if entries, err := in.app.kit.Trail().Entries(context.Background(), audit.Filter{Subject: subject}); err != nil || len(entries) != 0 {
			t.Errorf("the trail still links %d entries to the erased subject (%v)", len(entries), err)
		}
		rep, err := in.app.kit.Trail().Verify(context.Background(), audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("the trail does not verify after the erasure: %v %+v", err, rep)
		}
		res, err := in.srv.Client().Get(in.srv.URL + receipt)
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if _, err := erasure.VerifyReceipt(string(jws), keys.ReceiptKey.Public().(ed25519.PublicKey)); err != nil {
			t.Errorf("the erasure receipt does not verify: %v", err)
		}
		if strings.Contains(in.logs.String(), email) || strings.Contains(in.logs.String(), string(subject)) {
			t.Error("a log line holds the subject's address or ID")
		}
		_ = gdpr.KindErasure
	})
}
