package gdpr

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones are there on every machine, so no case is skipped
)

// Every expected date below was checked against a calendar (GNU date):
// the weekday of each date a case relies on is given in its comment.

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

func mustHolidays(t testing.TB, dates ...string) Holidays {
	t.Helper()
	h, err := NewHolidays(dates...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// civil parses "2006-01-02" as midnight in loc.
func civil(t testing.TB, s string, loc *time.Location) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatal(err)
	}
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
}

func instant(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkLastDay checks LastDay and Due against the expected last day.
func checkLastDay(t *testing.T, d Deadline, want string, loc *time.Location) {
	t.Helper()
	last := civil(t, want, loc)
	due := time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
	if !d.LastDay.Equal(last) || d.LastDay.Location() != loc {
		t.Errorf("LastDay = %v, want %v", d.LastDay, last)
	}
	if !d.Due.Equal(due) || d.Due.Location() != loc {
		t.Errorf("Due = %v, want %v", d.Due, due)
	}
}

func TestNewDeadline(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	german := mustHolidays(t, "2025-12-25", "2025-12-26", "2026-01-01",
		"2026-04-03", "2026-04-06", "2026-05-01")
	tests := []struct {
		name     string
		received string // RFC 3339
		loc      *time.Location
		cal      Calendar
		want     string // last day, in loc
	}{
		{"mid-month", "2026-03-10T10:00:00Z", time.UTC, nil,
			"2026-04-10"}, // Fri
		{"31 Jan, non-leap year", "2025-01-31T10:00:00Z", time.UTC, nil,
			"2025-02-28"}, // Fri
		{"31 Jan, leap year", "2024-01-31T10:00:00Z", time.UTC, nil,
			"2024-02-29"}, // Thu
		{"31 Mar to 30 Apr", "2026-03-31T10:00:00Z", time.UTC, nil,
			"2026-04-30"}, // Thu
		{"31 May to 30 Jun", "2026-05-31T10:00:00Z", time.UTC, nil,
			"2026-06-30"}, // Tue
		{"31 Dec to 31 Jan", "2024-12-31T10:00:00Z", time.UTC, nil,
			"2025-01-31"}, // Fri
		{"31 Dec to Saturday 31 Jan", "2025-12-31T10:00:00Z", time.UTC, nil,
			"2026-02-02"}, // 31 Jan 2026 is a Sat; Mon 2 Feb
		{"Friday, ends Saturday", "2024-02-02T10:00:00Z", time.UTC, nil,
			"2024-03-04"}, // Fri 2 Feb 2024; Sat 2 Mar; Mon 4 Mar
		{"Friday, ends Sunday", "2026-09-25T10:00:00Z", time.UTC, nil,
			"2026-10-26"}, // Fri 25 Sep 2026; Sun 25 Oct; Mon 26 Oct
		{"31 Oct clamps to Sunday 30 Nov", "2025-10-31T10:00:00Z", time.UTC, nil,
			"2025-12-01"}, // Sun 30 Nov 2025; Mon 1 Dec
		{"30 Jan clamps to Saturday 28 Feb", "2026-01-30T10:00:00Z", time.UTC, nil,
			"2026-03-02"}, // Sat 28 Feb 2026; Mon 2 Mar
		{"holiday on the Monday after a weekend", "2026-03-04T10:00:00Z", time.UTC, german,
			"2026-04-07"}, // Sat 4 Apr 2026; Easter Monday 6 Apr; Tue 7 Apr
		{"weekend without the holiday calendar", "2026-03-04T10:00:00Z", time.UTC, nil,
			"2026-04-06"}, // Mon 6 Apr
		{"Good Friday to Easter Monday", "2026-03-03T10:00:00Z", time.UTC, german,
			"2026-04-07"}, // Fri 3 Apr 2026 holiday; Sat, Sun; Mon 6 Apr holiday; Tue 7 Apr
		{"Christmas", "2025-11-25T10:00:00Z", time.UTC, german,
			"2025-12-29"}, // Thu 25 and Fri 26 Dec 2025 holidays; Sat, Sun; Mon 29 Dec
		{"New Year", "2025-12-01T10:00:00Z", time.UTC, german,
			"2026-01-02"}, // Thu 1 Jan 2026 holiday; Fri 2 Jan
		{"near midnight, in UTC", "2026-03-31T22:30:00Z", time.UTC, nil,
			"2026-04-30"}, // Thu
		{"near midnight, next day in Berlin", "2026-03-31T22:30:00Z", berlin, nil,
			"2026-05-01"}, // 00:30 CEST on Wed 1 Apr; Fri 1 May
		{"near midnight in Berlin, Labour Day", "2026-03-31T22:30:00Z", berlin, german,
			"2026-05-04"}, // Fri 1 May holiday; Sat, Sun; Mon 4 May
		{"end of daylight saving time", "2026-09-25T10:00:00Z", berlin, nil,
			"2026-10-26"}, // Sun 25 Oct 2026 is the change; Mon 26 Oct
		{"start of daylight saving time", "2026-02-27T23:30:00Z", berlin, nil,
			"2026-03-30"}, // 00:30 CET on Sat 28 Feb; Sat 28 Mar; Sun 29 Mar is the change; Mon 30 Mar
		{"nil location is UTC", "2026-03-10T10:00:00Z", nil, nil,
			"2026-04-10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			received := instant(t, tt.received)
			d := NewDeadline(received, tt.loc, tt.cal)
			loc := tt.loc
			if loc == nil {
				loc = time.UTC
			}
			if d.Location != loc {
				t.Errorf("Location = %v, want %v", d.Location, loc)
			}
			if !d.Received.Equal(received) {
				t.Errorf("Received = %v, want %v", d.Received, received)
			}
			if d.Extended || d.ExtensionReason != "" {
				t.Errorf("new deadline is extended: %+v", d)
			}
			checkLastDay(t, d, tt.want, loc)
		})
	}
}

