package retention_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, on machines without a zoneinfo

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

func TestTruncateIP(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.17", "192.0.2.0"},
		{"192.0.2.0", "192.0.2.0"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.0"},
		{"10.1.2.3", "10.1.2.0"},
		{"2001:db8:1234:5678:9abc:def0:1234:5678", "2001:db8:1234::"},
		{"2001:db8:12ff:ffff::1", "2001:db8:12ff::"},
		{"::", "::"},
		{"::1", "::"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff::"},
		// IPv4-mapped: the IPv4 address's /24, still mapped.
		{"::ffff:192.0.2.17", "::ffff:192.0.2.0"},
		{"::ffff:255.255.255.255", "::ffff:255.255.255.0"},
		{"::ffff:0.0.0.0", "::ffff:0.0.0.0"},
		// 6to4: bits 16 to 47 are an IPv4 address; its /24 is kept.
		{"2002:c000:0211:1::1", "2002:c000:200::"},
		// Teredo and NAT64 carry no IPv4 of the user in their first 48 bits.
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:4136::"},
		{"64:ff9b::192.0.2.17", "64:ff9b::"},
		// IPv4-compatible (deprecated) addresses are plain IPv6.
		{"::192.0.2.17", "::"},
		// Zones are dropped.
		{"fe80::1%eth0", "fe80::"},
		{"fe80::abcd:1%25", "fe80::"},
		{"ff02::1%1", "ff02::"},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.in)
		got := retention.TruncateIP(a)
		if got.String() != tt.want {
			t.Errorf("TruncateIP(%s) = %s, want %s", tt.in, got, tt.want)
		}
		if got.Zone() != "" {
			t.Errorf("TruncateIP(%s) kept the zone %q", tt.in, got.Zone())
		}
		if got.Is4() != a.Is4() || got.Is4In6() != a.Is4In6() {
			t.Errorf("TruncateIP(%s) = %s changed the form", tt.in, got)
		}
		if again := retention.TruncateIP(got); again != got {
			t.Errorf("TruncateIP(TruncateIP(%s)) = %s, want %s", tt.in, again, got)
		}
		s, err := retention.TruncateIPString(tt.in)
		if err != nil || s != tt.want {
			t.Errorf("TruncateIPString(%q) = %q, %v, want %q", tt.in, s, err, tt.want)
		}
	}
	if got := retention.TruncateIP(netip.Addr{}); got != (netip.Addr{}) {
		t.Errorf("TruncateIP(zero Addr) = %v, want the zero Addr", got)
	}
	unmapped := retention.TruncateIP(netip.MustParseAddr("::ffff:192.0.2.17")).Unmap()
	if unmapped != netip.MustParseAddr("192.0.2.0") {
		t.Errorf("Unmap of a truncated mapped address = %s, want 192.0.2.0", unmapped)
	}
}

func TestTruncateIPStringInvalid(t *testing.T) {
	for _, in := range []string{
		"", " ", "192.0.2", "192.0.2.17.1", "192.0.2.256", "192.0.2.17/24",
		"192.0.2.017", " 192.0.2.17", "2001:db8::1::2", "[2001:db8::1]",
		"example.com", "ada@example.com", "%eth0", "192.0.2.17%eth0",
		"\x00", "١٩٢.٠.٢.١٧",
	} {
		got, err := retention.TruncateIPString(in)
		if got != "" {
			t.Errorf("TruncateIPString(%q) = %q, want empty", in, got)
		}
		checkInvalid(t, "TruncateIPString("+fmt.Sprintf("%q", in)+")", err, in, "truncate", "ip")
	}
}

// checkInvalid checks that err is an *Error of op and field wrapping
// ErrInvalid (and gdpr.ErrInvalid) whose text does not hold input.
func checkInvalid(t *testing.T, call string, err error, input, op, field string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want ErrInvalid", call)
		return
	}
	if !errors.Is(err, retention.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
		t.Errorf("%s: error %v does not wrap ErrInvalid", call, err)
	}
	var re *retention.Error
	if !errors.As(err, &re) || re.Op != op || re.Field != field {
		t.Errorf("%s: error %#v is not an *Error of op %q, field %q", call, err, op, field)
	}
	if in := strings.TrimSpace(input); len(in) >= 2 && strings.Contains(err.Error(), in) {
		t.Errorf("%s: error %q echoes the input", call, err)
	}
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

