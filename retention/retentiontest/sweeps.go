package retentiontest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/retention"
)

// wantLeased fails t unless AcquireSweep of name at now is ErrLeased.
func wantLeased(t *testing.T, s retention.Store, name, owner string, now time.Time, why string) {
	t.Helper()
	l, err := s.AcquireSweep(t.Context(), name, owner, now, ttl)
	wantErr(t, err, retention.ErrLeased, fmt.Sprintf("AcquireSweep(%s, %s) at %s", name, owner, showTime(now)), why)
	if err == nil && l.Token != "" {
		// Do not leave a second lease to confuse what follows.
		s.ReleaseSweep(t.Context(), l)
	}
}

// wantLost fails t unless SaveSweep is ErrLeaseLost and saved nothing:
// LastSweep still returns before (or ErrNotFound, for a zero before).
func wantLost(t *testing.T, s retention.Store, call string, l retention.Lease, sw retention.Sweep, now time.Time, before retention.Sweep) {
	t.Helper()
	err := s.SaveSweep(t.Context(), l, cloneSweep(sw), now, now.Add(time.Hour))
	wantErr(t, err, retention.ErrLeaseLost, call, saveContract)
	wantCheckpoint(t, s, l.Name, "LastSweep after "+call, before)
}

// wantCheckpoint fails t unless LastSweep of name returns want, or
// ErrNotFound for a zero want.
func wantCheckpoint(t *testing.T, s retention.Store, name, call string, want retention.Sweep) {
	t.Helper()
	got, err := s.LastSweep(t.Context(), name)
	if want.Name == "" {
		wantErr(t, err, retention.ErrNotFound, call+" (no checkpoint saved)", "LastSweep is ErrNotFound while no SaveSweep stored a checkpoint")
		return
	}
	if err != nil {
		t.Errorf("%s: %v; want the checkpoint saved", call, err)
		return
	}
	wantSweep(t, call, got, want)
}

func wantLease(t *testing.T, call string, l retention.Lease, name, owner string, until time.Time) {
	t.Helper()
	if l.Name != name || l.Owner != owner || l.Token == "" {
		t.Errorf("%s = {Name: %q, Owner: %q, Token: %d bytes}; want Name %q, Owner %q and a Token: %s", call, l.Name, l.Owner, len(l.Token), name, owner, acquireContract)
	}
	if s := timeDiff(l.Until, until); s != "" {
		t.Errorf("%s: Until %s; want now+ttl: %s", call, s, acquireContract)
	}
}

func testAcquire(t *testing.T, s retention.Store) {
	now := base.Add(123456789)
	l := mustAcquire(t, s, "nightly", "host-1", now)
	wantLease(t, "AcquireSweep(nightly, host-1, now, 10m)", l, "nightly", "host-1", now.Add(ttl))
	if len(l.Token) < 16 {
		t.Errorf("AcquireSweep returned a Token of %d bytes; want a random token of at least 16", len(l.Token))
	}
	long := mustAcquire(t, s, key("sweep-", retention.MaxKeyLen), key("owner-", retention.MaxKeyLen), now)
	wantLease(t, "AcquireSweep of a 255-byte name and owner", long, key("sweep-", retention.MaxKeyLen), key("owner-", retention.MaxKeyLen), now.Add(ttl))
	if long.Token == l.Token {
		t.Errorf("two AcquireSweeps returned one Token; want a fresh random Token each: %s", acquireContract)
	}
	wantCheckpoint(t, s, "nightly", "LastSweep of a sweep acquired, never saved", retention.Sweep{})
}

func testAcquireLeased(t *testing.T, s retention.Store) {
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	wantLeased(t, s, "nightly", "host-2", at(1), "a live lease is ErrLeased: "+acquireContract)
	wantLeased(t, s, "nightly", "host-1", at(1), "a live lease is ErrLeased, even to its own owner: "+acquireContract)
	wantLeased(t, s, "nightly", "host-2", l.Until.Add(-time.Microsecond), "a lease is live while its Until is after now: "+acquireContract)
	// The refused acquisitions changed nothing: l is still held.
	sw := fullSweep("nightly")
	mustSave(t, s, l, sw, at(2), at(20))
	wantCheckpoint(t, s, "nightly", "LastSweep", sw)
}

