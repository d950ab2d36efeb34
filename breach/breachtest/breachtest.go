// Package breachtest checks that a breach.Store keeps the contract the
// breach package relies on: RunStoreTests is the conformance suite that
// membreach and sqlbreach pass, and that a host's own Store can run.
package breachtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/breach"
	"github.com/google/uuid"
)

// NewStore returns two handles on one fresh, empty store: what one writes
// the other reads (two processes on one database; for an in-memory store,
// the same Store twice).
type NewStore func(t *testing.T) (s, other breach.Store)

// RunStoreTests runs the conformance suite, one subtest per behaviour,
// each on a fresh store.
func RunStoreTests(t *testing.T, newStore NewStore) {
	t.Helper()
	for _, c := range []struct {
		name string
		fn   func(*testing.T, breach.Store, breach.Store)
	}{
		{"AppendAndEvents", testAppendAndEvents},
		{"AppendConflict", testAppendConflict},
		{"AppendGap", testAppendGap},
		{"AppendInvalid", testAppendInvalid},
		{"EventsNotFound", testEventsNotFound},
		{"EventsAreCopies", testEventsAreCopies},
		{"Breaches", testBreaches},
		{"BreachesLimit", testBreachesLimit},
		{"Claim", testClaim},
		{"ClaimUnknownBreach", testClaimUnknownBreach},
		{"Settle", testSettle},
		{"NoticeInvalid", testNoticeInvalid},
		{"Notices", testNotices},
		{"RaceAppend", testRaceAppend},
		{"RaceClaim", testRaceClaim},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, other := newStore(t)
			c.fn(t, s, other)
		})
	}
}

// NewID returns a new breach ID.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

var t0 = time.Date(2026, 3, 2, 9, 30, 0, 123456000, time.UTC)

// Event returns event seq of breach id: KindRecorded for 1, KindUpdated
// after, with a small JSON body.
func Event(id string, seq int64) breach.Event {
	k := breach.KindUpdated
	if seq == 1 {
		k = breach.KindRecorded
	}
	return breach.Event{Breach: id, Seq: seq, Time: t0.Add(time.Duration(seq) * time.Second), Kind: k,
		Data: fmt.Appendf(nil, `{"description":"event %d \u00e9\u0000"}`, seq)}
}

func record(t *testing.T, s breach.Store, id string, n int64) {
	t.Helper()
	for seq := int64(1); seq <= n; seq++ {
		if err := s.Append(context.Background(), Event(id, seq)); err != nil {
			t.Fatalf("Append(%d): %v", seq, err)
		}
	}
}

// Ref returns the i-th test subject reference.
func Ref(i int) []byte {
	r := bytes.Repeat([]byte{byte(i)}, 32)
	r[0] = byte(i >> 8)
	return r
}

func testAppendAndEvents(t *testing.T, s, other breach.Store) {
	id := NewID()
	record(t, s, id, 3)
	evs, err := other.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("Events: %d events, want 3", len(evs))
	}
	for i, ev := range evs {
		want := Event(id, int64(i+1))
		if ev.Breach != id || ev.Seq != want.Seq || ev.Kind != want.Kind || !ev.Time.Equal(want.Time) ||
			ev.Time.Location() != time.UTC || !bytes.Equal(ev.Data, want.Data) {
			t.Errorf("event %d = %+v, want %+v (times to the microsecond, in UTC; Data byte for byte)", i, ev, want)
		}
	}
}

func testAppendConflict(t *testing.T, s, other breach.Store) {
	ctx := context.Background()
	id := NewID()
	record(t, s, id, 2)
	ev := Event(id, 2)
	ev.Data = []byte(`{"description":"the loser"}`)
	if err := other.Append(ctx, ev); !errors.Is(err, breach.ErrConflict) {
		t.Errorf("Append of a Seq stored already = %v, want ErrConflict", err)
	}
	first := Event(id, 1)
	if err := other.Append(ctx, first); !errors.Is(err, breach.ErrConflict) {
		t.Errorf("Append of Seq 1 of an existing breach = %v, want ErrConflict", err)
	}
	evs, err := s.Events(ctx, id)
	if err != nil || len(evs) != 2 || !bytes.Equal(evs[1].Data, Event(id, 2).Data) {
		t.Errorf("after the refused Appends: %d events, %v; the first writer's must stand", len(evs), err)
	}
}