func TestCoarsen(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	havana := mustLoad(t, "America/Havana")
	saoPaulo := mustLoad(t, "America/Sao_Paulo")
	lordHowe := mustLoad(t, "Australia/Lord_Howe")
	kolkata := mustLoad(t, "Asia/Kolkata")
	kathmandu := mustLoad(t, "Asia/Kathmandu")
	apia := mustLoad(t, "Pacific/Apia")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		in   time.Time
		g    retention.Granularity
		want time.Time // compared with Equal; the location must be in's
	}{
		{"utc hour", utc("2024-05-17T13:45:59.999999999Z"), retention.Hour, utc("2024-05-17T13:00:00Z")},
		{"utc day", utc("2024-05-17T13:45:59Z"), retention.Day, utc("2024-05-17T00:00:00Z")},
		{"utc month", utc("2024-05-17T13:45:59Z"), retention.Month, utc("2024-05-01T00:00:00Z")},
		{"utc year", utc("2024-05-17T13:45:59Z"), retention.Year, utc("2024-01-01T00:00:00Z")},
		{"already a start", utc("2024-01-01T00:00:00Z"), retention.Year, utc("2024-01-01T00:00:00Z")},
		{"last instant of a year", utc("2023-12-31T23:59:59.999999999Z"), retention.Month, utc("2023-12-01T00:00:00Z")},
		{"31 January", utc("2024-01-31T23:59:59Z"), retention.Month, utc("2024-01-01T00:00:00Z")},
		{"30 April", utc("2024-04-30T12:00:00Z"), retention.Month, utc("2024-04-01T00:00:00Z")},
		{"leap day", utc("2024-02-29T23:59:59Z"), retention.Day, utc("2024-02-29T00:00:00Z")},
		{"leap day's month", utc("2024-02-29T23:59:59Z"), retention.Month, utc("2024-02-01T00:00:00Z")},
		{"1 March after a leap day", utc("2024-03-01T00:00:01Z"), retention.Month, utc("2024-03-01T00:00:00Z")},
		{"31 December of a leap year", utc("2024-12-31T23:00:00Z"), retention.Year, utc("2024-01-01T00:00:00Z")},
		{"fixed offset", time.Date(2024, 5, 17, 0, 30, 0, 0, time.FixedZone("X", -9*3600-30*60)), retention.Day,
			time.Date(2024, 5, 17, 0, 0, 0, 0, time.FixedZone("X", -9*3600-30*60))},
		{"zero time", time.Time{}, retention.Year, time.Time{}},

		// Europe/Berlin: clocks forward on 31 March 2024 at 02:00 CET to
		// 03:00 CEST, back on 27 October 2024 at 03:00 CEST to 02:00 CET.
		{"berlin: hour before the spring gap", time.Date(2024, 3, 31, 1, 59, 0, 0, berlin), retention.Hour, utc("2024-03-31T00:00:00Z")},
		{"berlin: hour after the spring gap", time.Date(2024, 3, 31, 3, 30, 0, 0, berlin), retention.Hour, utc("2024-03-31T01:00:00Z")},
		{"berlin: the 23-hour day", time.Date(2024, 3, 31, 23, 59, 0, 0, berlin), retention.Day, utc("2024-03-30T23:00:00Z")},
		{"berlin: the month of the spring change", time.Date(2024, 3, 31, 23, 59, 0, 0, berlin), retention.Month, utc("2024-02-29T23:00:00Z")},
		{"berlin: the repeated hour, first time (CEST)", utc("2024-10-27T00:30:00Z").In(berlin), retention.Hour, utc("2024-10-27T00:00:00Z")},
		{"berlin: the repeated hour, second time (CET)", utc("2024-10-27T01:30:00Z").In(berlin), retention.Hour, utc("2024-10-27T00:00:00Z")},
		{"berlin: the hour after the repeated one", utc("2024-10-27T02:10:00Z").In(berlin), retention.Hour, utc("2024-10-27T02:00:00Z")},
		{"berlin: the 25-hour day", time.Date(2024, 10, 27, 23, 0, 0, 0, berlin), retention.Day, utc("2024-10-26T22:00:00Z")},
		{"berlin: winter month from summer", time.Date(2024, 11, 30, 12, 0, 0, 0, berlin), retention.Month, utc("2024-10-31T23:00:00Z")},
		{"berlin: October from its winter end", time.Date(2024, 10, 31, 12, 0, 0, 0, berlin), retention.Month, utc("2024-09-30T22:00:00Z")},
		{"berlin: year", time.Date(2024, 7, 1, 12, 0, 0, 0, berlin), retention.Year, utc("2023-12-31T23:00:00Z")},

		// America/Havana: clocks forward on 10 March 2024 at 00:00 CST to
		// 01:00 CDT; that day has no midnight.
		{"havana: day without midnight", time.Date(2024, 3, 10, 12, 0, 0, 0, havana), retention.Day, utc("2024-03-10T05:00:00Z")},
		{"havana: its first instant", utc("2024-03-10T05:00:00Z").In(havana), retention.Day, utc("2024-03-10T05:00:00Z")},
		{"havana: the day before", utc("2024-03-10T04:59:59Z").In(havana), retention.Day, utc("2024-03-09T05:00:00Z")},
		{"havana: month", time.Date(2024, 3, 10, 12, 0, 0, 0, havana), retention.Month, utc("2024-03-01T05:00:00Z")},

		// America/Sao_Paulo: clocks back on 17 February 2019 at 00:00 -02 to
		// 16 February 23:00 -03, so 23:00 to 24:00 of the 16th repeats.
		{"sao paulo: the repeated last hour of a day", utc("2019-02-17T02:30:00Z").In(saoPaulo), retention.Day, utc("2019-02-16T02:00:00Z")},
		{"sao paulo: the repeated hour", utc("2019-02-17T02:30:00Z").In(saoPaulo), retention.Hour, utc("2019-02-17T01:00:00Z")},
		{"sao paulo: the day after", utc("2019-02-17T03:00:00Z").In(saoPaulo), retention.Day, utc("2019-02-17T03:00:00Z")},
		// and forward on 4 November 2018 at 00:00 -03 to 01:00 -02.
		{"sao paulo: day without midnight", time.Date(2018, 11, 4, 9, 0, 0, 0, saoPaulo), retention.Day, utc("2018-11-04T03:00:00Z")},

		// Australia/Lord_Howe moves by half an hour: on 6 October 2024 from
		// 02:00 +10:30 to 02:30 +11, and on 7 April 2024 from 02:00 +11 to
		// 01:30 +10:30.
		{"lord howe: hour begun by the half-hour gap", time.Date(2024, 10, 6, 2, 40, 0, 0, lordHowe), retention.Hour, utc("2024-10-05T15:30:00Z")},
		{"lord howe: hour over the half-hour repeat", utc("2024-04-06T15:15:00Z").In(lordHowe), retention.Hour, utc("2024-04-06T14:00:00Z")},

		// Offsets that are not whole hours: Truncate(time.Hour) is wrong there.
		{"kolkata +05:30", time.Date(2024, 5, 17, 10, 45, 0, 0, kolkata), retention.Hour, time.Date(2024, 5, 17, 10, 0, 0, 0, kolkata)},
		{"kathmandu +05:45", time.Date(2024, 5, 17, 10, 10, 0, 0, kathmandu), retention.Hour, time.Date(2024, 5, 17, 10, 0, 0, 0, kathmandu)},

		// Pacific/Apia skipped 30 December 2011, from 29 December 23:59:59
		// -10 to 31 December 00:00 +14.
		{"apia: the day after the skipped day", time.Date(2011, 12, 31, 5, 0, 0, 0, apia), retention.Day, utc("2011-12-30T10:00:00Z")},
		{"apia: the month of the skipped day", time.Date(2011, 12, 31, 5, 0, 0, 0, apia), retention.Month, utc("2011-12-01T10:00:00Z")},
	}
	for _, tt := range tests {
		got, err := retention.Coarsen(tt.in, tt.g)
		if err != nil {
			t.Errorf("%s: Coarsen(%s, %s): %v", tt.name, tt.in, tt.g, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("%s: Coarsen(%s, %s) = %s, want %s", tt.name, tt.in, tt.g, got, tt.want.In(tt.in.Location()))
		}
		if got.Location() != tt.in.Location() {
			t.Errorf("%s: Coarsen(%s, %s) is in %s, want %s", tt.name, tt.in, tt.g, got.Location(), tt.in.Location())
		}
		checkCoarsened(t, tt.in, tt.g, got)
	}
}

