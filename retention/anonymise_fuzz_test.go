package retention_test

import (
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

// The only error texts the anonymisers may give: none depends on the
// input, so none can echo it.
var anonymiseErrors = map[string]bool{
	"retention truncate: ip: invalid input: not an IP address":                                                              true,
	"retention generalise: keep: invalid input: keep must be at least 1":                                                    true,
	"retention generalise: postcode: invalid input: empty postcode":                                                         true,
	"retention generalise: postcode: invalid input: a postcode's spaces and hyphens come singly, between letters or digits": true,
	"retention generalise: postcode: invalid input: a postcode holds ASCII letters, digits, spaces and hyphens only":        true,
	"retention age band: width: invalid input: width must be at least 1":                                                    true,
	coarsenError + "(value not shown)":                                                                                      true,
}

// coarsenError starts the text of Coarsen's error, which ends in the
// granularity quoted, if it is of the alphabet errors may quote, or in
// "(value not shown)".
const coarsenError = "retention coarsen: g: invalid input: unknown granularity "

// quotable reports whether an error may quote s: ^[a-z0-9_.-]{1,40}$.
func quotable(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

func checkFuzzError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, retention.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	if !anonymiseErrors[err.Error()] {
		t.Fatalf("error text %q is not one of the fixed texts", err)
	}
}

func FuzzTruncateIPString(f *testing.F) {
	for _, s := range []string{
		"192.0.2.17", "0.0.0.0", "255.255.255.255", "::", "::1", "::ffff:192.0.2.17",
		"2001:db8:1234:5678::1", "2002:c000:0211::1", "fe80::1%eth0", "fe80::1%",
		"64:ff9b::192.0.2.17", "1.2.3", "", "ada@example.com", "::ffff:1.2.3.4%x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := retention.TruncateIPString(s)
		if err != nil {
			if out != "" {
				t.Fatalf("TruncateIPString(%q) = %q and an error", s, out)
			}
			checkFuzzError(t, err)
			return
		}
		a := netip.MustParseAddr(s)
		got := netip.MustParseAddr(out)
		if got != retention.TruncateIP(a) || got.Zone() != "" {
			t.Fatalf("TruncateIPString(%q) = %q, TruncateIP = %s", s, out, retention.TruncateIP(a))
		}
		// Idempotent, and the result's network holds the address.
		if again, err := retention.TruncateIPString(out); err != nil || again != out {
			t.Fatalf("TruncateIPString(%q) = %q, %v; not idempotent", out, again, err)
		}
		bits := 48
		switch {
		case a.Is4():
			bits = 24
		case a.Is4In6():
			bits = 120
		case a.As16()[0] == 0x20 && a.As16()[1] == 0x02:
			bits = 40
		}
		if !netip.PrefixFrom(got, bits).Contains(a.WithZone("")) {
			t.Fatalf("TruncateIP(%s) = %s, whose /%d does not hold it", a, got, bits)
		}
		if got.Is4() != a.Is4() || got.Is4In6() != a.Is4In6() {
			t.Fatalf("TruncateIP(%s) = %s changed the form", a, got)
		}
	})
}