func testAppendGap(t *testing.T, s, _ breach.Store) {
	ctx := context.Background()
	id := NewID()
	if err := s.Append(ctx, Event(id, 2)); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Append of Seq 2 of a new breach = %v, want ErrInvalid", err)
	}
	record(t, s, id, 1)
	if err := s.Append(ctx, Event(id, 3)); !errors.Is(err, breach.ErrInvalid) {
		t.Errorf("Append leaving a gap = %v, want ErrInvalid", err)
	}
	if evs, _ := s.Events(ctx, id); len(evs) != 1 {
		t.Errorf("%d events after the refused Appends, want 1", len(evs))
	}
}

func testAppendInvalid(t *testing.T, s, _ breach.Store) {
	ctx := context.Background()
	id := NewID()
	for name, mod := range map[string]func(*breach.Event){
		"bad ID":       func(e *breach.Event) { e.Breach = "not-a-uuid" },
		"empty ID":     func(e *breach.Event) { e.Breach = "" },
		"Seq 0":        func(e *breach.Event) { e.Seq = 0 },
		"zero time":    func(e *breach.Event) { e.Time = time.Time{} },
		"unknown kind": func(e *breach.Event) { e.Kind = "exploded" },
		"bad JSON":     func(e *breach.Event) { e.Data = []byte(`{"a":`) },
		"no data":      func(e *breach.Event) { e.Data = nil },
	} {
		ev := Event(id, 1)
		mod(&ev)
		if err := s.Append(ctx, ev); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("%s: Append = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Events(ctx, id); !errors.Is(err, breach.ErrNotFound) {
		t.Errorf("after refused Appends, Events = %v, want ErrNotFound", err)
	}
	if ids, _ := s.Breaches(ctx, "", breach.MaxPage); len(ids) != 0 {
		t.Errorf("refused Appends left breaches %v", ids)
	}
}

func testEventsNotFound(t *testing.T, s, _ breach.Store) {
	if _, err := s.Events(context.Background(), NewID()); !errors.Is(err, breach.ErrNotFound) {
		t.Errorf("Events of an unknown breach = %v, want ErrNotFound", err)
	}
}

func testEventsAreCopies(t *testing.T, s, _ breach.Store) {
	ctx := context.Background()
	id := NewID()
	ev := Event(id, 1)
	data := ev.Data
	if err := s.Append(ctx, ev); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X' // the caller's slice, after Append
	evs, err := s.Events(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	evs[0].Data[1] = 'Y' // a returned slice
	again, _ := s.Events(ctx, id)
	if !bytes.Equal(again[0].Data, Event(id, 1).Data) {
		t.Errorf("stored Data changed through a caller's slice: %q", again[0].Data)
	}
}

func testBreaches(t *testing.T, s, other breach.Store) {
	ctx := context.Background()
	var ids []string
	for range 7 {
		id := NewID()
		ids = append(ids, id)
		record(t, s, id, 2)
	}
	var got []string
	after := ""
	for {
		page, err := other.Breaches(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1]
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("Breaches paged by 3 = %v, want %v (each once, ascending)", got, ids)
	}
}

func testBreachesLimit(t *testing.T, s, _ breach.Store) {
	for _, n := range []int{0, -1, breach.MaxPage + 1} {
		if _, err := s.Breaches(context.Background(), "", n); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("Breaches(limit %d) = %v, want ErrInvalid", n, err)
		}
	}
}

func notice(id string, i int, o breach.Outcome) breach.Notice {
	return breach.Notice{Breach: id, Ref: Ref(i), Time: t0.Add(time.Hour), Outcome: o}
}

func testClaim(t *testing.T, s, other breach.Store) {
	ctx := context.Background()
	id := NewID()
	record(t, s, id, 1)
	claim := func(st breach.Store, i int) bool {
		t.Helper()
		ok, err := st.Claim(ctx, notice(id, i, breach.Pending), false)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		return ok
	}
	if !claim(s, 1) {
		t.Fatal("Claim of a new notice = false, want true")
	}
	if claim(other, 1) {
		t.Error("Claim of a Pending notice = true, want false (it may have gone out)")
	}
	for i, o := range map[int]breach.Outcome{2: breach.Sent, 3: breach.Skipped, 4: breach.Failed} {
		if !claim(s, i) {
			t.Fatalf("Claim %d = false", i)
		}
		if err := s.Settle(ctx, notice(id, i, o)); err != nil {
			t.Fatalf("Settle %s: %v", o, err)
		}
		if got, want := claim(other, i), o == breach.Failed; got != want {
			t.Errorf("Claim of a %s notice = %v, want %v", o, got, want)
		}
	}
	// A Skipped notice is taken back by a Claim with skipped true (the
	// ground of Art. 34(3) no longer relied on); a Sent one never.
	for i, o := range map[int]breach.Outcome{5: breach.Sent, 6: breach.Skipped} {
		if !claim(s, i) {
			t.Fatalf("Claim %d = false", i)
		}
		if err := s.Settle(ctx, notice(id, i, o)); err != nil {
			t.Fatal(err)
		}
		ok, err := other.Claim(ctx, notice(id, i, breach.Pending), true)
		if err != nil {
			t.Fatal(err)
		}
		if want := o == breach.Skipped; ok != want {
			t.Errorf("Claim(skipped true) of a %s notice = %v, want %v", o, ok, want)
		}
	}
	if ok, _ := other.Claim(ctx, notice(id, 1, breach.Pending), true); ok {
		t.Error("Claim(skipped true) of a Pending notice = true")
	}
}

func testClaimUnknownBreach(t *testing.T, s, _ breach.Store) {
	if _, err := s.Claim(context.Background(), notice(NewID(), 1, breach.Pending), false); !errors.Is(err, breach.ErrNotFound) {
		t.Errorf("Claim for an unknown breach = %v, want ErrNotFound", err)
	}
}

func testSettle(t *testing.T, s, other breach.Store) {
	ctx := context.Background()
	id := NewID()
	record(t, s, id, 1)
	if err := s.Settle(ctx, notice(id, 1, breach.Sent)); !errors.Is(err, breach.ErrNotFound) {
		t.Errorf("Settle of an unclaimed notice = %v, want ErrNotFound", err)
	}
	if ok, err := s.Claim(ctx, notice(id, 1, breach.Pending), false); !ok || err != nil {
		t.Fatalf("Claim = %v, %v", ok, err)
	}
	if err := other.Settle(ctx, notice(id, 1, breach.Failed)); err != nil {
		t.Fatalf("Settle Failed: %v", err)
	}
	if ok, err := s.Claim(ctx, notice(id, 1, breach.Pending), false); !ok || err != nil {
		t.Fatalf("Claim after Failed = %v, %v", ok, err)
	}
	if err := s.Settle(ctx, notice(id, 1, breach.Sent)); err != nil {
		t.Fatalf("Settle Sent: %v", err)
	}
	if err := other.Settle(ctx, notice(id, 1, breach.Failed)); !errors.Is(err, breach.ErrConflict) {
		t.Errorf("Settle of a Sent notice = %v, want ErrConflict", err)
	}
	ns, err := other.Notices(ctx, id, nil, 10)
	if err != nil || len(ns) != 1 || ns[0].Outcome != breach.Sent || !bytes.Equal(ns[0].Ref, Ref(1)) ||
		!ns[0].Time.Equal(t0.Add(time.Hour)) || ns[0].Breach != id {
		t.Errorf("Notices = %+v, %v; want the one Sent notice", ns, err)
	}
}

func testNoticeInvalid(t *testing.T, s, _ breach.Store) {
	ctx := context.Background()
	id := NewID()
	record(t, s, id, 1)
	for name, n := range map[string]breach.Notice{
		"short ref":   {Breach: id, Ref: []byte{1, 2}, Time: t0, Outcome: breach.Pending},
		"bad breach":  {Breach: "x", Ref: Ref(1), Time: t0, Outcome: breach.Pending},
		"zero time":   {Breach: id, Ref: Ref(1), Outcome: breach.Pending},
		"not pending": {Breach: id, Ref: Ref(1), Time: t0, Outcome: breach.Sent},
	} {
		if _, err := s.Claim(ctx, n, false); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("Claim, %s = %v, want ErrInvalid", name, err)
		}
	}
	if ok, _ := s.Claim(ctx, notice(id, 1, breach.Pending), false); !ok {
		t.Fatal("Claim")
	}
	for _, o := range []breach.Outcome{breach.Pending, "lost", ""} {
		if err := s.Settle(ctx, notice(id, 1, o)); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("Settle with outcome %q = %v, want ErrInvalid", o, err)
		}
	}
	for _, n := range []int{0, breach.MaxPage + 1} {
		if _, err := s.Notices(ctx, id, nil, n); !errors.Is(err, breach.ErrInvalid) {
			t.Errorf("Notices(limit %d) = %v, want ErrInvalid", n, err)
		}
	}
}