func testAcquireTakeover(t *testing.T, s retention.Store) {
	l1 := mustAcquire(t, s, "nightly", "host-1", at(0))
	cp := fullSweep("nightly")
	mustSave(t, s, l1, cp, at(5), at(15))
	wantLeased(t, s, "nightly", "host-2", at(14), "SaveSweep extended the lease to until: "+saveContract)

	l2 := mustAcquire(t, s, "nightly", "host-2", at(15))
	wantLease(t, "AcquireSweep at exactly the lease's Until", l2, "nightly", "host-2", at(15).Add(ttl))
	if l2.Token == l1.Token {
		t.Errorf("AcquireSweep taking a lease over returned the old lease's Token; want a fresh one: %s", acquireContract)
	}
	wantCheckpoint(t, s, "nightly", "LastSweep after a takeover", cp)

	other := fullSweep("nightly")
	other.Targets = other.Targets[:1]
	wantLost(t, s, "SaveSweep of the lease taken over", l1, other, at(16), cp)
	if err := s.ReleaseSweep(t.Context(), l1); err != nil {
		t.Errorf("ReleaseSweep of a lease taken over: %v; want nil: %s", err, releaseSwContract)
	}
	wantLeased(t, s, "nightly", "host-3", at(16), "ReleaseSweep of a lease taken over leaves the new holder's alone: "+releaseSwContract)
	mustSave(t, s, l2, other, at(16), at(30))
	wantCheckpoint(t, s, "nightly", "LastSweep after the new holder's SaveSweep", other)
}

func testAcquireInvalid(t *testing.T, s retention.Store) {
	for _, c := range []struct {
		what, name, owner string
		ttl               time.Duration
	}{
		{"an empty name", "", "host-1", ttl},
		{"a 256-byte name", key("sweep-", retention.MaxKeyLen+1), "host-1", ttl},
		{"an empty owner", "nightly", "", ttl},
		{"a 256-byte owner", "nightly", key("owner-", retention.MaxKeyLen+1), ttl},
		{"a ttl of zero", "nightly", "host-1", 0},
		{"a negative ttl", "nightly", "host-1", -time.Minute},
	} {
		_, err := s.AcquireSweep(t.Context(), c.name, c.owner, at(0), c.ttl)
		wantInvalid(t, err, "AcquireSweep with "+c.what)
	}
	mustAcquire(t, s, "nightly", "host-1", at(0))
}

func testReleaseSweep(t *testing.T, s retention.Store) {
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	cp := fullSweep("nightly")
	mustSave(t, s, l, cp, at(1), at(20))
	if err := s.ReleaseSweep(t.Context(), l); err != nil {
		t.Fatalf("ReleaseSweep of a lease held: %v; want nil", err)
	}
	wantCheckpoint(t, s, "nightly", "LastSweep after ReleaseSweep", cp)
	l2 := mustAcquire(t, s, "nightly", "host-2", at(2))
	wantLease(t, "AcquireSweep right after a ReleaseSweep", l2, "nightly", "host-2", at(2).Add(ttl))
	if err := s.ReleaseSweep(t.Context(), l); err != nil {
		t.Errorf("ReleaseSweep of a lease released already: %v; want nil: %s", err, releaseSwContract)
	}
	wantLeased(t, s, "nightly", "host-3", at(3), "ReleaseSweep of a lease released already leaves the new holder's alone: "+releaseSwContract)
	wantLost(t, s, "SaveSweep of a lease released", l, fullSweep("nightly"), at(3), cp)
}

func testSaveSweep(t *testing.T, s retention.Store) {
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	first := fullSweep("nightly")
	mustSave(t, s, l, first, at(1), at(30))
	wantCheckpoint(t, s, "nightly", "LastSweep after SaveSweep", first)
	wantLeased(t, s, "nightly", "host-2", at(20), "SaveSweep extends the lease to until: "+saveContract)

	// l.Until is still at(10): the lease is the one stored, extended.
	second := fullSweep("nightly")
	second.ID = first.ID
	second.Targets = second.Targets[:2]
	second.Finished = at(21).Add(999)
	if err := s.SaveSweep(t.Context(), l, cloneSweep(second), at(21), at(40)); err != nil {
		t.Fatalf("SaveSweep at %s of a lease that an earlier SaveSweep extended to %s, given with its Until of %s: %v; want nil: the lease held is the one stored (%s)",
			showTime(at(21)), showTime(at(30)), showTime(l.Until), err, saveContract)
	}
	wantCheckpoint(t, s, "nightly", "LastSweep after a second SaveSweep (the last one stored)", second)
	wantLeased(t, s, "nightly", "host-2", at(40).Add(-time.Microsecond), "SaveSweep extends the lease to until: "+saveContract)
	l2 := mustAcquire(t, s, "nightly", "host-2", at(40))
	wantLease(t, "AcquireSweep at the Until a SaveSweep set", l2, "nightly", "host-2", at(40).Add(ttl))
}