func FuzzGeneralisePostcode(f *testing.F) {
	for _, s := range []string{
		"10115", "SW1A 1AA", " sw1a 1aa ", "SW1A  1AA", "00-950", "-1", "1-", "１０１１５",
		"K1A 0B1", "", "\t", "ÄB12", "1 - 2", "a\u00a0b",
	} {
		for _, keep := range []int{-1, 0, 1, 2, 4, 10} {
			f.Add(s, keep)
		}
	}
	f.Fuzz(func(t *testing.T, s string, keep int) {
		out, err := retention.GeneralisePostcode(s, keep)
		if err != nil {
			if out != "" {
				t.Fatalf("GeneralisePostcode(%q, %d) = %q and an error", s, keep, out)
			}
			checkFuzzError(t, err)
			return
		}
		if keep < 1 {
			t.Fatalf("GeneralisePostcode(%q, %d) took keep < 1", s, keep)
		}
		if out == "" || len(out) > keep {
			t.Fatalf("GeneralisePostcode(%q, %d) = %q", s, keep, out)
		}
		for i := 0; i < len(out); i++ {
			if c := out[i]; !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') {
				t.Fatalf("GeneralisePostcode(%q, %d) = %q holds %q", s, keep, out, c)
			}
		}
		// The output is the start of the input's letters and digits.
		var all strings.Builder
		for _, r := range strings.ToUpper(s) {
			if r < utf8.RuneSelf && ('0' <= r && r <= '9' || 'A' <= r && r <= 'Z') {
				all.WriteRune(r)
			}
		}
		if !strings.HasPrefix(all.String(), out) || len(out) != min(keep, all.Len()) {
			t.Fatalf("GeneralisePostcode(%q, %d) = %q, not the first letters and digits", s, keep, out)
		}
		if again, err := retention.GeneralisePostcode(out, keep); err != nil || again != out {
			t.Fatalf("GeneralisePostcode(%q, %d) = %q, %v; not idempotent", out, keep, again, err)
		}
		if shorter, err := retention.GeneralisePostcode(s, keep+1); keep < 1<<30 && (err != nil || !strings.HasPrefix(shorter, out)) {
			t.Fatalf("GeneralisePostcode(%q, %d) = %q, %v; with %d it was %q", s, keep+1, shorter, err, keep, out)
		}
	})
}

func FuzzPseudonym(f *testing.F) {
	f.Add("users.email", "ada@example.com")
	f.Add("", "")
	f.Add("ab", "c")
	f.Add("a", "bc")
	f.Add("\x00", "\xff")
	p, err := retention.NewPseudonymiser(testKey())
	if err != nil {
		f.Fatal(err)
	}
	key := testKey()
	f.Fuzz(func(t *testing.T, domain, value string) {
		got := p.Pseudonym(domain, value)
		if want := rawPseudonym(key, domain, value); got != want {
			t.Fatalf("Pseudonym(%q, %q) = %q, want %q", domain, value, got, want)
		}
		if b := p.PseudonymBytes(domain, []byte(value)); b != got {
			t.Fatalf("PseudonymBytes(%q, %q) = %q, Pseudonym = %q", domain, value, b, got)
		}
		if len(got) != retention.PseudonymLen {
			t.Fatalf("Pseudonym(%q, %q) = %q, %d bytes", domain, value, got, len(got))
		}
		// Moving a byte from the value to the domain, or back, changes it.
		if value != "" && p.Pseudonym(domain+value[:1], value[1:]) == got {
			t.Fatalf("Pseudonym(%q, %q) = Pseudonym(%q, %q)", domain, value, domain+value[:1], value[1:])
		}
		if domain != "" && p.Pseudonym(domain[:len(domain)-1], domain[len(domain)-1:]+value) == got {
			t.Fatalf("Pseudonym(%q, %q) collides with the domain one byte shorter", domain, value)
		}
	})
}