func testNotices(t *testing.T, s, other breach.Store) {
	ctx := context.Background()
	id, otherID := NewID(), NewID()
	record(t, s, id, 1)
	record(t, s, otherID, 1)
	for _, i := range []int{300, 5, 7, 1, 256, 2} {
		if ok, err := s.Claim(ctx, notice(id, i, breach.Pending), false); !ok || err != nil {
			t.Fatalf("Claim %d: %v %v", i, ok, err)
		}
	}
	if ok, err := s.Claim(ctx, notice(otherID, 9, breach.Pending), false); !ok || err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	var after []byte
	for {
		ns, err := other.Notices(ctx, id, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			if n.Breach != id {
				t.Errorf("a notice of another breach")
			}
			got = append(got, n.Ref)
		}
		if len(ns) < 4 {
			break
		}
		after = ns[len(ns)-1].Ref
	}
	want := [][]byte{Ref(1), Ref(2), Ref(5), Ref(7), Ref(256), Ref(300)}
	if len(got) != len(want) {
		t.Fatalf("Notices paged: %d refs, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("ref %d = %x, want %x (ascending bytes)", i, got[i], want[i])
		}
	}
}

func testRaceAppend(t *testing.T, s, other breach.Store) {
	ctx := context.Background()
	id := NewID()
	record(t, s, id, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for g := range 8 {
		st := s
		if g%2 == 1 {
			st = other
		}
		wg.Go(func() {
			ev := Event(id, 2)
			ev.Data = fmt.Appendf(nil, `{"writer":%d}`, g)
			err := st.Append(ctx, ev)
			switch {
			case err == nil:
				mu.Lock()
				won++
				mu.Unlock()
			case !errors.Is(err, breach.ErrConflict):
				t.Errorf("a losing Append = %v, want ErrConflict", err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d concurrent Appends of one Seq succeeded, want exactly 1", won)
	}
	if evs, _ := s.Events(ctx, id); len(evs) != 2 {
		t.Errorf("%d events, want 2", len(evs))
	}
}

func testRaceClaim(t *testing.T, s, other breach.Store) {
	ctx := context.Background()
	id := NewID()
	record(t, s, id, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for g := range 8 {
		st := s
		if g%2 == 1 {
			st = other
		}
		wg.Go(func() {
			ok, err := st.Claim(ctx, notice(id, 1, breach.Pending), false)
			if err != nil {
				t.Errorf("Claim: %v", err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d concurrent Claims of one notice won, want exactly 1 (a subject is told once)", won)
	}
}