func testSweepRoundTrip(t *testing.T, s retention.Store) {
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	sw := fullSweep("nightly")
	mustSave(t, s, l, sw, at(1), at(20))
	wantCheckpoint(t, s, "nightly", "LastSweep of a sweep interrupted (Finished zero)", sw)

	sw.Finished = time.Date(2025, time.March, 3, 10, 0, 1, 987654321, berlin)
	sw.Targets[3].Cutoff = sw.Started.Add(-24 * time.Hour)
	sw.Targets[3].Done = true
	mustSave(t, s, l, sw, at(2), at(20))
	wantCheckpoint(t, s, "nightly", "LastSweep of a sweep finished", sw)

	empty := retention.Sweep{Name: "nightly", ID: newSweepID(), Started: at(3), Finished: at(3)}
	mustSave(t, s, l, empty, at(3), at(20))
	wantCheckpoint(t, s, "nightly", "LastSweep of a sweep with no targets", empty)
}

func testSweepLimits(t *testing.T, s retention.Store) {
	name := key("sweep-", retention.MaxKeyLen)
	l := mustAcquire(t, s, name, "host-1", at(0))
	sw := retention.Sweep{Name: name, ID: newSweepID(), Started: at(0)}
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_|:.=+/"
	for i := range retention.MaxTargets {
		var b strings.Builder
		for j := range retention.MaxCursorLen {
			b.WriteByte(alphabet[(i+j*7)%len(alphabet)])
		}
		sw.Targets = append(sw.Targets, retention.TargetSweep{
			Target: key(fmt.Sprintf("target-%03d-", i), retention.MaxKeyLen), Category: key(fmt.Sprintf("category-%03d-", i), retention.MaxKeyLen),
			Action: retention.Delete, Cutoff: at(-i), Cursor: b.String(), Acted: int64(i) << 40, Batches: int64(i), Longest: time.Duration(i) * time.Second,
		})
	}
	if err := s.SaveSweep(t.Context(), l, cloneSweep(sw), at(1), at(20)); err != nil {
		t.Fatalf("SaveSweep of a checkpoint at every limit (a %d-byte name, %d targets, each a %d-byte cursor and %d-byte names): %v; want nil: %s",
			retention.MaxKeyLen, retention.MaxTargets, retention.MaxCursorLen, retention.MaxKeyLen, err, limitsContract)
	}
	wantCheckpoint(t, s, name, "LastSweep of a checkpoint at every limit", sw)
}

func testSweepNotAliased(t *testing.T, s retention.Store) {
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	sw := fullSweep("nightly")
	in := cloneSweep(sw)
	if err := s.SaveSweep(t.Context(), l, in, at(1), at(20)); err != nil {
		t.Fatalf("SaveSweep: %v", err)
	}
	in.Targets[0].Cursor, in.Targets[0].Acted = "scribbled", -1
	got := mustLast(t, s, "nightly")
	if len(got.Targets) > 0 {
		got.Targets[1].Cursor, got.Targets[1].Batches = "scribbled", -1
	}
	wantCheckpoint(t, s, "nightly", "LastSweep after the caller changed the Targets it saved and those LastSweep returned", sw)
	if t.Failed() {
		t.Errorf("%s", copyContract)
	}
}

func testSaveLost(t *testing.T, s retention.Store) {
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	sw := fullSweep("nightly")
	wantLost(t, s, "SaveSweep at exactly the lease's Until", l, sw, l.Until, retention.Sweep{})
	wantLost(t, s, "SaveSweep after the lease's Until", l, sw, l.Until.Add(time.Minute), retention.Sweep{})
	forged := l
	forged.Until = at(100)
	wantLost(t, s, "SaveSweep after the lease's Until, the Lease given with a later Until", forged, sw, l.Until.Add(time.Minute), retention.Sweep{})

	l2 := mustAcquire(t, s, "nightly", "host-2", at(20))
	bad := l2
	bad.Token = "not-" + l2.Token
	wantLost(t, s, "SaveSweep of a live lease under another Token", bad, sw, at(21), retention.Sweep{})
	never := retention.Lease{Name: "never-acquired", Owner: "host-1", Token: l2.Token, Until: at(100)}
	sw2 := fullSweep("never-acquired")
	wantLost(t, s, "SaveSweep of a sweep name never acquired", never, sw2, at(21), retention.Sweep{})

	mustSave(t, s, l2, sw, at(21), at(40))
	wantCheckpoint(t, s, "nightly", "LastSweep after the holder's SaveSweep", sw)
}