// TestDeadlineDST checks that instants across a daylight-saving change are
// exact: nothing adds multiples of 24 hours.
func TestDeadlineDST(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	tests := []struct {
		name     string
		received string
		lastDay  string // RFC 3339 instant of LastDay
		due      string // RFC 3339 instant of Due
	}{
		// 12:00 CEST on Fri 25 Sep; Due 00:00 CET on Tue 27 Oct.
		{"autumn", "2026-09-25T10:00:00Z", "2026-10-25T23:00:00Z", "2026-10-26T23:00:00Z"},
		// 00:30 CET on Sat 28 Feb; LastDay 00:00 CEST on Mon 30 Mar.
		{"spring", "2026-02-27T23:30:00Z", "2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDeadline(instant(t, tt.received), berlin, nil)
			if want := instant(t, tt.lastDay); !d.LastDay.Equal(want) {
				t.Errorf("LastDay = %v, want %v", d.LastDay, want)
			}
			if want := instant(t, tt.due); !d.Due.Equal(want) {
				t.Errorf("Due = %v, want %v", d.Due, want)
			}
			if got, want := d.Remaining(d.Received), instant(t, tt.due).Sub(instant(t, tt.received)); got != want {
				t.Errorf("Remaining(Received) = %v, want %v", got, want)
			}
		})
	}
	// 10:00Z on 25 Sep to 23:00Z on 26 Oct: 31 days and 13 hours.
	d := NewDeadline(instant(t, "2026-09-25T10:00:00Z"), berlin, nil)
	if got, want := d.Remaining(d.Received), 31*24*time.Hour+13*time.Hour; got != want {
		t.Errorf("Remaining across the autumn change = %v, want %v", got, want)
	}
}