// checkCoarsened checks Coarsen's contract for got = Coarsen(in, g): not
// after in, the same hour (day, month, year) on in's clock, the first
// instant of that run, idempotent, in in's location.
func checkCoarsened(t testing.TB, in time.Time, g retention.Granularity, got time.Time) {
	t.Helper()
	if got.After(in) {
		t.Errorf("Coarsen(%s, %s) = %s, after the time", in, g, got)
	}
	if !same(got, in, g) {
		t.Errorf("Coarsen(%s, %s) = %s, another %s", in, g, got, g)
	}
	for u := in; u.After(got); {
		// every instant between got and in reads in's bucket: step back
		// over each zone change in the range.
		start, _ := u.ZoneBounds()
		if start.IsZero() || !start.After(got) {
			break
		}
		if !same(start, in, g) || !same(start.Add(-1), in, g) {
			t.Errorf("Coarsen(%s, %s) = %s, but the clock leaves the %s at %s", in, g, got, g, start)
		}
		u = start.Add(-1)
	}
	if !got.Equal(time.Time{}) && same(got.Add(-1), in, g) {
		t.Errorf("Coarsen(%s, %s) = %s, but the %s began earlier", in, g, got, g)
	}
	if again, err := retention.Coarsen(got, g); err != nil || again != got {
		t.Errorf("Coarsen(Coarsen(%s, %s)) = %s, %v, want %s", in, g, again, err, got)
	}
	if got.Location() != in.Location() {
		t.Errorf("Coarsen(%s, %s) is in %s", in, g, got.Location())
	}
}

