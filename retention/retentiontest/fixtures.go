package retentiontest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the suite's times in Europe/Berlin, on systems without a zone database

	"github.com/google/uuid"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

// base is the suite's clock: a fixed UTC instant in 2025, so a store's
// own clock plays no part.
var base = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

// at returns base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// ttl is the suite's lease time: 10 minutes.
const ttl = 10 * time.Minute

const (
	alice gdpr.SubjectID = "subject-alice"
	bob   gdpr.SubjectID = "subject-bob"
	carol gdpr.SubjectID = "subject-carol"
)

var (
	legal  = gdpr.Staff("staff-legal-7")
	system = gdpr.System("retention")
)

// berlin is the non-UTC zone of the suite's times; loaded once.
var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("retentiontest: the time zone database has no %s: %v", name, err))
	}
	return loc
}

// newHold returns a valid hold of id on subject (empty for none) and
// categories, placed an hour before base by staff, with no Until.
func newHold(id string, subject gdpr.SubjectID, categories ...string) retention.Hold {
	return retention.Hold{
		ID: id, Subject: subject, Categories: categories,
		Reason: "claim pending before the Regional Court", PlacedBy: legal, Placed: at(-60),
	}
}

func mustPlace(t *testing.T, s retention.Store, hs ...retention.Hold) {
	t.Helper()
	for _, h := range hs {
		if err := s.PlaceHold(t.Context(), cloneHold(h)); err != nil {
			t.Fatalf("PlaceHold(a valid hold %s): %v; want nil", h.ID, err)
		}
	}
}

func mustGet(t *testing.T, s retention.Store, id string) retention.Hold {
	t.Helper()
	h, err := s.GetHold(t.Context(), id)
	if err != nil {
		t.Fatalf("GetHold(%s) of a hold placed: %v; want it", id, err)
	}
	return h
}

func mustList(t *testing.T, s retention.Store, f retention.HoldFilter) []retention.Hold {
	t.Helper()
	hs, err := s.ListHolds(t.Context(), f)
	if err != nil {
		t.Fatalf("ListHolds(%s): %v; want nil", showFilter(f), err)
	}
	return hs
}

func mustHolds(t *testing.T, s retention.Store, subject gdpr.SubjectID, now time.Time) []gdpr.Hold {
	t.Helper()
	hs, err := s.Holds(t.Context(), subject, now)
	if err != nil {
		t.Fatalf("Holds(a subject, %s): %v; want nil", showTime(now), err)
	}
	return hs
}

func mustRelease(t *testing.T, s retention.Store, id string, when time.Time, by gdpr.Actor) retention.Hold {
	t.Helper()
	h, err := s.ReleaseHold(t.Context(), id, when, by)
	if err != nil {
		t.Fatalf("ReleaseHold(%s, %s): %v; want nil", id, showTime(when), err)
	}
	return h
}

func mustAcquire(t *testing.T, s retention.Store, name, owner string, now time.Time) retention.Lease {
	t.Helper()
	l, err := s.AcquireSweep(t.Context(), name, owner, now, ttl)
	if err != nil {
		t.Fatalf("AcquireSweep(%s, %s, %s, %s) with no live lease: %v; want the lease (%s)", name, owner, showTime(now), ttl, err, acquireContract)
	}
	return l
}

func mustSave(t *testing.T, s retention.Store, l retention.Lease, sw retention.Sweep, now, until time.Time) {
	t.Helper()
	if err := s.SaveSweep(t.Context(), l, cloneSweep(sw), now, until); err != nil {
		t.Fatalf("SaveSweep(%s) with the lease held at %s: %v; want nil (%s)", l.Name, showTime(now), err, saveContract)
	}
}

func mustLast(t *testing.T, s retention.Store, name string) retention.Sweep {
	t.Helper()
	sw, err := s.LastSweep(t.Context(), name)
	if err != nil {
		t.Fatalf("LastSweep(%s) after a SaveSweep: %v; want the checkpoint (%s)", name, err, lastContract)
	}
	return sw
}

func cloneHold(h retention.Hold) retention.Hold {
	h.Categories = slices.Clone(h.Categories)
	return h
}

func cloneSweep(sw retention.Sweep) retention.Sweep {
	sw.Targets = slices.Clone(sw.Targets)
	return sw
}

func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

func showTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339Nano)
}

// timeDiff says how got differs from want truncated to the microsecond,
// compared as instants; "" if they are equal.
func timeDiff(got, want time.Time) string {
	want = micro(want)
	if got.Equal(want) && got.IsZero() == want.IsZero() {
		return ""
	}
	return fmt.Sprintf("got %s, want %s", showTime(got), showTime(want))
}