func TestDeadlineExtend(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	newYear := mustHolidays(t, "2026-01-01")
	tests := []struct {
		name     string
		received string
		loc      *time.Location
		cal      Calendar
		first    string
		extended string
	}{
		{"mid-month", "2026-03-10T10:00:00Z", time.UTC, nil,
			"2026-04-10", "2026-06-10"}, // Fri; Wed
		{"31 Jan clamps twice", "2025-01-31T10:00:00Z", time.UTC, nil,
			"2025-02-28", "2025-04-28"}, // Fri; Mon (not 30 Apr, three months from receipt)
		{"from the unadjusted last day", "2025-12-31T10:00:00Z", time.UTC, nil,
			"2026-02-02", "2026-03-31"}, // Sat 31 Jan moved to Mon 2 Feb; 31 Jan + 2 months = Tue 31 Mar
		{"clamped first period", "2025-10-31T10:00:00Z", time.UTC, nil,
			"2025-12-01", "2026-01-30"}, // Sun 30 Nov moved to Mon 1 Dec; 30 Nov + 2 months = Fri 30 Jan
		{"extended end on a holiday", "2025-10-01T10:00:00Z", time.UTC, newYear,
			"2025-11-03", "2026-01-02"}, // Sat 1 Nov moved to Mon 3 Nov; Thu 1 Jan holiday; Fri 2 Jan
		{"near midnight in Berlin", "2026-03-31T22:30:00Z", berlin, nil,
			"2026-05-01", "2026-07-01"}, // received 1 Apr in Berlin; Fri 1 May; Wed 1 Jul
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDeadline(instant(t, tt.received), tt.loc, tt.cal)
			checkLastDay(t, d, tt.first, tt.loc)
			e, err := d.Extend("complexity of the request")
			if err != nil {
				t.Fatalf("Extend: %v", err)
			}
			checkLastDay(t, e, tt.extended, tt.loc)
			if !e.Extended || e.ExtensionReason != "complexity of the request" {
				t.Errorf("Extended = %v, ExtensionReason = %q", e.Extended, e.ExtensionReason)
			}
			if !e.Received.Equal(d.Received) || e.Location != d.Location {
				t.Errorf("Extend changed Received or Location")
			}
			// d itself is a value and stays as it was.
			checkLastDay(t, d, tt.first, tt.loc)
		})
	}
}

func TestDeadlineExtendErrors(t *testing.T) {
	d := NewDeadline(instant(t, "2025-01-31T10:00:00Z"), time.UTC, nil)
	for _, reason := range []string{"", " \t\n"} {
		got, err := d.Extend(reason)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Extend(%q) error = %v, want ErrInvalid", reason, err)
		}
		if got != d {
			t.Errorf("Extend(%q) changed the deadline on error", reason)
		}
	}
	e, err := d.Extend("number of requests")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Extend("number of requests")
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("second Extend error = %v, want ErrInvalid", err)
	}
	if got != e {
		t.Errorf("second Extend changed the deadline on error")
	}

	// A zero Deadline has no receipt to count from: no year-1 date.
	for _, z := range []Deadline{{}, {Location: time.UTC}} {
		got, err := z.Extend("complexity")
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Extend of a zero Deadline: error = %v, want ErrInvalid", err)
		}
		if got != z {
			t.Errorf("Extend of a zero Deadline changed it: %+v", got)
		}
	}
}

// A Deadline rebuilt from its exported fields has no Calendar and a
// possibly nil Location; Extend still works, skipping weekends only.
func TestDeadlineExtendRebuilt(t *testing.T) {
	d := NewDeadline(instant(t, "2025-10-01T10:00:00Z"), time.UTC, mustHolidays(t, "2026-01-01"))
	rebuilt := Deadline{Received: d.Received, LastDay: d.LastDay, Due: d.Due}
	e, err := rebuilt.Extend("complexity")
	if err != nil {
		t.Fatal(err)
	}
	checkLastDay(t, e, "2026-01-01", time.UTC) // Thu, no holiday known
}

func TestDeadlineOverdue(t *testing.T) {
	d := NewDeadline(instant(t, "2026-03-10T10:00:00Z"), time.UTC, nil)
	due := instant(t, "2026-04-11T00:00:00Z")
	tests := []struct {
		now       time.Time
		overdue   bool
		remaining time.Duration
	}{
		{d.Received, false, due.Sub(d.Received)},
		{due.Add(-time.Nanosecond), false, time.Nanosecond},
		{due, true, 0},
		{due.Add(time.Hour), true, -time.Hour},
		{due.In(mustLoad(t, "America/New_York")), true, 0},
	}
	for _, tt := range tests {
		if got := d.Overdue(tt.now); got != tt.overdue {
			t.Errorf("Overdue(%v) = %v, want %v", tt.now, got, tt.overdue)
		}
		if got := d.Remaining(tt.now); got != tt.remaining {
			t.Errorf("Remaining(%v) = %v, want %v", tt.now, got, tt.remaining)
		}
	}
}