func same(a, b time.Time, g retention.Granularity) bool {
	a = a.In(b.Location())
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	switch g {
	case retention.Year:
		return ay == by
	case retention.Month:
		return ay == by && am == bm
	case retention.Day:
		return ay == by && am == bm && ad == bd
	}
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour()
}

var granularities = []retention.Granularity{retention.Hour, retention.Day, retention.Month, retention.Year}

var zones = []string{
	"UTC", "Europe/Berlin", "Europe/London", "America/Havana", "America/Sao_Paulo",
	"America/Santiago", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu",
	"Pacific/Chatham", "Pacific/Apia", "Africa/Casablanca", "Asia/Gaza",
	"Europe/Amsterdam", // +00:19:32 until 1937
}

// TestCoarsenAroundChanges checks the contract, and that Coarsen never
// decreases, at instants around every clock change of the zones above
// from 1930 to 2030.
func TestCoarsenAroundChanges(t *testing.T) {
	from := time.Date(1930, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []time.Duration{-25 * time.Hour, -90 * time.Minute, -time.Hour, -30 * time.Minute, -time.Nanosecond,
		0, time.Nanosecond, 15 * time.Minute, 30 * time.Minute, 45 * time.Minute, time.Hour, 90 * time.Minute, 25 * time.Hour}
	n := 0
	for _, name := range zones {
		loc := mustLoad(t, name)
		u := from.In(loc)
		for {
			_, end := u.ZoneBounds()
			if end.IsZero() || end.After(to) {
				break
			}
			var prev [4]time.Time
			for _, d := range steps {
				in := end.Add(d)
				for i, g := range granularities {
					got, err := retention.Coarsen(in, g)
					if err != nil {
						t.Fatalf("%s: Coarsen(%s, %s): %v", name, in, g, err)
					}
					checkCoarsened(t, in, g, got)
					if got.Before(prev[i]) {
						t.Errorf("%s: Coarsen(%s, %s) = %s, before Coarsen of an earlier time, %s", name, in, g, got, prev[i])
					}
					prev[i] = got
					n++
				}
			}
			u = end
		}
	}
	if n < 10000 {
		t.Errorf("checked only %d instants: zone data missing?", n)
	}
}

func TestCoarsenStripsMonotonic(t *testing.T) {
	now := time.Now()
	got, err := retention.Coarsen(now, retention.Hour)
	if err != nil {
		t.Fatalf("Coarsen(time.Now(), hour): %v", err)
	}
	if got != got.Round(0) {
		t.Errorf("Coarsen(time.Now()) kept the monotonic clock reading")
	}
}

func TestCoarsenUnknownGranularity(t *testing.T) {
	const prefix = "retention coarsen: g: invalid input: unknown granularity "
	for _, tt := range []struct {
		g    retention.Granularity
		want string // the error text
	}{
		// A name of a granularity's alphabet is quoted; any other is not.
		{"week", prefix + `"week"`},
		{"minute", prefix + `"minute"`},
		{"", prefix + "(value not shown)"},
		{"HOUR", prefix + "(value not shown)"},
		{"Day", prefix + "(value not shown)"},
		{" hour", prefix + "(value not shown)"},
		{"hour\n", prefix + "(value not shown)"},
		{"ada@example.com", prefix + "(value not shown)"},
		{"192.0.2.17", prefix + "(value not shown)"},
	} {
		g := tt.g
		if g.Valid() {
			t.Errorf("Granularity(%q).Valid() = true", g)
		}
		call := fmt.Sprintf("Coarsen(..., %q)", g)
		got, err := noPanic(t, call, func() (time.Time, error) {
			return retention.Coarsen(time.Date(2024, 5, 17, 10, 45, 0, 0, time.UTC), g)
		})
		if !got.IsZero() {
			t.Errorf("%s = %s and an error, want the zero Time", call, got)
		}
		input := string(g)
		if strings.HasSuffix(tt.want, `"`) {
			input = "" // quoted on purpose
		}
		checkInvalid(t, call, err, input, "coarsen", "g")
		if err != nil && err.Error() != tt.want {
			t.Errorf("%s: error %q, want %q", call, err, tt.want)
		}
	}
	for _, g := range granularities {
		if !g.Valid() {
			t.Errorf("%q.Valid() = false", g)
		}
	}
}

// noPanic returns f(), reporting a panic in it as an error of the test.
func noPanic[T any](t *testing.T, call string, f func() (T, error)) (v T, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s panicked: %v; want an error wrapping ErrInvalid", call, p)
		}
	}()
	return f()
}

