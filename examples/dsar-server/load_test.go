package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/erasure"
)

// loadPair is a purpose and channel the account page offers a consent for.
type loadPair struct {
	purpose gdpr.Purpose
	contact consent.Contact
}

// loadSample is one answer the load test saw.
type loadSample struct {
	route  string
	status int
	took   time.Duration
}

// loadPost is one POST /requests that succeeded: when it was sent and
// when its answer came.
type loadPost struct{ sent, done time.Time }

// loadClient is one subject's browser in the load test and what it did.
type loadClient struct {
	email   string
	subject gdpr.SubjectID
	b       *browser
	c       *http.Client // b's client, redirects not followed
	rng     *rand.Rand

	samples  []loadSample
	errs     []string
	consents map[loadPair][]consent.Kind // the consent POSTs that succeeded, in order
	requests []loadPost
}

// do sends one request and records its answer. It returns the status,
// the Location of a redirect and the body; a transport error or an
// unexpected status is recorded as an error and returns 0.
func (c *loadClient) do(route, method, path string, form url.Values, want int, wantLocation string) (int, string, string) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.b.url+path, body)
	if err != nil {
		c.errs = append(c.errs, fmt.Sprintf("%s: %v", route, err))
		return 0, "", ""
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	start := time.Now()
	res, err := c.c.Do(req)
	if err != nil {
		c.errs = append(c.errs, fmt.Sprintf("%s: transport: %v", route, err))
		return 0, "", ""
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	took := time.Since(start)
	c.samples = append(c.samples, loadSample{route, res.StatusCode, took})
	if err != nil {
		c.errs = append(c.errs, fmt.Sprintf("%s: reading the body: %v", route, err))
		return 0, "", ""
	}
	loc := res.Header.Get("Location")
	if res.StatusCode != want || (wantLocation != "" && loc != wantLocation) {
		snippet := string(b)
		if i := strings.Index(snippet, "<main"); i >= 0 {
			snippet = snippet[i:]
		}
		c.errs = append(c.errs, fmt.Sprintf("%s: %d (Location %q), want %d %q; body: %.200s", route, res.StatusCode, loc, want, wantLocation, snippet))
		return 0, "", ""
	}
	return res.StatusCode, loc, string(b)
}

// objectionState finds the states of the objections on an account page.
var objectionState = regexp.MustCompile(`data-kind="objection">\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td class="state">([a-z_]+)</td>`)

// objectionOpen says whether an account page lists an objection still
// open.
func objectionOpen(page string) bool {
	for _, m := range objectionState.FindAllStringSubmatch(page, -1) {
		if erasure.State(m[1]).Open() {
			return true
		}
	}
	return false
}

// TestLoad is a bounded load test on loopback: 20 subjects, each signed
// in, browse their account and activity, change consents and now and
// then file an objection, concurrently for 10 s (2 s with -short),
// against one instance on SQLite. No answer may be an error, and nothing
// may be lost: the ledger holds exactly the consent changes that were
// answered as saved, in the order they were made, the decisions are the
// last of them, every objection answered as filed is a request in the
// Engine, and each completes once the load stops. It logs the throughput,
// the latencies and the CPU per request, beside a baseline run first on
// the same connections (GET /healthz, a fifth of the window).
func TestLoad(t *testing.T) {
	const clients = 20
	window := 10 * time.Second
	if testing.Short() {
		window = 2 * time.Second
	}
	state := t.TempDir()
	db, d, err := openDB("", state) // the app's own SQLite file and pragmas
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // after the instance stops (cleanups run last first)
	var in *instance
	t.Cleanup(func() {
		// Once the instance has stopped, its log is read: nothing, in the
		// foreground or in the background, may have failed.
		if in == nil {
			return
		}
		n := 0
		for _, l := range strings.Split(in.logs.String(), "\n") {
			if strings.Contains(l, `"level":"ERROR"`) {
				if n++; n <= 5 {
					t.Errorf("the app logged an error: %.400s", l)
				}
			}
		}
		if n > 0 {
			t.Errorf("the app logged %d errors", n)
		}
	})
	keys, session := testKeys(t)
	// Every client is on loopback, one client network for the limiter:
	// rates high enough that none is limited.
	in = startInstance(t, db, d, state, keys, session, "load", 1_000_000, 1_000_000)
	ctx := context.Background()

	pairs := []loadPair{}
	for _, cp := range consentPurposes {
		for _, c := range cp.Contacts {
			pairs = append(pairs, loadPair{cp.Purpose, c})
		}
	}

	// Sign in, outside the timed window.
	cs := make([]*loadClient, clients)
	for i := range cs {
		c := &loadClient{email: fmt.Sprintf("load-%02d@example.org", i), b: newBrowser(t, in),
			rng: rand.New(rand.NewPCG(uint64(i), 0x10ad)), consents: map[loadPair][]consent.Kind{}}
		// A browser of its own connections, as 20 browsers would have.
		c.b.c.Transport = in.srv.Client().Transport.(*http.Transport).Clone()
		c.b.signIn(in, c.email)
		if c.subject, err = in.app.acc.lookup(ctx, c.email); err != nil || c.subject == "" {
			t.Fatalf("lookup: %q, %v", c.subject, err)
		}
		nc := *c.b.c
		nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		c.c = &nc
		cs[i] = c
	}
	for _, c := range cs {
		if evs, err := in.app.kit.Ledger().History(ctx, c.subject, ""); err != nil || len(evs) != 0 {
			t.Fatalf("before the load, the subject has %d consent events (%v)", len(evs), err)
		}
	}

	// runLoad runs iter in a loop on every client until the window ends
	// (each finishes its iteration) and returns the wall time and the
	// process's CPU time (server and clients) it took.
	runLoad := func(window time.Duration, iter func(c *loadClient, i int)) (wall, cpu time.Duration, cpuOK bool) {
		var wg sync.WaitGroup
		cpu0, ok0 := processCPU()
		start := time.Now()
		end := start.Add(window)
		for _, c := range cs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(end); i++ {
					iter(c, i)
				}
			}()
		}
		wg.Wait()
		wall = time.Since(start)
		cpu1, ok1 := processCPU()
		return wall, cpu1 - cpu0, ok0 && ok1
	}

	// The baseline, in the same run on the same connections: the
	// cheapest answer the server gives, GET /healthz, through the same
	// TLS, middleware and log line, with no database.
	baseWall, baseCPU, cpuOK := runLoad(window/5, func(c *loadClient, _ int) {
		c.do("GET /healthz", http.MethodGet, "/healthz", nil, http.StatusOK, "")
	})
	var base []time.Duration
	for _, c := range cs {
		for _, s := range c.samples {
			base = append(base, s.took)
		}
		c.samples = nil
	}

	// The window, each client a subject in its privacy center.
	elapsed, cpu, ok := runLoad(window, func(c *loadClient, i int) {
		_, _, page := c.do("GET /account", http.MethodGet, "/account", nil, http.StatusOK, "")
		c.do("GET /activity", http.MethodGet, "/activity", nil, http.StatusOK, "")

		// A consent changed: the button the page shows, for one purpose
		// and channel.
		p := pairs[c.rng.IntN(len(pairs))]
		kind, action := consent.Given, "give"
		if h := c.consents[p]; len(h) > 0 && h[len(h)-1] == consent.Given {
			kind, action = consent.Withdrawn, "withdraw"
		}
		if code, loc, _ := c.do("POST /consents", http.MethodPost, "/consents",
			url.Values{"purpose": {string(p.purpose)}, "contact": {string(p.contact)}, "action": {action}},
			http.StatusSeeOther, "/account?done=consent"); code != 0 {
			c.consents[p] = append(c.consents[p], kind)
			c.do("GET /account (after a POST)", http.MethodGet, loc, nil, http.StatusOK, "")
		}

		// Now and then a request: an objection to the analytics, once
		// the last one is answered (the page says so). While one is
		// open, the Engine answers another with it, and which of the two
		// a POST was would be a guess.
		if i%5 == 1 && page != "" && !objectionOpen(page) {
			sent := time.Now()
			if code, loc, _ := c.do("POST /requests", http.MethodPost, "/requests",
				url.Values{"kind": {"objection"}, "purpose": {"analytics"}},
				http.StatusSeeOther, "/account?done=request"); code != 0 {
				c.requests = append(c.requests, loadPost{sent, time.Now()})
				c.do("GET /account (after a POST)", http.MethodGet, loc, nil, http.StatusOK, "")
			}
		}
	})
	cpuOK = cpuOK && ok
	loadEnd := time.Now()

	// The figures.
	var all []time.Duration
	byRoute := map[string][]time.Duration{}
	statuses := map[string]int{}
	var nerr int
	for _, c := range cs {
		for _, s := range c.samples {
			all = append(all, s.took)
			byRoute[s.route] = append(byRoute[s.route], s.took)
			statuses[fmt.Sprintf("%s %d", s.route, s.status)]++
		}
		for _, e := range c.errs {
			if nerr < 20 {
				t.Errorf("client %s: %s", c.email, e)
			}
			nerr++
		}
	}
	if nerr > 0 {
		t.Errorf("%d errors in %d requests", nerr, len(all)+len(base))
	}
	if len(all) == 0 || len(base) == 0 {
		t.Fatal("no request was answered")
	}
	rate, baseRate := float64(len(all))/elapsed.Seconds(), float64(len(base))/baseWall.Seconds()
	t.Logf("baseline, GET /healthz, %v: %d requests in %v, %.0f req/s; latency %s%s",
		window/5, len(base), baseWall.Round(time.Millisecond), baseRate, quantiles(base), cpuPer(baseCPU, len(base), cpuOK))
	t.Logf("%d clients, %v: %d requests in %v, %.0f req/s (%.3f× the baseline); latency %s%s",
		clients, window, len(all), elapsed.Round(time.Millisecond), rate, rate/baseRate, quantiles(all), cpuPer(cpu, len(all), cpuOK))
	if cpuOK {
		t.Logf("CPU per request: %.1f× the baseline's", (cpu.Seconds()/float64(len(all)))/(baseCPU.Seconds()/float64(len(base))))
	}
	// The app leaves the pool as database/sql makes it: no limit on open
	// connections, 2 kept idle. Each connection opened anew prepares its
	// statements again.
	st := db.Stats()
	t.Logf("database pool: %d connections opened, %d closed as surplus idle, %d waits",
		st.OpenConnections+int(st.MaxIdleClosed+st.MaxIdleTimeClosed+st.MaxLifetimeClosed), st.MaxIdleClosed, st.WaitCount)
	routes := make([]string, 0, len(byRoute))
	for r := range byRoute {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, r := range routes {
		t.Logf("  %-28s %6d  %s", r, len(byRoute[r]), quantiles(byRoute[r]))
	}
	keys2 := make([]string, 0, len(statuses))
	for k := range statuses {
		keys2 = append(keys2, k)
	}
	slices.Sort(keys2)
	for _, k := range keys2 {
		t.Logf("  status %-34s %6d", k, statuses[k])
	}

	// Nothing lost.
	var nconsents, nrequests, nfiled int
	for _, c := range cs {
		// The ledger holds exactly the consent changes answered as saved,
		// per purpose and channel in the order they were made.
		evs, err := in.app.kit.Ledger().History(ctx, c.subject, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[loadPair][]consent.Kind{}
		for _, e := range evs {
			p := loadPair{e.Purpose, e.Contact}
			got[p] = append(got[p], e.Kind)
		}
		want := 0
		for _, h := range c.consents {
			want += len(h)
		}
		nconsents += want
		if len(evs) != want {
			t.Errorf("client %s: %d consent events in the ledger, %d consent POSTs answered as saved", c.email, len(evs), want)
		}
		for _, p := range pairs {
			if !slices.Equal(got[p], c.consents[p]) {
				t.Errorf("client %s, %s by %s: the ledger has %v, the client made %v", c.email, p.purpose, p.contact, got[p], c.consents[p])
			}
			dec, err := in.app.kit.Ledger().Decide(ctx, consent.Query{Subject: c.subject, Purpose: p.purpose, Contact: p.contact})
			if err != nil {
				t.Fatal(err)
			}
			h := c.consents[p]
			if wantAllowed := len(h) > 0 && h[len(h)-1] == consent.Given; dec.Allowed != wantAllowed {
				t.Errorf("client %s, %s by %s: Decide says allowed %v (%s), the last action was %v", c.email, p.purpose, p.contact, dec.Allowed, dec.Reason, h)
			}
		}

		// Every objection answered as filed is a request in the Engine,
		// received while it was being filed, and there is no other.
		rs, err := in.app.kit.Engine().ForSubject(ctx, c.subject, erasure.Filter{Limit: erasure.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		nrequests += len(rs)
		nfiled += len(c.requests)
		if len(rs) != len(c.requests) {
			t.Errorf("client %s: %d requests in the Engine, %d objections answered as filed", c.email, len(rs), len(c.requests))
		}
		slices.SortFunc(rs, func(a, b erasure.Request) int { return a.Received.Compare(b.Received) })
		const slack = time.Millisecond // the store keeps microseconds
		for k, r := range rs {
			if r.Kind != gdpr.KindObjection || !slices.Equal(r.Ask.Purposes, []gdpr.Purpose{"analytics"}) {
				t.Errorf("client %s: request %s is a %s of %v, not the objection to analytics filed", c.email, r.ID, r.Kind, r.Ask.Purposes)
			}
			if k < len(c.requests) {
				if post := c.requests[k]; r.Received.Before(post.sent.Add(-slack)) || r.Received.After(post.done.Add(slack)) {
					t.Errorf("client %s: request %s was received at %s, the objection %d was filed between %s and %s", c.email, r.ID,
						r.Received.Format(time.StampMicro), k, post.sent.Format(time.StampMicro), post.done.Format(time.StampMicro))
				}
			}
		}
	}
	t.Logf("checked: %d consent events, %d objections filed, %d requests in the Engine", nconsents, nfiled, nrequests)

	// Every request filed is answered once the load stops: its objection
	// placed and settled, the subject told, the request completed.
	deadline := time.Now().Add(20 * time.Second)
	for _, c := range cs {
		for {
			rs, err := in.app.kit.Engine().ForSubject(ctx, c.subject, erasure.Filter{Limit: erasure.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			open := slices.ContainsFunc(rs, func(r erasure.Request) bool { return r.State.Open() })
			if !open || time.Now().After(deadline) {
				for _, r := range rs {
					if r.State != erasure.StateCompleted {
						last := r.History[len(r.History)-1]
						t.Errorf("client %s: request %s is %s, not completed, %v after the load (last: %s %s)",
							c.email, r.ID, r.State, time.Since(loadEnd).Round(time.Millisecond), last.Event, last.Note)
					}
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// cpuPer formats the CPU time per request, if it was measured.
func cpuPer(cpu time.Duration, n int, ok bool) string {
	if !ok {
		return ""
	}
	return fmt.Sprintf("; CPU %.2f ms a request (%v in all)", cpu.Seconds()*1000/float64(n), cpu)
}

// processCPU returns the CPU time, user and system, of the process so
// far, from /proc/self/stat (Linux); ok false elsewhere.
func processCPU() (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command, which is in parentheses: utime and
	// stime are the 14th and 15th, in USER_HZ (100 a second) ticks.
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

// quantiles formats the p50, p90, p99 and the max of ds.
func quantiles(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("p50 %s, p90 %s, p99 %s, max %s", r(q(0.50)), r(q(0.90)), r(q(0.99)), r(s[len(s)-1]))
}
