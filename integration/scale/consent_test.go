package scale_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
)

const (
	noticeV1 = "May we send you our monthly newsletter by e-mail?"
	noticeV2 = "May we send you our monthly newsletter and our offers by e-mail?"
)

// consent fills the ledger with one Given event (notice version 1) for
// each of e.sz.subjects subjects, a withdrawal for one in 20 (i%20 == 7)
// and, after version 2 is published as material, a Given under version 2
// for one in 10 (i%10 == 3): the rest, about 85%, are stale. Each row is a
// copy of a row the Ledger wrote itself (Give, Withdraw), with its ID,
// subject and time changed on the server. Then it measures Decide on
// random subjects and StaleSubjects paging.
func (f *fixture) consent(t *testing.T) {
	e := f.e
	ctx := context.Background()
	k := f.openKit(t)
	l := k.Ledger()
	const sec = "consent"
	S := e.sz.subjects

	if _, err := l.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText(noticeV1),
		Language: "en", Material: true, Published: time.Now().Add(-30 * 24 * time.Hour)}); err != nil {
		t.Fatalf("Publish v1: %v", err)
	}
	choice := func(s gdpr.SubjectID, v int) consent.Choice {
		return consent.Choice{Subject: s, Purpose: "newsletter", Notice: consent.NoticeRef{ID: "newsletter", Version: v},
			Method: consent.MethodCheckbox, Channel: "web"}
	}
	given, err := l.Give(ctx, choice("tmpl-given", 1))
	if err != nil {
		t.Fatalf("Give: %v", err)
	}
	if _, err := l.Give(ctx, choice("tmpl-withdrawn", 1)); err != nil {
		t.Fatalf("Give: %v", err)
	}
	withdrawn, err := l.Withdraw(ctx, consent.Choice{Subject: "tmpl-withdrawn", Purpose: "newsletter", Method: consent.MethodCheckbox, Channel: "web"})
	if err != nil {
		t.Fatalf("Withdraw: %v", err)
	}

	ev := prefix + "consent_events"
	const cols = "id, subject, purpose, contact, kind, at_us, actor_kind, actor_id, notice_id, notice_version, notice_hash, method, channel, evidence, expires_us, basis"
	// copyRows inserts a copy of template id for each g of where, with
	// a new id, subject and time (at_us - (S - g) ms: in the past, in g's
	// order).
	copyRows := func(what, id, tag, where string) time.Duration {
		q := fmt.Sprintf("INSERT INTO %s (%s) SELECT md5('%s-' || g)::uuid::text, "+subjSQL+", t.purpose, t.contact, t.kind,"+
			" t.at_us - (%d - g) * 1000, t.actor_kind, t.actor_id, t.notice_id, t.notice_version, t.notice_hash, t.method, t.channel,"+
			" t.evidence, t.expires_us, t.basis FROM %s t, generate_series(0, %d) g WHERE t.id = $1 AND (%s) ORDER BY g",
			ev, cols, tag, "g", S+1, ev, S-1, where)
		return e.exec(what, q, id)
	}
	var gen time.Duration
	gen += copyRows("consent: given v1 for every subject", given.ID, "given1", "true")
	gen += copyRows("consent: withdrawals (i%20 = 7)", withdrawn.ID, "withdrawn", "g % 20 = 7")

	if _, err := l.Publish(ctx, consent.Notice{ID: "newsletter", Version: 2, TextHash: consent.HashText(noticeV2),
		Language: "en", Material: true}); err != nil {
		t.Fatalf("Publish v2: %v", err)
	}
	given2, err := l.Give(ctx, choice("tmpl-given2", 2))
	if err != nil {
		t.Fatalf("Give v2: %v", err)
	}
	// Version 2 gives come after the publication: shift them forward.
	gen += e.exec("consent: given v2 (i%10 = 3)", fmt.Sprintf("INSERT INTO %s (%s) SELECT md5('given2-' || g)::uuid::text, "+subjSQL+", t.purpose, t.contact, t.kind,"+
		" t.at_us + g, t.actor_kind, t.actor_id, t.notice_id, t.notice_version, t.notice_hash, t.method, t.channel,"+
		" t.evidence, t.expires_us, t.basis FROM %s t, generate_series(0, %d) g WHERE t.id = $1 AND g %% 10 = 3 ORDER BY g",
		ev, cols, "g", ev, S-1), given2.ID)
	gen += e.exec("consent: ANALYZE", "ANALYZE "+ev)
	rows := e.count("SELECT count(*) FROM " + ev)
	e.figure(sec, "generated", fmt.Sprintf("%d events for %d subjects in %v (server-side INSERT … SELECT generate_series from rows Give/Withdraw wrote); table %s",
		rows, S, us(gen), e.tableSize(ev)))

	// Correctness on a few known subjects.
	want := func(i int64) consent.Reason {
		switch {
		case i%10 == 3:
			return consent.ReasonGiven
		case i%20 == 7:
			return consent.ReasonWithdrawn
		}
		return consent.ReasonStale
	}
	for _, i := range []int64{0, 3, 7, S / 2, S - 1} {
		d, err := l.Decide(ctx, consent.Query{Subject: subj(i), Purpose: "newsletter", Contact: consent.Email})
		if err != nil {
			t.Fatalf("Decide(%s): %v", subj(i), err)
		}
		if d.Reason != want(i) {
			t.Errorf("Decide(%s): %s, want %s", subj(i), d.Reason, want(i))
		}
	}

	// Decide latency over random subjects, one at a time.
	rng := rand.New(rand.NewPCG(1, 2))
	n := 5000
	lat := make(durations, 0, n)
	start := time.Now()
	for range n {
		i := rng.Int64N(S)
		t0 := time.Now()
		d, err := l.Decide(ctx, consent.Query{Subject: subj(i), Purpose: "newsletter", Contact: consent.Email})
		lat = append(lat, time.Since(t0))
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		if d.Reason != want(i) {
			t.Fatalf("Decide(%s): %s, want %s", subj(i), d.Reason, want(i))
		}
	}
	e.figure(sec, "Decide latency, random subjects, 1 goroutine", fmt.Sprintf("%v; %s", lat, rate(int64(n), time.Since(start))))
	pc := e.explainCalls(func() {
		if _, err := l.Decide(ctx, consent.Query{Subject: subj(S / 3), Purpose: "newsletter", Contact: consent.Email}); err != nil {
			t.Errorf("Decide: %v", err)
		}
	})
	e.figure(sec, "Decide: EXPLAIN of its statements", pc.String())
	if len(pc.seqBig) > 0 {
		t.Errorf("Decide reads a big table sequentially: %v", pc.seqBig)
	}

	// StaleSubjects paging: pages of 1000 from the start, for at most
	// two minutes or the whole ledger.
	var pages durations
	var after gdpr.SubjectID
	var found int64
	budget := 2 * time.Minute
	start = time.Now()
	complete := false
	for time.Since(start) < budget {
		t0 := time.Now()
		page, err := l.StaleSubjects(ctx, "newsletter", after, 1000)
		pages = append(pages, time.Since(t0))
		if err != nil {
			t.Fatalf("StaleSubjects: %v", err)
		}
		if len(page) == 0 {
			complete = true
			break
		}
		for _, s := range page {
			var i int64
			if _, err := fmt.Sscanf(string(s), "subj-%d", &i); err != nil {
				continue // the template subject tmpl-given, stale as well
			}
			if want(i) != consent.ReasonStale {
				t.Fatalf("StaleSubjects returned %s, whose decision is %s", s, want(i))
			}
		}
		found += int64(len(page))
		after = page[len(page)-1]
	}
	el := time.Since(start)
	what := fmt.Sprintf("pages of 1000: %v; %d stale subjects in %v (%s)", pages, found, us(el), rate(found, el))
	if complete {
		what += "; the whole ledger paged"
	} else {
		what += fmt.Sprintf("; stopped after the %v budget, the whole ledger (~%d stale) extrapolates to %v",
			budget, staleCount(S), us(time.Duration(float64(el)*float64(staleCount(S))/float64(max(found, 1)))))
	}
	e.figure(sec, "StaleSubjects paging", what)
	if complete && found != staleCount(S)+1 {
		t.Errorf("StaleSubjects found %d stale subjects, want %d (and tmpl-given)", found, staleCount(S))
	}
	pc = e.explainCalls(func() {
		if _, err := l.StaleSubjects(ctx, "newsletter", subj(S/2), 100); err != nil {
			t.Errorf("StaleSubjects: %v", err)
		}
	})
	e.figure(sec, "StaleSubjects (one page of 100): EXPLAIN of its statements", pc.String())
	if len(pc.seqBig) > 0 {
		t.Errorf("StaleSubjects reads a big table sequentially: %v", pc.seqBig)
	}
	if err := k.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// staleCount is how many of subjects 0..S-1 are stale: neither i%10 == 3
// nor i%20 == 7.
func staleCount(S int64) int64 {
	var n int64
	// Closed form over whole periods of 20, then the tail.
	per := int64(20 - 2 - 1) // of 20: 3 and 13 give v2, 7 withdraws
	n = S / 20 * per
	for i := S / 20 * 20; i < S; i++ {
		if i%10 != 3 && i%20 != 7 {
			n++
		}
	}
	return n
}