func TestBirthYear(t *testing.T) {
	// A SQL DATE scans as midnight UTC: its year is the year of that date.
	if got := retention.BirthYear(time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)); got != 1990 {
		t.Errorf("BirthYear(1990-01-01) = %d", got)
	}
	if got := retention.BirthYear(time.Date(1992, 2, 29, 0, 0, 0, 0, time.UTC)); got != 1992 {
		t.Errorf("BirthYear(1992-02-29) = %d", got)
	}
}

func TestAgeBand(t *testing.T) {
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name        string
		birth, now  time.Time
		width       int
		wantLo, wah int
	}{
		{"day before the birthday", date(1990, 5, 17), date(2022, 5, 16), 5, 30, 34},
		{"on the birthday", date(1990, 5, 17), date(2025, 5, 17), 5, 35, 39},
		{"day before a band's end", date(1990, 5, 17), date(2025, 5, 16), 5, 30, 34},
		{"width 1 is the age", date(1990, 5, 17), date(2024, 5, 17), 1, 34, 34},
		{"width 10", date(1990, 5, 17), date(2024, 5, 17), 10, 30, 39},
		{"newborn", date(2024, 5, 17), date(2024, 5, 17), 5, 0, 4},
		{"29 Feb: 28 Feb of a common year, not yet", date(1992, 2, 29), date(2023, 2, 28), 1, 30, 30},
		{"29 Feb: 1 Mar of a common year, passed", date(1992, 2, 29), date(2023, 3, 1), 1, 31, 31},
		{"29 Feb: 28 Feb of a leap year, not yet", date(1992, 2, 29), date(2024, 2, 28), 1, 31, 31},
		{"29 Feb: 29 Feb of a leap year", date(1992, 2, 29), date(2024, 2, 29), 1, 32, 32},
		{"29 Feb: the band turns on 1 March", date(1994, 3, 1), date(2024, 2, 29), 5, 25, 29},
		{"31 Dec and 1 Jan", date(1990, 12, 31), date(2025, 1, 1), 5, 30, 34},
		{"birth a day after now", date(2024, 5, 18), date(2024, 5, 17), 5, -5, -1},
		{"birth a band after now", date(2030, 5, 17), date(2024, 5, 17), 5, -10, -6},
		{"each on its own calendar", time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC),
			time.Date(2024, 5, 17, 0, 30, 0, 0, mustLoad(t, "Europe/Berlin")), 1, 34, 34},
	}
	for _, tt := range tests {
		lo, hi, err := retention.AgeBand(tt.birth, tt.now, tt.width)
		if err != nil {
			t.Errorf("%s: AgeBand(%s, %s, %d): %v", tt.name,
				tt.birth.Format(time.DateOnly), tt.now.Format(time.DateOnly), tt.width, err)
			continue
		}
		if lo != tt.wantLo || hi != tt.wah {
			t.Errorf("%s: AgeBand(%s, %s, %d) = %d, %d, want %d, %d", tt.name,
				tt.birth.Format(time.DateOnly), tt.now.Format(time.DateOnly), tt.width, lo, hi, tt.wantLo, tt.wah)
		}
	}
}

func TestAgeBandInvalidWidth(t *testing.T) {
	birth := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	now := time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC)
	for _, w := range []int{0, -1, -5, math.MinInt} {
		call := fmt.Sprintf("AgeBand(..., %d)", w)
		band, err := noPanic(t, call, func() ([2]int, error) {
			lo, hi, err := retention.AgeBand(birth, now, w)
			return [2]int{lo, hi}, err
		})
		if band != [2]int{} {
			t.Errorf("%s = %d, %d and an error, want 0, 0", call, band[0], band[1])
		}
		checkInvalid(t, call, err, "", "age band", "width")
		if want := "retention age band: width: invalid input: width must be at least 1"; err != nil && err.Error() != want {
			t.Errorf("%s: error %q, want %q", call, err, want)
		}
	}
}