// everyDay reports every day as a holiday.
type everyDay struct{}

func (everyDay) IsHoliday(int, time.Month, int) bool { return true }

func TestNewDeadlineEndlessHolidays(t *testing.T) {
	d := NewDeadline(instant(t, "2026-03-10T10:00:00Z"), time.UTC, everyDay{})
	if d.Due.Before(d.LastDay) || d.LastDay.Before(civil(t, "2026-04-10", time.UTC)) {
		t.Errorf("LastDay = %v, Due = %v", d.LastDay, d.Due)
	}
}

func TestNewHolidays(t *testing.T) {
	h, err := NewHolidays("2026-12-25", "2024-02-29")
	if err != nil {
		t.Fatal(err)
	}
	h.Add(2026, time.December, 32) // 1 Jan 2027
	var zero Holidays
	zero.Add(2026, time.May, 1)
	tests := []struct {
		cal  Calendar
		y    int
		m    time.Month
		d    int
		want bool
	}{
		{h, 2026, time.December, 25, true},
		{h, 2024, time.February, 29, true},
		{h, 2027, time.January, 1, true},
		{h, 2026, time.December, 24, false},
		{h, 2026, time.December, 32, false},
		{h, 2025, time.December, 25, false},
		{zero, 2026, time.May, 1, true},
		{Holidays{}, 2026, time.May, 1, false},
	}
	for _, tt := range tests {
		if got := tt.cal.IsHoliday(tt.y, tt.m, tt.d); got != tt.want {
			t.Errorf("IsHoliday(%d, %v, %d) = %v, want %v", tt.y, tt.m, tt.d, got, tt.want)
		}
	}

	for _, bad := range []string{"", "2026-02-30", "2025-02-29", "2026-1-5", "20261225",
		"2026-12-25T00:00:00Z", " 2026-12-25", "25.12.2026", "2026-13-01"} {
		if _, err := NewHolidays("2026-12-25", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("NewHolidays(%q) error = %v, want ErrInvalid", bad, err)
		}
	}
}

