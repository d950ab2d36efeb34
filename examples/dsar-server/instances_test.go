package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// instancesWait bounds every wait of TestInstances.
const instancesWait = 60 * time.Second

// publicURL is where TestInstances' app is reached: the base URL of the
// links in its mail. The test sends each request to one instance or the
// other itself.
const publicURL = "https://privacy.example.test"

var receiptLink = regexp.MustCompile(`/receipts/[0-9a-f-]{36}`)

// messages returns a copy of the inbox.
func (b *inbox) snapshot() []message {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]message(nil), b.msgs...)
}

// instSubject is one subject of TestInstances: signed in on its home
// instance, with a browser on each instance carrying the same session
// cookie.
type instSubject struct {
	email string
	id    gdpr.SubjectID
	home  int
	br    [2]*browser
	// The requests: access, the restriction or objection ("other"), the
	// erasure; and the instance that served each POST.
	otherKind                  string
	access, other, erase       string
	accessBy, otherBy, eraseBy int
}

// TestInstances runs two instances of the app, each with its own
// connection pool, worker ID and mailer, on one database, sharing the
// keys, the session secret and the state directory (audit anchor, export
// blobs), as two replicas behind a load balancer would. Twelve subjects
// sign in, half on each, and file an access request, a restriction or an
// objection, and then an erasure, the POSTs alternating between the
// instances. Every request completes exactly once: one download-link mail
// per access request, one receipt mail per erasure, one completion notice
// per other request (across both instances' mailers), one completion and
// one success per step in the audit trail, one "completed" in the
// request's history, one journal entry per erasure. Both instances'
// workers take part (a worker's mail goes through its own instance's
// mailer); a link mailed by one instance downloads on the other, once; a
// session cookie of one works on the other; the trail verifies from
// both. SQLite is left out: the README runs several instances on
// PostgreSQL or MySQL only.
func TestInstances(t *testing.T) {
	for _, d := range []sqldialect.Dialect{sqldialect.Postgres, sqldialect.MySQL} {
		t.Run(d.String(), func(t *testing.T) { testInstances(t, d) })
	}
}