func TestGeneralisePostcode(t *testing.T) {
	tests := []struct {
		in   string
		keep int
		want string
	}{
		{"10115", 2, "10"},
		{"10115", 5, "10115"},
		{"10115", 9, "10115"},
		{"SW1A 1AA", 4, "SW1A"},
		{"sw1a 1aa", 4, "SW1A"},
		{"  Sw1A 1aA\t", 4, "SW1A"},
		{"SW1A1AA", 4, "SW1A"},
		{"SW1A 1AA", 5, "SW1A1"},
		{"SW1A 1AA", 7, "SW1A1AA"},
		{"M1 1AE", 2, "M1"},
		{"M1 1AE", 4, "M11A"}, // a fixed keep cuts into a short outward code
		{"EC1A 1BB", 3, "EC1"},
		{"1012 AB", 4, "1012"},
		{"K1A 0B1", 3, "K1A"},
		{"00-950", 2, "00"},
		{"00-950", 3, "009"},
		{"1000-001", 4, "1000"},
		{"12345-6789", 5, "12345"},
		{"\n75008\r\n", 2, "75"},
		{"\u00a010115\u00a0", 3, "101"}, // trimmed: no-break spaces at the ends
		{"a", 1, "A"},
	}
	for _, tt := range tests {
		got, err := retention.GeneralisePostcode(tt.in, tt.keep)
		if err != nil || got != tt.want {
			t.Errorf("GeneralisePostcode(%q, %d) = %q, %v, want %q", tt.in, tt.keep, got, err, tt.want)
			continue
		}
		if again, err := retention.GeneralisePostcode(got, tt.keep); err != nil || again != got {
			t.Errorf("GeneralisePostcode(%q, %d) = %q, %v, not idempotent", got, tt.keep, again, err)
		}
	}
}

func TestGeneralisePostcodeInvalid(t *testing.T) {
	for _, in := range []string{
		"", "   ", "\t\n",
		"SW1A  1AA", "SW1A - 1AA", "00--950", "-10115", "10115-", "10115 -",
		"SW1A\t1AA", "SW1A\u00a01AA", "10115!", "10.115", "10_115", "ada@example.com",
		"１０１１５",       // fullwidth digits
		"١٠١١٥",       // Arabic-Indic digits
		"१०११५",       // Devanagari digits
		"ÄB12", "Ⅻ10", // a Latin-1 letter, a Roman numeral
		"10115\x00", "\xff\xfe",
	} {
		got, err := retention.GeneralisePostcode(in, 3)
		if got != "" {
			t.Errorf("GeneralisePostcode(%q, 3) = %q, want empty", in, got)
		}
		checkInvalid(t, fmt.Sprintf("GeneralisePostcode(%q, 3)", in), err, in, "generalise", "postcode")
	}
	for _, keep := range []int{0, -1, -1 << 62} {
		got, err := retention.GeneralisePostcode("10115", keep)
		if got != "" {
			t.Errorf("GeneralisePostcode(10115, %d) = %q, want empty", keep, got)
		}
		checkInvalid(t, fmt.Sprintf("GeneralisePostcode(10115, %d)", keep), err, "10115", "generalise", "keep")
	}
}

func testKey() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

// rawPseudonym is the construction Pseudonym documents, written out.
func rawPseudonym(key []byte, domain, value string) string {
	m := hmac.New(sha256.New, key)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(domain)))
	m.Write(n[:])
	m.Write([]byte(domain))
	binary.BigEndian.PutUint64(n[:], uint64(len(value)))
	m.Write(n[:])
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestPseudonym(t *testing.T) {
	key := testKey()
	p, err := retention.NewPseudonymiser(key)
	if err != nil {
		t.Fatal(err)
	}
	// A fixed vector (checked against Python's hmac module too), so the construction cannot change unnoticed: hosts
	// recompute pseudonyms to join on them.
	const vector = "r5YgW4FIULtf4swsrkQ5U-56D2ReIrXilt1g24G40uY"
	if got := p.Pseudonym("users.email", "ada@example.com"); got != vector {
		t.Errorf("Pseudonym(users.email, ada@example.com) = %q, want %q", got, vector)
	}
	inputs := []struct{ domain, value string }{
		{"", ""}, {"", "a"}, {"a", ""}, {"ab", "c"}, {"a", "bc"}, {"abc", ""}, {"", "abc"},
		{"users.email", "ada@example.com"}, {"orders.email", "ada@example.com"},
		{"users.email", "Ada@example.com"}, {"x", strings.Repeat("v", 100_000)},
		{"d\x00", "v"}, {"d", "\x00v"}, {"\x00\x00\x00\x00\x00\x00\x00\x01d", "v"},
	}
	seen := map[string]int{}
	for i, in := range inputs {
		got := p.Pseudonym(in.domain, in.value)
		if want := rawPseudonym(key, in.domain, in.value); got != want {
			t.Errorf("Pseudonym(%q, %.20q) = %q, want the documented construction's %q", in.domain, in.value, got, want)
		}
		if again := p.Pseudonym(in.domain, in.value); again != got {
			t.Errorf("Pseudonym(%q, %.20q) = %q, then %q", in.domain, in.value, got, again)
		}
		if b := p.PseudonymBytes(in.domain, []byte(in.value)); b != got {
			t.Errorf("PseudonymBytes(%q, %.20q) = %q, Pseudonym = %q", in.domain, in.value, b, got)
		}
		if len(got) != retention.PseudonymLen || strings.Trim(got, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("Pseudonym(%q, %.20q) = %q, not %d characters of base64url", in.domain, in.value, got, retention.PseudonymLen)
		}
		if j, ok := seen[got]; ok {
			t.Errorf("inputs %d and %d give the same pseudonym %q", j, i, got)
		}
		seen[got] = i
	}

	other := testKey()
	other[0] ^= 1
	q, err := retention.NewPseudonymiser(other)
	if err != nil {
		t.Fatal(err)
	}
	if p.Pseudonym("users.email", "ada@example.com") == q.Pseudonym("users.email", "ada@example.com") {
		t.Errorf("two keys give the same pseudonym")
	}
}