func showFilter(f retention.HoldFilter) string {
	var parts []string
	if f.Subject != "" {
		parts = append(parts, "Subject: a subject")
	}
	if f.Category != "" {
		parts = append(parts, "Category: "+f.Category)
	}
	if !f.InForce.IsZero() {
		parts = append(parts, "InForce: "+showTime(f.InForce))
	}
	if f.After != "" {
		parts = append(parts, "After: "+f.After)
	}
	if f.Limit != 0 {
		parts = append(parts, fmt.Sprintf("Limit: %d", f.Limit))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// holdDiff lists how got differs from want as a Store keeps it: every
// time to the microsecond, Categories in the order placed (nil and empty
// alike).
func holdDiff(got, want retention.Hold) []string {
	var d []string
	if got.ID != want.ID {
		d = append(d, fmt.Sprintf("ID: got %q, want %q", got.ID, want.ID))
	}
	// The subject is compared, never printed.
	if got.Subject != want.Subject {
		d = append(d, "Subject: not the one placed")
	}
	if !slices.Equal(got.Categories, want.Categories) {
		d = append(d, fmt.Sprintf("Categories: got %q, want %q (in the order placed)", got.Categories, want.Categories))
	}
	if got.Reason != want.Reason {
		d = append(d, "Reason: not the one placed")
	}
	if got.PlacedBy != want.PlacedBy {
		d = append(d, fmt.Sprintf("PlacedBy: got %s, want %s", got.PlacedBy.Kind, want.PlacedBy.Kind))
	}
	if s := timeDiff(got.Placed, want.Placed); s != "" {
		d = append(d, "Placed: "+s)
	}
	if s := timeDiff(got.Until, want.Until); s != "" {
		d = append(d, "Until: "+s)
	}
	if s := timeDiff(got.Released, want.Released); s != "" {
		d = append(d, "Released: "+s)
	}
	if got.ReleasedBy != want.ReleasedBy {
		d = append(d, fmt.Sprintf("ReleasedBy: got %q, want %q", got.ReleasedBy.Kind, want.ReleasedBy.Kind))
	}
	return d
}

// wantHold fails t if got, returned by call, is not want as the Store
// keeps it.
func wantHold(t *testing.T, call string, got, want retention.Hold) {
	t.Helper()
	if d := holdDiff(got, want); len(d) > 0 {
		t.Errorf("%s returned a hold that differs from the one stored (%s):\n\t%s", call, roundTripContract, strings.Join(d, "\n\t"))
	}
}

// legalDiff lists how got differs from want.Legal(), the times to the
// microsecond.
func legalDiff(got gdpr.Hold, want retention.Hold) []string {
	w := want.Legal()
	var d []string
	if got.ID != w.ID {
		d = append(d, fmt.Sprintf("ID: got %q, want %q", got.ID, w.ID))
	}
	if !slices.Equal(got.Categories, w.Categories) {
		d = append(d, fmt.Sprintf("Categories: got %q, want %q", got.Categories, w.Categories))
	}
	if s := timeDiff(got.Until, w.Until); s != "" {
		d = append(d, "Until: "+s+" (the earlier of Until and Released)")
	}
	if got.Reason != w.Reason {
		d = append(d, "Reason: not the hold's")
	}
	return d
}

func holdIDs(hs []retention.Hold) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func legalIDs(hs []gdpr.Hold) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

// wantIDs fails t unless got, the IDs call returned, are want.
func wantIDs(t *testing.T, call string, got, want []string, contract string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s returned holds %q; want %q: %s", call, got, want, contract)
	}
}

// newSweepID returns a random UUID, as a Sweep's ID.
func newSweepID() string { return uuid.NewString() }

// fullSweep returns a checkpoint of name with every field of every
// TargetSweep set in one target or another: times with nanoseconds in
// Berlin, a deleting, an anonymising and a reviewing target, a cursor, a
// target done and one held, counts, batches and a Longest with
// nanoseconds. It is not Finished.
func fullSweep(name string) retention.Sweep {
	started := time.Date(2025, time.March, 3, 3, 0, 0, 123456789, berlin)
	cutoff := time.Date(2024, time.March, 4, 0, 0, 0, 0, berlin)
	return retention.Sweep{
		Name:    name,
		ID:      newSweepID(),
		Started: started,
		Targets: []retention.TargetSweep{
			{Target: "orders", Category: "orders", Action: retention.Delete, Cutoff: cutoff,
				Cursor: "2024-03-01T10:00:00.000001Z|40123", Done: true,
				Acted: 123456, HeldRecords: 17, Batches: 1235, Longest: 1234567891 * time.Nanosecond},
			{Target: "crm-contacts", Category: "contacts", Action: retention.Anonymise, Cutoff: cutoff.AddDate(-1, 0, 0),
				Held: true, Done: true},
			{Target: "tickets", Category: "support", Action: retention.Review, Cutoff: cutoff.Add(7 * time.Hour),
				Cursor: "eyJpZCI6NDJ9", Acted: 3, Batches: 1, Longest: 987 * time.Microsecond},
			{Target: "search-index", Category: "usage", Action: retention.Delete},
		},
	}
}

// sweepDiff lists how got differs from want as a Store keeps it.
func sweepDiff(got, want retention.Sweep) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	str("Name", got.Name, want.Name)
	str("ID", got.ID, want.ID)
	if s := timeDiff(got.Started, want.Started); s != "" {
		d = append(d, "Started: "+s)
	}
	if s := timeDiff(got.Finished, want.Finished); s != "" {
		d = append(d, "Finished: "+s)
	}
	if len(got.Targets) != len(want.Targets) {
		return append(d, fmt.Sprintf("Targets: got %d, want %d", len(got.Targets), len(want.Targets)))
	}
	for i, g := range got.Targets {
		w := want.Targets[i]
		p := fmt.Sprintf("Targets[%d].", i)
		str(p+"Target", g.Target, w.Target)
		str(p+"Category", g.Category, w.Category)
		str(p+"Action", string(g.Action), string(w.Action))
		if s := timeDiff(g.Cutoff, w.Cutoff); s != "" {
			d = append(d, p+"Cutoff: "+s)
		}
		if g.Cursor != w.Cursor {
			d = append(d, fmt.Sprintf("%sCursor: got %d bytes, want %d bytes, or other bytes", p, len(g.Cursor), len(w.Cursor)))
		}
		num := func(name string, g, w any) {
			if g != w {
				d = append(d, fmt.Sprintf("%s%s: got %v, want %v", p, name, g, w))
			}
		}
		num("Done", g.Done, w.Done)
		num("Held", g.Held, w.Held)
		num("Acted", g.Acted, w.Acted)
		num("HeldRecords", g.HeldRecords, w.HeldRecords)
		num("Batches", g.Batches, w.Batches)
		num("Longest", g.Longest, w.Longest)
	}
	return d
}

