package breach_test

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests name, on a machine without a zone database

	"github.com/gdprkit/gdpr/breach"
)

// mustLoc loads a zone; with time/tzdata embedded it cannot be missing,
// so a failure is a failure, never a skipped case.
func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("no zone %s: %v", name, err)
	}
	return loc
}

// TestClock: the 72 hours of Art. 33(1) counted by Reg. 1182/71: the hour
// of awareness does not count, the period runs 72 elapsed hours from the
// start of the next hour, and nothing moves to a working day.
func TestClock(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	kolkata := mustLoc(t, "Asia/Kolkata")
	for _, c := range []struct {
		name       string
		aware      time.Time
		loc        *time.Location
		start, due string // in loc, "2006-01-02 15:04"
	}{
		{"mid-hour", time.Date(2026, 5, 12, 10, 17, 0, 0, berlin), berlin, "2026-05-12 11:00", "2026-05-15 11:00"},
		{"on the hour: that hour does not count", time.Date(2026, 5, 12, 10, 0, 0, 0, berlin), berlin, "2026-05-12 11:00", "2026-05-15 11:00"},
		{"last nanosecond of an hour", time.Date(2026, 5, 12, 10, 59, 59, 999999999, berlin), berlin, "2026-05-12 11:00", "2026-05-15 11:00"},
		{"day boundary", time.Date(2026, 5, 12, 23, 30, 0, 0, berlin), berlin, "2026-05-13 00:00", "2026-05-16 00:00"},
		{"Friday afternoon: due Monday, no working-day roll-over", time.Date(2026, 5, 15, 16, 5, 0, 0, berlin), berlin, "2026-05-15 17:00", "2026-05-18 17:00"},
		{"Saturday: due Tuesday", time.Date(2026, 5, 16, 9, 45, 0, 0, berlin), berlin, "2026-05-16 10:00", "2026-05-19 10:00"},
		{"due on a Sunday stays on the Sunday", time.Date(2026, 5, 14, 8, 20, 0, 0, berlin), berlin, "2026-05-14 09:00", "2026-05-17 09:00"},
		{"month end", time.Date(2026, 4, 29, 22, 10, 0, 0, berlin), berlin, "2026-04-29 23:00", "2026-05-02 23:00"},
		{"year end", time.Date(2026, 12, 30, 18, 1, 0, 0, time.UTC), time.UTC, "2026-12-30 19:00", "2027-01-02 19:00"},
		{"leap day", time.Date(2028, 2, 27, 12, 30, 0, 0, time.UTC), time.UTC, "2028-02-27 13:00", "2028-03-01 13:00"},
		// Summer time begins on 29 March 2026 at 02:00 CET: 72 elapsed
		// hours end one hour later on the wall clock.
		{"across the start of summer time", time.Date(2026, 3, 27, 10, 17, 0, 0, berlin), berlin, "2026-03-27 11:00", "2026-03-30 12:00"},
		// It ends on 25 October 2026 at 03:00 CEST: one hour earlier.
		{"across the end of summer time", time.Date(2026, 10, 23, 10, 17, 0, 0, berlin), berlin, "2026-10-23 11:00", "2026-10-26 10:00"},
		// In the repeated hour 02:00–03:00 of 25 October, the first pass
		// (CEST) and the second (CET) are different hours.
		{"in the repeated hour, first pass", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), berlin, "2026-10-25 02:00", "2026-10-28 02:00"},
		{"in the repeated hour, second pass", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), berlin, "2026-10-25 03:00", "2026-10-28 03:00"},
		{"a zone half an hour off UTC counts its own hours", time.Date(2026, 5, 12, 10, 17, 0, 0, kolkata), kolkata, "2026-05-12 11:00", "2026-05-15 11:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := breach.NewClock(c.aware, c.loc)
			if got := k.Start.In(c.loc).Format("2006-01-02 15:04"); got != c.start {
				t.Errorf("Start = %s, want %s", got, c.start)
			}
			if got := k.Due.In(c.loc).Format("2006-01-02 15:04"); got != c.due {
				t.Errorf("Due = %s, want %s", got, c.due)
			}
			if d := k.Due.Sub(k.Start); d != 72*time.Hour {
				t.Errorf("period of %v, want 72 elapsed hours", d)
			}
			if k.Due.Location() != c.loc || k.Aware.Location() != c.loc {
				t.Errorf("times not in the controller's zone")
			}
			if k.Late(k.Due.Add(-time.Nanosecond)) || !k.Late(k.Due) {
				t.Errorf("Late: in time before Due, late at Due")
			}
		})
	}
	// A repeated hour in the first pass is still reported in its own
	// offset: 02:30 CEST.
	k := breach.NewClock(time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), berlin)
	if _, off := k.Start.Zone(); off != 3600 {
		t.Errorf("start of the hour after 02:30 CEST is 02:00 CET (+01:00), got offset %d", off)
	}
	if k := breach.NewClock(time.Date(2026, 5, 12, 10, 17, 0, 0, time.UTC), nil); k.Due.Location() != time.UTC {
		t.Errorf("a nil zone is UTC")
	}
}