func TestPseudonymiserCopiesKey(t *testing.T) {
	key := testKey()
	p, err := retention.NewPseudonymiser(key)
	if err != nil {
		t.Fatal(err)
	}
	before := p.Pseudonym("d", "v")
	for i := range key {
		key[i] = 0xff
	}
	if after := p.Pseudonym("d", "v"); after != before {
		t.Errorf("changing the caller's key slice changed the pseudonyms")
	}
	// Also for a key with spare capacity that an append could reach.
	big := make([]byte, 32, 64)
	copy(big, testKey())
	p, err = retention.NewPseudonymiser(big)
	if err != nil {
		t.Fatal(err)
	}
	before = p.Pseudonym("d", "v")
	_ = append(big[:32], 1, 2, 3)
	big[5] = 0xee
	if after := p.Pseudonym("d", "v"); after != before {
		t.Errorf("changing the caller's key slice changed the pseudonyms")
	}
}

func TestPseudonymConcurrent(t *testing.T) {
	p, err := retention.NewPseudonymiser(testKey())
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 64)
	for i := range want {
		want[i] = rawPseudonym(testKey(), "d", strings.Repeat("x", i*37))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				for i, w := range want {
					if got := p.Pseudonym("d", strings.Repeat("x", i*37)); got != w {
						t.Errorf("concurrent Pseudonym = %q, want %q", got, w)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewPseudonymiserInvalid(t *testing.T) {
	long := bytes.Repeat([]byte("k"), 31)
	for _, key := range [][]byte{nil, {}, long, make([]byte, 32), make([]byte, 64)} {
		p, err := retention.NewPseudonymiser(key)
		if p != nil {
			t.Errorf("NewPseudonymiser(%d bytes) returned a Pseudonymiser", len(key))
		}
		checkInvalid(t, fmt.Sprintf("NewPseudonymiser(%d bytes)", len(key)), err, string(key), "new", "key")
		if err != nil && len(key) > 0 && strings.Contains(err.Error(), hex.EncodeToString(key[:4])) {
			t.Errorf("NewPseudonymiser: error %q shows the key", err)
		}
	}
}

func TestPseudonymiserDoesNotPrintKey(t *testing.T) {
	key := []byte("0123456789abcdefghijklmnopqrstuvwxyzABCDEF")
	p, err := retention.NewPseudonymiser(key)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{
		string(key), string(key[:8]),
		hex.EncodeToString(key[:8]), strings.ToUpper(hex.EncodeToString(key[:8])),
		base64.StdEncoding.EncodeToString(key)[:8], base64.RawURLEncoding.EncodeToString(key)[:8],
		fmt.Sprint(key[:4])[1:12], // "48 49 50 51", as %v prints a []byte
		fmt.Sprintf("%q", key[:6]),
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3v", "%-x", "% x", "%#x", "%p"} {
		outs = append(outs, fmt.Sprintf(verb, p))
	}
	outs = append(outs,
		fmt.Sprint(p), fmt.Sprintln(p), p.String(), p.GoString(),
		fmt.Sprintf("%+v", struct{ P *retention.Pseudonymiser }{p}),
		fmt.Sprintf("%#v", []*retention.Pseudonymiser{p}),
		fmt.Sprintf("%v", map[string]any{"p": p}),
	)
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("printing the Pseudonymiser gave %q, which holds %q of its key", out, s)
			}
		}
	}
	if got, want := fmt.Sprintf("%v", p), "retention.Pseudonymiser{key: [redacted]}"; got != want {
		t.Errorf("%%v = %q, want %q", got, want)
	}
	var nilP *retention.Pseudonymiser
	if got := fmt.Sprintf("%v", nilP); got != "(*retention.Pseudonymiser)(nil)" {
		t.Errorf("%%v of a nil *Pseudonymiser = %q", got)
	}
}