// FuzzCoarsen checks Coarsen's contract at any instant in the zones of
// TestCoarsenAroundChanges, for any granularity string: one that is not
// Valid is an error wrapping ErrInvalid that quotes it only if an error
// may, with the zero Time.
func FuzzCoarsen(f *testing.F) {
	f.Add(int64(1729992600), int64(0), uint8(1), "hour")   // 2024-10-27 01:30 UTC, Berlin's repeated hour
	f.Add(int64(1710046800), int64(0), uint8(3), "day")    // 2024-03-10 05:00 UTC, Havana's day without midnight
	f.Add(int64(1325239200), int64(5), uint8(10), "month") // 2011-12-30 10:00 UTC, Apia's skipped day
	f.Add(int64(-62135596800), int64(0), uint8(0), "year")
	for _, g := range []string{"", "week", "HOUR", "Day", " day", "day\x00", "minute", "ada@example.com", "192.0.2.17", "\xff"} {
		f.Add(int64(1729992600), int64(0), uint8(1), g)
	}
	locs := make([]*time.Location, len(zones))
	for i, name := range zones {
		locs[i] = mustLoad(f, name)
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64, zone uint8, gran string) {
		// Years 1 to 9999.
		const lo, hi = -62135596800 + 2*86400, 253402300799 - 2*86400
		if sec < lo || sec > hi {
			sec = lo + (sec%(hi-lo)+(hi-lo))%(hi-lo)
		}
		in := time.Unix(sec, nsec%1e9).In(locs[int(zone)%len(locs)])
		g := retention.Granularity(gran)
		got, err := retention.Coarsen(in, g)
		if !g.Valid() {
			if err == nil || !got.IsZero() {
				t.Fatalf("Coarsen(%s, %q) = %s, %v; want the zero Time and an error", in, gran, got, err)
			}
			var re *retention.Error
			if !errors.As(err, &re) || re.Op != "coarsen" || re.Field != "g" {
				t.Fatalf("Coarsen(%s, %q): error %#v is not an *Error of op coarsen, field g", in, gran, err)
			}
			if quotable(gran) && err.Error() == coarsenError+strconv.Quote(gran) {
				if !errors.Is(err, retention.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) {
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			checkFuzzError(t, err)
			return
		}
		if err != nil {
			t.Fatalf("Coarsen(%s, %q): %v", in, gran, err)
		}
		checkCoarsened(t, in, g, got)
	})
}

// FuzzAgeBand checks that the band holds the age and has the width.
func FuzzAgeBand(f *testing.F) {
	f.Add(int64(699235200), int64(1716000000), 5) // 1992-02-29, 2024-05-18
	f.Add(int64(0), int64(0), 1)
	f.Add(int64(1716000000), int64(699235200), 7)
	f.Add(int64(699235200), int64(1716000000), 0)
	f.Add(int64(699235200), int64(1716000000), -5)
	f.Add(int64(699235200), int64(1716000000), math.MinInt)
	f.Fuzz(func(t *testing.T, birthSec, nowSec int64, width int) {
		const span = 200 * 366 * 86400
		birth := time.Unix(birthSec%span, 0).UTC()
		now := time.Unix(nowSec%span, 0).UTC()
		lo, hi, err := retention.AgeBand(birth, now, width)
		if width < 1 {
			if err == nil || lo != 0 || hi != 0 {
				t.Fatalf("AgeBand(%s, %s, %d) = %d, %d, %v; want 0, 0 and an error", birth, now, width, lo, hi, err)
			}
			var re *retention.Error
			if !errors.As(err, &re) || re.Op != "age band" || re.Field != "width" {
				t.Fatalf("AgeBand(..., %d): error %#v is not an *Error of op age band, field width", width, err)
			}
			checkFuzzError(t, err)
			return
		}
		if err != nil {
			t.Fatalf("AgeBand(%s, %s, %d): %v", birth, now, width, err)
		}
		if width > 200 {
			return
		}
		if hi-lo != width-1 || lo%width != 0 {
			t.Fatalf("AgeBand(%s, %s, %d) = %d, %d", birth, now, width, lo, hi)
		}
		// The age is the number of completed years: the anniversary of
		// that many years is not after now's date, the next one is (a 29
		// February anniversary in a common year normalises to 1 March).
		age, _, err := retention.AgeBand(birth, now, 1)
		if err != nil {
			t.Fatalf("AgeBand(%s, %s, 1): %v", birth, now, err)
		}
		if age < lo || age > hi {
			t.Fatalf("AgeBand(%s, %s, %d) = %d, %d, but the age is %d", birth, now, width, lo, hi, age)
		}
		y, m, d := birth.Date()
		anniversary := func(n int) time.Time { return time.Date(y+n, m, d, 0, 0, 0, 0, time.UTC) } // 29 Feb normalises to 1 Mar
		day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		if anniversary(age).After(day) || !anniversary(age+1).After(day) {
			t.Fatalf("AgeBand(%s, %s, 1) = %d, not the completed years", birth, now, age)
		}
	})
}