func testSaveInvalid(t *testing.T, s retention.Store) {
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	tooMany := fullSweep("nightly")
	tooMany.Targets = make([]retention.TargetSweep, retention.MaxTargets+1)
	for i := range tooMany.Targets {
		tooMany.Targets[i] = retention.TargetSweep{Target: fmt.Sprintf("t-%03d", i), Category: "orders", Action: retention.Delete}
	}
	longCursor := fullSweep("nightly")
	longCursor.Targets[2].Cursor = strings.Repeat("c", retention.MaxCursorLen+1)
	noName := l
	noName.Name = ""
	for _, c := range []struct {
		what string
		l    retention.Lease
		sw   retention.Sweep
	}{
		{"a checkpoint of another sweep name", l, fullSweep("weekly")},
		{"MaxTargets+1 targets", l, tooMany},
		{"a cursor of MaxCursorLen+1 bytes", l, longCursor},
		{"a Lease with no name", noName, fullSweep("")},
	} {
		err := s.SaveSweep(t.Context(), c.l, c.sw, at(1), at(100))
		wantInvalid(t, err, "SaveSweep with "+c.what)
	}
	wantCheckpoint(t, s, "nightly", "LastSweep after refused SaveSweeps", retention.Sweep{})
	wantCheckpoint(t, s, "weekly", "LastSweep of the other name after refused SaveSweeps", retention.Sweep{})
	// Nor did they extend the lease.
	mustAcquire(t, s, "nightly", "host-2", l.Until)

	for what, name := range map[string]string{"an empty name": "", "a 256-byte name": key("sweep-", retention.MaxKeyLen+1)} {
		_, err := s.LastSweep(t.Context(), name)
		wantInvalid(t, err, "LastSweep of "+what)
		wantInvalid(t, s.ReleaseSweep(t.Context(), retention.Lease{Name: name, Owner: "host-1", Token: l.Token}), "ReleaseSweep of a Lease with "+what)
	}
}

func testLastSweepUnknown(t *testing.T, s retention.Store) {
	_, err := s.LastSweep(t.Context(), "never-run")
	wantErr(t, err, retention.ErrNotFound, "LastSweep of a name never saved", "LastSweep is ErrNotFound if no checkpoint was saved")
	l := mustAcquire(t, s, "nightly", "host-1", at(0))
	mustSave(t, s, l, fullSweep("nightly"), at(1), at(20))
	_, err = s.LastSweep(t.Context(), "never-run")
	wantErr(t, err, retention.ErrNotFound, "LastSweep of a name never saved, in a store with another's checkpoint", "LastSweep is ErrNotFound if no checkpoint was saved")
}

func testSweepNames(t *testing.T, s retention.Store) {
	a := mustAcquire(t, s, "nightly", "host-1", at(0))
	b := mustAcquire(t, s, "weekly", "host-1", at(0))
	if a.Token == b.Token {
		t.Errorf("the leases of two sweep names have one Token; want a fresh random Token each: %s", acquireContract)
	}
	swA, swB := fullSweep("nightly"), fullSweep("weekly")
	swB.Targets = swB.Targets[1:]
	mustSave(t, s, a, swA, at(1), at(20))
	mustSave(t, s, b, swB, at(1), at(5))
	wantCheckpoint(t, s, "nightly", "LastSweep(nightly) beside another name's checkpoint", swA)
	wantCheckpoint(t, s, "weekly", "LastSweep(weekly) beside another name's checkpoint", swB)

	crossed := b
	crossed.Name = "nightly"
	wantLost(t, s, "SaveSweep of one name under the Token of another's lease", crossed, swA, at(2), swA)
	if err := s.ReleaseSweep(t.Context(), b); err != nil {
		t.Fatalf("ReleaseSweep(weekly): %v", err)
	}
	wantLeased(t, s, "nightly", "host-2", at(6), "releasing one name's lease leaves another's alone")
	mustAcquire(t, s, "weekly", "host-2", at(2))
	wantCheckpoint(t, s, "nightly", "LastSweep(nightly) after the other name changed hands", swA)
}