// wantSweep fails t if got, returned by call, is not want as the Store
// keeps it.
func wantSweep(t *testing.T, call string, got, want retention.Sweep) {
	t.Helper()
	if d := sweepDiff(got, want); len(d) > 0 {
		t.Errorf("%s returned a checkpoint that differs from the one saved (%s):\n\t%s", call, lastContract, strings.Join(d, "\n\t"))
	}
}

// sentinels names the retention sentinels the suite expects, with the
// root sentinel each must also wrap.
var sentinels = map[error]struct {
	name, rootName string
	root           error
}{
	retention.ErrNotFound:  {"ErrNotFound", "ErrNotFound", gdpr.ErrNotFound},
	retention.ErrExists:    {"ErrExists", "ErrConflict", gdpr.ErrConflict},
	retention.ErrLeased:    {"ErrLeased", "ErrConflict", gdpr.ErrConflict},
	retention.ErrLeaseLost: {"ErrLeaseLost", "ErrConflict", gdpr.ErrConflict},
	retention.ErrInvalid:   {"ErrInvalid", "ErrInvalid", gdpr.ErrInvalid},
}

// wantErr fails t unless err, returned by call, is a *retention.Error
// wrapping target, one of the retention sentinels, and with it the root
// package's sentinel.
func wantErr(t *testing.T, err, target error, call, why string) {
	t.Helper()
	s := sentinels[target]
	var re *retention.Error
	switch {
	case err == nil:
		t.Errorf("%s: got nil error, want an error wrapping retention.%s: %s", call, s.name, why)
	case !errors.Is(err, target):
		t.Errorf("%s: got %v, want an error wrapping retention.%s: %s", call, err, s.name, why)
	case !errors.Is(err, s.root):
		t.Errorf("%s: got %v, which wraps retention.%s but not gdpr.%s; wrap the retention sentinel itself", call, err, s.name, s.rootName)
	case !errors.As(err, &re):
		t.Errorf("%s: got %v (%T), want a *retention.Error: a Store's errors are *retention.Error", call, err, err)
	}
}

// wantInvalid fails t unless err, returned by call, wraps
// retention.ErrInvalid.
func wantInvalid(t *testing.T, err error, call string) {
	t.Helper()
	wantErr(t, err, retention.ErrInvalid, call, limitsContract)
}