// A Berlin request received at 23:30 UTC on 31 March 2025 is received on
// 1 April in Berlin. Counted in UTC after a JSON round trip, its extended
// period would end on 30 June instead of 1 July.
func TestDeadlineJSONRoundTrip(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	d := NewDeadline(instant(t, "2025-03-31T23:30:00Z"), berlin, nil)
	checkLastDay(t, d, "2025-05-01", berlin) // Thu
	want, err := d.Extend("complexity")
	if err != nil {
		t.Fatal(err)
	}
	checkLastDay(t, want, "2025-07-01", berlin) // Tue

	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"location":"Europe/Berlin"`) {
		t.Errorf("JSON lacks the location: %s", b)
	}
	var back Deadline
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal %s: %v", b, err)
	}
	if back.Location == nil || back.Location.String() != "Europe/Berlin" {
		t.Fatalf("Location after round trip = %v", back.Location)
	}
	if !back.Received.Equal(d.Received) || back.Extended || back.ExtensionReason != "" {
		t.Errorf("round trip changed the deadline: %+v", back)
	}
	checkLastDay(t, back, "2025-05-01", back.Location)

	got, err := back.Extend("complexity")
	if err != nil {
		t.Fatal(err)
	}
	checkLastDay(t, got, "2025-07-01", got.Location)
	if !got.LastDay.Equal(want.LastDay) || !got.Due.Equal(want.Due) {
		t.Errorf("Extend after JSON: last day %v, due %v; before JSON: %v, %v",
			got.LastDay, got.Due, want.LastDay, want.Due)
	}

	// An extended deadline round-trips too, inside a struct and by pointer.
	type request struct {
		ID       string    `json:"id"`
		Deadline Deadline  `json:"deadline"`
		Ptr      *Deadline `json:"ptr"`
	}
	b, err = json.Marshal(request{ID: "r1", Deadline: want, Ptr: &want})
	if err != nil {
		t.Fatal(err)
	}
	var r request
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, e := range []Deadline{r.Deadline, *r.Ptr} {
		if !e.Extended || e.ExtensionReason != "complexity" || e.Location.String() != "Europe/Berlin" {
			t.Errorf("extended deadline after JSON: %+v", e)
		}
		checkLastDay(t, e, "2025-07-01", e.Location)
		if _, err := e.Extend("again"); !errors.Is(err, ErrInvalid) {
			t.Errorf("second Extend after JSON: %v", err)
		}
	}
}

func TestDeadlineJSONLocations(t *testing.T) {
	received := instant(t, "2026-03-10T10:00:00Z")
	tests := []struct {
		name string
		loc  *time.Location
		json string
		want *time.Location
	}{
		{"nil", nil, "UTC", time.UTC},
		{"UTC", time.UTC, "UTC", time.UTC},
		{"Local", time.Local, "Local", time.Local},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDeadline(received, time.UTC, nil)
			d.Location = tt.loc
			b, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), `"location":"`+tt.json+`"`) {
				t.Errorf("JSON = %s, want location %q", b, tt.json)
			}
			var back Deadline
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Location != tt.want {
				t.Errorf("Location = %v, want %v", back.Location, tt.want)
			}
		})
	}

	// Written before the location was encoded: counted in UTC, as before.
	var old Deadline
	if err := json.Unmarshal([]byte(`{"received":"2026-03-10T10:00:00Z","last_day":"2026-04-10T00:00:00Z","due":"2026-04-11T00:00:00Z","extended":false}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.Location != time.UTC {
		t.Errorf("missing location decoded as %v, want UTC", old.Location)
	}
	checkLastDay(t, old, "2026-04-10", time.UTC)

	// Monrovia kept an offset of -0:44:30 until 1972, which RFC 3339 cannot
	// write: the instants must survive all the same.
	if monrovia, err := time.LoadLocation("Africa/Monrovia"); err == nil {
		d := NewDeadline(time.Date(1970, 3, 10, 10, 0, 0, 0, time.UTC), monrovia, nil)
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Deadline
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !back.LastDay.Equal(d.LastDay) || !back.Due.Equal(d.Due) || !back.Received.Equal(d.Received) {
			t.Errorf("sub-minute offset: round trip changed the instants: %s", b)
		}
	}

	// A fixed zone has no IANA name to load it back by.
	for _, loc := range []*time.Location{time.FixedZone("", 3600), time.FixedZone("UTC+1", 3600),
		time.FixedZone("CET", 3600)} { // CET loads, but with summer time: 2 h on 10 Apr
		d := NewDeadline(received, loc, nil)
		if _, err := json.Marshal(d); !errors.Is(err, ErrInvalid) {
			t.Errorf("Marshal with fixed zone %q: %v, want ErrInvalid", loc, err)
		}
	}

	// Only the offsets at Received, LastDay and Due are compared (see the
	// MarshalJSON doc): a fixed zone named like an IANA zone passes when
	// they agree, and is rejected when they do not.
	winter := instant(t, "2025-11-10T10:00:00Z") // due 10 Dec: CET all along
	if _, err := json.Marshal(NewDeadline(winter, time.FixedZone("Europe/Berlin", 3600), nil)); err != nil {
		t.Errorf("Marshal with a fixed zone agreeing at the three instants: %v", err)
	}
	summer := instant(t, "2025-06-10T10:00:00Z")
	if _, err := json.Marshal(NewDeadline(summer, time.FixedZone("Europe/Berlin", 3600), nil)); !errors.Is(err, ErrInvalid) {
		t.Errorf("Marshal with a fixed zone disagreeing in summer: %v, want ErrInvalid", err)
	}

	// null leaves the value alone.
	keep := NewDeadline(received, time.UTC, nil)
	if err := json.Unmarshal([]byte("null"), &keep); err != nil || keep.Location != time.UTC {
		t.Errorf("Unmarshal(null) = %v, Location %v", err, keep.Location)
	}
}