// Benchmarks: each beside its raw baseline, in the same run.

var benchValues = []string{"ada@example.com", "+49 30 1234567", "grace.hopper@example.org", "DE89370400440532013000"}

func BenchmarkPseudonym(b *testing.B) {
	p, err := retention.NewPseudonymiser(testKey())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var sink string
	for i := 0; b.Loop(); i++ {
		sink = p.Pseudonym("users.email", benchValues[i%len(benchValues)])
	}
	_ = sink
}

// BenchmarkPseudonymRawHMAC is the baseline: the same bytes through a
// fresh hmac.New, Write and Sum, encoded the same way.
func BenchmarkPseudonymRawHMAC(b *testing.B) {
	key := testKey()
	b.ReportAllocs()
	var sink string
	for i := 0; b.Loop(); i++ {
		sink = rawPseudonym(key, "users.email", benchValues[i%len(benchValues)])
	}
	_ = sink
}

func BenchmarkPseudonymParallel(b *testing.B) {
	p, err := retention.NewPseudonymiser(testKey())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = p.Pseudonym("users.email", benchValues[i%len(benchValues)])
			i++
		}
	})
}

func BenchmarkPseudonymRawHMACParallel(b *testing.B) {
	key := testKey()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_ = rawPseudonym(key, "users.email", benchValues[i%len(benchValues)])
			i++
		}
	})
}

var benchAddrs = []netip.Addr{
	netip.MustParseAddr("192.0.2.17"), netip.MustParseAddr("2001:db8:1234:5678::1"),
	netip.MustParseAddr("198.51.100.200"), netip.MustParseAddr("2a00:1450:4001:82a::200e"),
}

func BenchmarkTruncateIP(b *testing.B) {
	var sink netip.Addr
	for i := 0; b.Loop(); i++ {
		sink = retention.TruncateIP(benchAddrs[i%len(benchAddrs)])
	}
	_ = sink
}

// BenchmarkTruncateIPRawPrefix is the baseline: netip.Addr.Prefix and
// Prefix.Addr, with no special forms.
func BenchmarkTruncateIPRawPrefix(b *testing.B) {
	var sink netip.Addr
	for i := 0; b.Loop(); i++ {
		a := benchAddrs[i%len(benchAddrs)]
		bits := 48
		if a.Is4() {
			bits = 24
		}
		pfx, _ := a.Prefix(bits)
		sink = pfx.Addr()
	}
	_ = sink
}

func BenchmarkTruncateIPString(b *testing.B) {
	in := []string{"192.0.2.17", "2001:db8:1234:5678::1"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_, _ = retention.TruncateIPString(in[i%len(in)])
	}
}

func BenchmarkTruncateIPStringRaw(b *testing.B) {
	in := []string{"192.0.2.17", "2001:db8:1234:5678::1"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a, _ := netip.ParseAddr(in[i%len(in)])
		bits := 48
		if a.Is4() {
			bits = 24
		}
		pfx, _ := a.Prefix(bits)
		_ = pfx.Addr().String()
	}
}

func BenchmarkCoarsen(b *testing.B) {
	berlin := mustLoad(b, "Europe/Berlin")
	t0 := time.Date(2024, 10, 27, 15, 4, 5, 6, berlin)
	var sink time.Time
	for i := 0; b.Loop(); i++ {
		sink, _ = retention.Coarsen(t0.Add(time.Duration(i)*time.Minute), retention.Day)
	}
	_ = sink
}

// BenchmarkCoarsenRawDate is the baseline: time.Date at midnight, which
// is wrong on days that have no midnight.
func BenchmarkCoarsenRawDate(b *testing.B) {
	berlin := mustLoad(b, "Europe/Berlin")
	t0 := time.Date(2024, 10, 27, 15, 4, 5, 6, berlin)
	var sink time.Time
	for i := 0; b.Loop(); i++ {
		t := t0.Add(time.Duration(i) * time.Minute)
		y, m, d := t.Date()
		sink = time.Date(y, m, d, 0, 0, 0, 0, t.Location())
	}
	_ = sink
}
