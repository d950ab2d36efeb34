package scale_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/erasure"
)

// erasure erases subj(erased) — consent events, a key, audit entries —
// through the kit's engine (Submit, then Process until it closes) from
// the database the other parts filled, capturing every statement the
// stores run for it, and EXPLAINs each: none may read a big table
// sequentially.
func (f *fixture) erasure(t *testing.T) {
	e := f.e
	ctx := context.Background()
	const sec = "erasure"
	k := f.openKit(t)
	s := subj(erased)
	other := subj(erased + 1)
	hist, err := k.Ledger().History(ctx, s, "")
	if err != nil || len(hist) == 0 {
		t.Fatalf("History before: %d events, %v", len(hist), err)
	}
	linked, err := k.Trail().Entries(ctx, audit.Filter{Subject: s, Limit: 10})
	if err != nil || len(linked) == 0 {
		t.Fatalf("Entries before: %d, %v", len(linked), err)
	}
	var r erasure.Request
	var steps time.Duration
	var processes int
	pc := e.explainCalls(func() {
		t0 := time.Now()
		req, created, err := k.Engine().Submit(gdpr.WithActor(ctx, gdpr.SubjectActor()),
			erasure.Submission{Kind: gdpr.KindErasure, Subject: s, Authenticated: true})
		if err != nil || !created {
			t.Fatalf("Submit: %v, %v", created, err)
		}
		r = req
		for deadline := time.Now().Add(2 * time.Minute); r.State.Open() && time.Now().Before(deadline); {
			if wait := time.Until(r.NextAt); wait > 0 {
				time.Sleep(min(wait, time.Second))
			}
			processes++
			r, err = k.Engine().Process(ctx, r.ID)
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
		}
		steps = time.Since(t0)
	})
	if r.State != erasure.StateCompleted {
		t.Fatalf("erasure %s; steps %+v", r.State, r.Steps)
	}
	var names []string
	for _, st := range r.Steps {
		names = append(names, fmt.Sprintf("%s %s %d", st.Target, st.Outcome, st.Count))
	}
	e.figure(sec, "erasure of one subject (Submit + Process until closed)", fmt.Sprintf("%v, %d Process calls; steps: %s; among %d consent subjects, %d key records, %d audit entries",
		us(steps), processes, strings.Join(names, ", "), e.sz.subjects, e.sz.keys, e.sz.audit))
	e.figure(sec, "EXPLAIN of every statement it ran", pc.String())
	for _, l := range pc.lines {
		t.Logf("erasure statement: %s", l)
	}
	e.rep.addf("Erasure statements (distinct texts, with the scans of their custom and generic plans):\n\n%s", "- "+strings.Join(pc.lines, "\n- "))
	if len(pc.seqBig) > 0 {
		t.Errorf("the erasure reads a big table sequentially:\n%s", strings.Join(pc.seqBig, "\n"))
	}
	// What is left of the subject, and of a bystander.
	if hist, err := k.Ledger().History(ctx, s, ""); err != nil || len(hist) != 0 {
		t.Errorf("History after: %d events, %v", len(hist), err)
	}
	if es, err := k.Trail().Entries(ctx, audit.Filter{Subject: s, Limit: 10}); err != nil || len(es) != 0 {
		t.Errorf("Entries after: %d, %v", len(es), err)
	}
	if n := e.count("SELECT count(*) FROM "+prefix+"crypto_keys WHERE ref = $1 AND shredded_us IS NOT NULL", k.Keyring().Ref(s)); n != 1 {
		t.Errorf("the subject's key record is not a tombstone (%d)", n)
	}
	if hist, err := k.Ledger().History(ctx, other, ""); err != nil || len(hist) == 0 {
		t.Errorf("a bystander's History after: %d events, %v", len(hist), err)
	}
}