func TestDeadlineJSONErrors(t *testing.T) {
	const reason = "CANARY-reason-91c"
	for _, in := range []string{
		`{"location":"Mars/Olympus_Mons"}`,
		`{"location":"../../etc/passwd"}`,
		`{"location":"/etc/localtime"}`,
		`{"location":"` + strings.Repeat("A", 100) + `"}`,
		`{"location":7}`,
		`{"received":"yesterday ` + reason + `"}`,
		`{"extension_reason":["` + reason + `"]}`,
		`{"due":"0000-01-01T00:00:00Z","location":"America/New_York"}`,
		`{"received":"0000-01-01T00:00:00-01:00"}`,
		`[]`, `"x"`,
	} {
		var d Deadline
		err := json.Unmarshal([]byte(in), &d)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Unmarshal(%s) error = %v, want ErrInvalid", in, err)
			continue
		}
		if strings.Contains(err.Error(), reason) {
			t.Errorf("error quotes the document: %v", err)
		}
	}
}

// The Calendar does not survive JSON; WithCalendar re-attaches it.
func TestDeadlineWithCalendar(t *testing.T) {
	newYear := mustHolidays(t, "2026-01-01")
	d := NewDeadline(instant(t, "2025-10-01T10:00:00Z"), time.UTC, newYear)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Deadline
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	e, err := back.Extend("complexity")
	if err != nil {
		t.Fatal(err)
	}
	checkLastDay(t, e, "2026-01-01", time.UTC) // Thu: the holiday is unknown
	e, err = back.WithCalendar(newYear).Extend("complexity")
	if err != nil {
		t.Fatal(err)
	}
	checkLastDay(t, e, "2026-01-02", time.UTC) // Fri, after the holiday
	// WithCalendar changes nothing else, and nil removes the calendar.
	w := back.WithCalendar(newYear)
	if !w.LastDay.Equal(back.LastDay) || !w.Due.Equal(back.Due) || w.Location != back.Location {
		t.Errorf("WithCalendar changed the deadline")
	}
	e, err = d.WithCalendar(nil).Extend("complexity")
	if err != nil {
		t.Fatal(err)
	}
	checkLastDay(t, e, "2026-01-01", time.UTC)
}

func FuzzDeadlineJSON(f *testing.F) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.UTC
	}
	for _, d := range []Deadline{
		NewDeadline(time.Date(2025, 3, 31, 23, 30, 0, 0, time.UTC), berlin, nil),
		NewDeadline(time.Date(2025, 1, 31, 10, 0, 0, 0, time.UTC), nil, nil),
	} {
		b, err := json.Marshal(d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		e, _ := d.Extend("complexity")
		b, _ = json.Marshal(e)
		f.Add(b)
	}
	for _, s := range []string{`{}`, `null`, `{"location":"Local"}`, `{"location":"Asia/Kathmandu","due":"9999-12-31T23:59:59Z"}`,
		`{"location":"../x"}`, `{"received":"0001-01-01T00:00:00+23:59"}`, `[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Deadline
		if err := json.Unmarshal(data, &d); err != nil {
			if !errors.Is(err, ErrInvalid) {
				var syn *json.SyntaxError
				if !errors.As(err, &syn) { // encoding/json checks syntax before UnmarshalJSON
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
			}
			return
		}
		if d.Location == nil && string(bytes.TrimSpace(data)) == "null" {
			return // null leaves d unchanged
		}
		a, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("Marshal of a decoded deadline: %v", err)
		}
		var again Deadline
		if err := json.Unmarshal(a, &again); err != nil {
			t.Fatalf("Unmarshal of Marshal output: %v\n%s", err, a)
		}
		b, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Fatalf("JSON not stable:\n%s\n%s", a, b)
		}
		if d.Location == nil {
			t.Fatalf("decoded deadline has no Location")
		}
		if d.Extended {
			return
		}
		_, err = d.Extend("x")
		if d.Received.IsZero() {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Extend without a time of receipt: %v, want ErrInvalid", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Extend: %v", err)
		}
	})
}