func testInstances(t *testing.T, d sqldialect.Dialect) {
	ctx := context.Background()
	dbA := testdb.Open(t, d)
	dbB := testdb.Reopen(t, d, dbA)
	keys, session := testKeys(t)
	state := t.TempDir() // the shared anchor and export blobs
	// Both are reached at one public URL, as behind a load balancer: the
	// app publishes its consent notices with it, and an instance with
	// another base URL fails to open (ErrConflict).
	insts := [2]*instance{
		launch(t, dbA, d, state, keys, session, "worker-a", true, func(c *config) { c.baseURL = publicURL }),
		launch(t, dbB, d, state, keys, session, "worker-b", true, func(c *config) { c.baseURL = publicURL }),
	}
	names := [2]string{"A", "B"}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the instances' errors:\n%s", errorLines(insts))
		}
	})
	receiptKey := keys.ReceiptKey.Public().(ed25519.PublicKey)

	// Sign-in, half on each instance; the session cookie is copied to a
	// browser on the other instance, where it works as well.
	const n = 12
	subs := make([]*instSubject, n)
	for i := range subs {
		s := &instSubject{email: fmt.Sprintf("subject%02d@example.org", i), home: i % 2}
		s.otherKind = "objection"
		if (i/2)%2 == 0 {
			s.otherKind = "restriction"
		}
		home, away := insts[s.home], insts[1-s.home]
		s.br[s.home] = newBrowser(t, home)
		s.br[s.home].signIn(home, s.email)
		s.br[1-s.home] = browserWithSession(t, away, s.br[s.home])
		code, body := s.br[1-s.home].get("/account")
		if code != http.StatusOK || !strings.Contains(body, s.email) || !strings.Contains(body, "Your privacy") {
			t.Fatalf("%s: the session cookie from instance %s does not sign in on %s: %d", s.email, names[s.home], names[1-s.home], code)
		}
		var err error
		if s.id, err = away.app.acc.lookup(ctx, s.email); err != nil || s.id == "" {
			t.Fatalf("lookup on the other instance: %q, %v", s.id, err)
		}
		subs[i] = s
	}

	// The access requests and the restrictions or objections, all
	// subjects at once, the POSTs alternating between the instances.
	var wg sync.WaitGroup
	for i, s := range subs {
		s.accessBy, s.otherBy = i%2, (i+1)%2
		wg.Go(func() {
			if code, err := s.br[s.accessBy].tryPost("/requests", url.Values{"kind": {"access"}}); err != nil || code != http.StatusOK {
				t.Errorf("%s: access request on %s: %d, %v", s.email, names[s.accessBy], code, err)
			}
			form := url.Values{"kind": {"objection"}, "purpose": {"analytics"}}
			if s.otherKind == "restriction" {
				form = url.Values{"kind": {"restriction"}, "ground": {string(erasure.GroundAccuracy)}}
			}
			if code, err := s.br[s.otherBy].tryPost("/requests", form); err != nil || code != http.StatusOK {
				t.Errorf("%s: %s request on %s: %d, %v", s.email, s.otherKind, names[s.otherBy], code, err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, s := range subs {
		reqs, err := insts[1-s.home].app.kit.Engine().ForSubject(ctx, s.id, erasure.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(reqs) != 2 {
			t.Fatalf("%s has %d requests on record, want 2 (access, %s)", s.email, len(reqs), s.otherKind)
		}
		for _, q := range reqs {
			switch {
			case q.Kind == gdpr.KindAccess:
				s.access = q.ID
			case string(q.Kind) == s.otherKind:
				s.other = q.ID
			default:
				t.Fatalf("%s has a request of kind %s", s.email, q.Kind)
			}
		}
		if s.access == "" || s.other == "" {
			t.Fatalf("%s: access %q, %s %q", s.email, s.access, s.otherKind, s.other)
		}
	}
	deadline := time.Now().Add(instancesWait)
	for _, s := range subs {
		waitClosed(t, insts[s.home], s.access, deadline)
		waitClosed(t, insts[1-s.home], s.other, deadline)
	}

	// One download link per access request, mailed by the instance whose
	// worker ran the request, with that instance's base URL; it downloads
	// on the other instance (the blobs are shared), once.
	mailedBy := [2]int{}
	for _, s := range subs {
		links := linksTo(insts, s.email, downloadLink)
		if len(links) != 1 {
			t.Errorf("%s: %d download-link mails (%v), want 1", s.email, len(links), links)
			continue
		}
		by, full := links[0].by, links[0].url
		mailedBy[by]++
		if !strings.HasPrefix(full, publicURL+"/download/") {
			t.Errorf("%s: the download link mailed by %s is not on the public URL", s.email, names[by])
		}
		path := downloadLink.FindString(full)
		other := s.br[1-by]
		if code, _ := other.get(path); code != http.StatusOK {
			t.Errorf("%s: GET the link of %s on %s: %d", s.email, names[by], names[1-by], code)
		}
		code, bundle := other.post(path, nil)
		if code != http.StatusOK {
			t.Errorf("%s: POST the link of %s on %s: %d", s.email, names[by], names[1-by], code)
			continue
		}
		bun, err := export.Open(strings.NewReader(bundle), int64(len(bundle)), receiptKey)
		if err != nil {
			t.Errorf("%s: the bundle downloaded from %s does not verify: %v", s.email, names[1-by], err)
			continue
		}
		if bun.Manifest().Request != s.access || !strings.Contains(strings.Join(bun.Datasets(), ","), "accounts") {
			t.Errorf("%s: the bundle answers %q with datasets %v, want %q with accounts", s.email, bun.Manifest().Request, bun.Datasets(), s.access)
		}
		for j := range 2 {
			if code, _ := s.br[(by+1+j)%2].post(path, nil); code != http.StatusNotFound {
				t.Errorf("%s: the link spent on %s, POSTed again on %s: %d, want 404", s.email, names[1-by], names[(by+1+j)%2], code)
			}
		}
	}
	t.Logf("download links mailed by worker-a: %d, by worker-b: %d", mailedBy[0], mailedBy[1])

	// The erasures, one per subject, each POSTed on the instance after
	// the one that took the previous request.
	for i, s := range subs {
		s.eraseBy = (i + 2) % 2
		in := insts[s.eraseBy]
		if code, _ := s.br[s.eraseBy].post("/requests", url.Values{"kind": {"erasure"}}); code != http.StatusOK {
			t.Errorf("%s: erasure request on %s: %d", s.email, names[s.eraseBy], code)
		}
		reqs, err := insts[1-s.eraseBy].app.kit.Engine().ForSubject(ctx, s.id, erasure.Filter{Kinds: []gdpr.RequestKind{gdpr.KindErasure}})
		if err != nil || len(reqs) != 1 {
			t.Fatalf("%s: %d erasure requests on record (%v), want 1", s.email, len(reqs), err)
		}
		s.erase = reqs[0].ID
		links := linksTo(insts, s.email, receiptLink)
		if len(links) != 1 || links[0].by != s.eraseBy || !strings.HasSuffix(links[0].url, "/receipts/"+s.erase) {
			// The app sends the mail only if it reads the account,
			// and drops the error: read it again to show it.
			_, gerr := in.app.acc.get(gdpr.WithActor(ctx, gdpr.SubjectActor()), s.id)
			t.Errorf("%s: receipt-link mails %v, want 1 from %s of %s; reading the account now: %v", s.email, links, names[s.eraseBy], s.erase, gerr)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	deadline = time.Now().Add(instancesWait)
	for _, s := range subs {
		waitClosed(t, insts[1-s.eraseBy], s.erase, deadline)
	}

	// Anything a second worker did twice has had time to land: the
	// restriction cache's TTL (the longest wait of a step) several times.
	time.Sleep(2 * time.Second)

	// The mail, across both instances: one download link, one receipt
	// link, one completion notice per request that is not an erasure
	// (the erased subject has no address left to tell).
	notices := [2]int{}
	for _, s := range subs {
		if links := linksTo(insts, s.email, downloadLink); len(links) != 1 {
			t.Errorf("%s: %d download-link mails in the end, want 1", s.email, len(links))
		}
		if links := linksTo(insts, s.email, receiptLink); len(links) != 1 {
			t.Errorf("%s: %d receipt-link mails in the end, want 1", s.email, len(links))
		}
		for _, id := range []string{s.access, s.other, s.erase} {
			var got []int
			for k, in := range insts {
				for _, m := range in.mail.snapshot() {
					if m.To == s.email && m.Subject == "Your request: completed" && strings.Contains(m.Body, id) {
						got = append(got, k)
					}
				}
			}
			want := 1
			if id == s.erase {
				want = 0
			}
			if len(got) != want {
				t.Errorf("%s: request %s: %d completion notices (from %v), want %d", s.email, id, len(got), got, want)
			}
			for _, k := range got {
				notices[k]++
			}
		}
	}
	t.Logf("completion notices sent by worker-a: %d, by worker-b: %d", notices[0], notices[1])
	// The engine records no worker in a request (the lease row goes on
	// release); a worker's mail goes through its own instance's mailer.
	for k := range insts {
		if mailedBy[k]+notices[k] == 0 {
			t.Errorf("the workers of instance %s sent no mail: they took no part", names[k])
		}
	}

	// The requests' records: closed once, completed.
	for _, s := range subs {
		for k, id := range []string{s.access, s.other, s.erase} {
			q, err := insts[k%2].app.kit.Engine().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if q.State != erasure.StateCompleted {
				t.Errorf("%s: %s request %s is %s, want completed (history %+v)", s.email, q.Kind, id, q.State, q.History)
			}
			completed, submitted := 0, 0
			for _, h := range q.History {
				switch h.Event {
				case "completed":
					completed++
				case "submitted":
					submitted++
				}
			}
			if completed != 1 || submitted != 1 {
				t.Errorf("%s: %s request %s: %d completed and %d submitted in its history, want 1 and 1: %+v", s.email, q.Kind, id, completed, submitted, q.History)
			}
		}
		q, err := insts[0].app.kit.Engine().Get(ctx, s.erase)
		if err != nil {
			t.Fatal(err)
		}
		js, err := insts[1].app.journal.Match(ctx, []string{q.SubjectRef})
		if err != nil {
			t.Fatal(err)
		}
		if len(js) != 1 || js[0].RequestID != s.erase {
			t.Errorf("%s: %d journal entries for the subject (%+v), want 1 of %s", s.email, len(js), js, s.erase)
		}
		// The receipt, from the instance that did not take the request.
		res, err := insts[1-s.eraseBy].srv.Client().Get(insts[1-s.eraseBy].srv.URL + "/receipts/" + s.erase)
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if rc, err := erasure.VerifyReceipt(string(jws), receiptKey); err != nil || rc.Request != s.erase {
			t.Errorf("%s: the receipt from %s: %v (%+v)", s.email, names[1-s.eraseBy], err, rc)
		}
		// Neither instance signs the erased subject in.
		for k := range insts {
			if _, body := s.br[k].get("/account"); strings.Contains(body, s.email) {
				t.Errorf("%s: instance %s still signs the erased subject in", s.email, names[k])
			}
		}
	}

	// The trail, read from B: each request received once, each step done
	// once, completed once; each bundle written, delivered and downloaded
	// once.
	entries := allEntries(t, insts[1])
	for _, s := range subs {
		for k, id := range []string{s.access, s.other, s.erase} {
			q, err := insts[1-k%2].app.kit.Engine().Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var received, completed int
			steps := map[string]int{}
			for _, e := range entries {
				if e.Resource != "dsar_request/"+id {
					continue
				}
				switch {
				case e.Action == "erasure.request.received":
					received++
				case e.Action == "erasure.request.completed":
					completed++
				case e.Action == "erasure.step" && e.Outcome == gdpr.Success:
					steps[e.Attrs["step"]+"/"+e.Attrs["recipient"]]++
				}
			}
			if received != 1 || completed != 1 {
				t.Errorf("%s: %s request %s: %d received and %d completed in the trail, want 1 and 1", s.email, q.Kind, id, received, completed)
			}
			if len(steps) != len(q.Steps) {
				t.Errorf("%s: %s request %s: steps done in the trail %v, want one of each of its %d steps", s.email, q.Kind, id, steps, len(q.Steps))
			}
			for _, st := range q.Steps {
				key := st.Target + "/"
				if st.Recipient != nil {
					key += st.Recipient.Recipient
				}
				if steps[key] != 1 {
					t.Errorf("%s: %s request %s: step %s done %d times in the trail, want 1", s.email, q.Kind, id, key, steps[key])
				}
			}
		}
		var written, delivered, downloaded int
		for _, e := range entries {
			switch {
			case e.Action == "export.written" && e.Resource == "export/"+s.access:
				written++
			case e.Action == "export.delivered" && e.Attrs["request"] == s.access:
				delivered++
			case e.Action == "export.downloaded" && e.Attrs["request"] == s.access:
				downloaded++
			}
		}
		if written != 1 || delivered != 1 || downloaded != 1 {
			t.Errorf("%s: access request %s: written %d, delivered %d, downloaded %d times in the trail, want 1 each", s.email, s.access, written, delivered, downloaded)
		}
	}

	// The trail verifies from either instance.
	for k, in := range insts {
		rep, err := in.app.kit.Trail().Verify(ctx, audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Errorf("the trail does not verify from %s: %v %+v", names[k], err, rep)
		}
	}
}

// errorLines returns the lines of the instances' logs above INFO.
func errorLines(insts [2]*instance) string {
	var out []string
	for k, in := range insts {
		for _, line := range strings.Split(in.logs.String(), "\n") {
			if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) {
				out = append(out, fmt.Sprintf("%c: %s", 'A'+k, line))
			}
		}
	}
	return strings.Join(out, "\n")
}

// browserWithSession returns a browser on in that carries the session
// cookie of from, as a load balancer sending the next request elsewhere.
func browserWithSession(t *testing.T, in *instance, from *browser) *browser {
	t.Helper()
	b := newBrowser(t, in)
	src, _ := url.Parse(from.url)
	dst, _ := url.Parse(b.url)
	var cs []*http.Cookie
	for _, c := range from.c.Jar.Cookies(src) {
		if c.Name == subjectCookie {
			cs = append(cs, &http.Cookie{Name: c.Name, Value: c.Value, Path: "/", Secure: true, HttpOnly: true})
		}
	}
	if len(cs) != 1 {
		t.Fatalf("the browser has %d session cookies, want 1", len(cs))
	}
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(dst, cs)
	b.c.Jar = jar
	return b
}

// tryPost is post for another goroutine: it returns its error.
func (b *browser) tryPost(path string, form url.Values) (int, error) {
	req, err := http.NewRequest(http.MethodPost, b.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := b.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// mailedLink is a link found in a message, and the instance that sent it.
type mailedLink struct {
	by  int
	url string
}

// linksTo returns, across the instances' mailers, every message to to
// that holds a link matching re: the link with its base URL.
func linksTo(insts [2]*instance, to string, re *regexp.Regexp) []mailedLink {
	var out []mailedLink
	full := regexp.MustCompile(`https://[^\s]*` + re.String())
	for k, in := range insts {
		for _, m := range in.mail.snapshot() {
			if m.To != to {
				continue
			}
			if l := full.FindString(m.Body); l != "" {
				out = append(out, mailedLink{k, l})
			}
		}
	}
	return out
}

// waitClosed waits until the request id is closed, or fails t at
// deadline.
func waitClosed(t *testing.T, in *instance, id string, deadline time.Time) {
	t.Helper()
	var q erasure.Request
	var err error
	for {
		q, err = in.app.kit.Engine().Get(context.Background(), id)
		if err == nil && !q.State.Open() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("request %s is still %s (%v) after %s: history %+v", id, q.State, err, instancesWait, q.History)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// allEntries reads the whole audit trail from in, page by page.
func allEntries(t *testing.T, in *instance) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	var from int64
	for {
		page, err := in.app.kit.Trail().Entries(context.Background(), audit.Filter{From: from, Limit: audit.MaxPage})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		from = page[len(page)-1].Index + 1
	}
}
