package retention

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// TruncateIP returns a with its host part set to zero: an IPv4 address
// to its /24 (192.0.2.17 to 192.0.2.0), an IPv6 address to its /48
// (2001:db8:1234:5678::1 to 2001:db8:1234::).
//
// Two IPv6 forms that carry an IPv4 address in their first 48 bits are
// cut as that IPv4 address: an IPv4-mapped address (::ffff:192.0.2.17)
// keeps the /24 of its IPv4 address and is returned in the form given,
// still mapped (::ffff:192.0.2.0), so that a column keeps one form —
// call Unmap on the argument or on the result for the plain IPv4 form;
// and a 6to4 address (2002::/16, whose bits 16 to 47 are the IPv4
// address of the site) is cut to its /40, the /24 of that IPv4 address.
// A zone (fe80::1%eth0) is dropped. The zero Addr, which is not valid,
// is returned as it is.
//
// TruncateIP is idempotent: TruncateIP(TruncateIP(a)) == TruncateIP(a).
// The result is still personal data until the dataset it is part of
// has been assessed anonymous; see the package documentation.
func TruncateIP(a netip.Addr) netip.Addr {
	bits := 48
	switch {
	case a.Is4():
		bits = 24
	case a.Is4In6():
		bits = 120
	case sixToFour.Contains(a.WithZone("")):
		bits = 40
	}
	p, _ := a.Prefix(bits) // the zero Prefix for the zero Addr; never an error
	return p.Addr()
}

var sixToFour = netip.MustParsePrefix("2002::/16")

// TruncateIPString parses s with netip.ParseAddr, truncates the address
// with TruncateIP and returns it in netip.Addr's String form (RFC 5952
// for IPv6). An s that is not an IP address is an error wrapping
// ErrInvalid, which does not hold s.
func TruncateIPString(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", &Error{Op: "truncate", Field: "ip", Err: errNotIP}
	}
	return TruncateIP(a).String(), nil
}

var errNotIP = because(ErrInvalid, "not an IP address", nil)

// Granularity is how much of a time Coarsen keeps. Its values are
// strings, so that a Policy.Strategy or a configuration can name them.
type Granularity string

// The granularities, from the finest.
const (
	Hour  Granularity = "hour"
	Day   Granularity = "day"
	Month Granularity = "month"
	Year  Granularity = "year"
)

// Valid reports whether g is one of the Granularities above.
func (g Granularity) Valid() bool {
	switch g {
	case Hour, Day, Month, Year:
		return true
	}
	return false
}

// Coarsen returns the start of the hour, day, month or year, as g says,
// that t falls in on the clock of t's location: the first instant of the
// run of instants up to t at which that clock reads the same hour (day,
// month, year) as it reads at t. The result is in t's location, never
// after t, without a monotonic clock reading, and Coarsen is
// idempotent.
//
// It counts on the wall clock, not in fixed durations from the Unix
// epoch as time.Time.Truncate does, so it is right in locations whose
// offset is not a whole number of hours (Asia/Kolkata, +05:30) and on
// the days clocks change:
//
//   - a day that starts later than midnight because the clocks went
//     forward at midnight (America/Havana, 10 March 2024) starts at the
//     first instant of that day, 01:00;
//   - on the day clocks go back, the hour that repeats is one hour of
//     the clock that lasts two (in Europe/Berlin on 27 October 2024,
//     02:30 CET coarsens to 02:00 CEST, an hour and a half before), and
//     a day may last 25 hours, or 23.
//
// A g that is not Valid (an unknown name, "week", or one in the wrong
// case, "HOUR") is an error wrapping ErrInvalid, an *Error of Op
// "coarsen" and Field "g", with the zero Time. Its text quotes g only if
// g is a short name of lower-case letters, digits, '_', '.' and '-', so
// that a value typed into the wrong field is never echoed.
func Coarsen(t time.Time, g Granularity) (time.Time, error) {
	if !g.Valid() {
		return time.Time{}, wrap("coarsen", invalid("g", "unknown granularity "+show(string(g))))
	}
	t = t.Round(0)
	for {
		// Within the zone period of t the offset is constant, so the
		// wall clock and the instant move together.
		s := t.Add(-sinceStart(t, g))
		start, _ := t.ZoneBounds()
		if start.IsZero() || s.After(start) {
			return s, nil
		}
		if s.Equal(start) {
			// The period began with the bucket; the clock before may
			// have read the same bucket already (clocks went back).
			prev := start.Add(-1)
			if !sameBucket(prev, t, g) {
				return s, nil
			}
			t = prev
			continue
		}
		// The bucket began before the period of t: either the clock
		// read the bucket before the change too (it went back, or
		// forward within the bucket), or the bucket began with the
		// change (the clock jumped over the bucket's start).
		prev := start.Add(-1)
		if !sameBucket(prev, t, g) {
			return start, nil
		}
		t = prev
	}
}

// sinceStart returns the time t's clock has run since the start of its
// hour (day, month, year), at t's offset.
func sinceStart(t time.Time, g Granularity) time.Duration {
	d := time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second +
		time.Duration(t.Nanosecond())
	switch g {
	case Day:
		d += time.Duration(t.Hour()) * time.Hour
	case Month:
		d += time.Duration(t.Day()-1)*24*time.Hour + time.Duration(t.Hour())*time.Hour
	case Year:
		d += time.Duration(t.YearDay()-1)*24*time.Hour + time.Duration(t.Hour())*time.Hour
	}
	return d
}

// sameBucket reports whether a and b, in one location, read the same
// hour (day, month, year) on its clock.
func sameBucket(a, b time.Time, g Granularity) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	switch g {
	case Year:
		return ay == by
	case Month:
		return ay == by && am == bm
	case Day:
		return ay == by && am == bm && ad == bd
	}
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour()
}

// BirthYear returns the year of a date of birth, on birth's calendar
// (birth.Year()): pass the date in the location it was recorded in; a
// SQL DATE scans as midnight UTC, so do not convert it to local time.
//
// A year of birth never changes and is the same in every dataset that
// keeps it, so it links records across them; AgeBand reveals less. See
// the package documentation: neither is anonymous by itself.
func BirthYear(birth time.Time) int { return birth.Year() }

// AgeBand returns the band of width years that holds the age, in
// completed years at now, of a person born on birth: lo is a multiple of
// width and hi = lo+width-1, so age 32 in bands of 5 is (30, 34). The
// age is counted on the calendars of the arguments (birth's date as
// birth's location reads it, now's as now's does), and a birthday on 29
// February counts as having passed on 1 March in a year that is not a
// leap year. A birth after now gives a negative band, (-5, -1) for
// width 5 and a birth a day after now: such data need checking, not
// anonymising. A width less than 1 is an error wrapping ErrInvalid, an
// *Error of Op "age band" and Field "width", with the band (0, 0).
//
// Use one now for a whole dataset, and a width of 5 or more; an age band
// changes as time passes, so store the date it was computed at with it,
// coarsened too. AgeBand is the safer of BirthYear and AgeBand, and not
// anonymous by itself: the oldest bands hold few people, so top-code
// them (e.g. every lo of 90 or more as "90 and over").
func AgeBand(birth, now time.Time, width int) (lo, hi int, err error) {
	if width < 1 {
		return 0, 0, wrap("age band", invalid("width", "width must be at least 1"))
	}
	by, bm, bd := birth.Date()
	ny, nm, nd := now.Date()
	age := ny - by
	if nm < bm || nm == bm && nd < bd {
		age--
	}
	lo = age / width * width
	if age%width < 0 {
		lo -= width
	}
	return lo, lo + width - 1, nil
}

// GeneralisePostcode returns the first keep letters and digits of a
// postcode, upper-cased, without its spaces and hyphens: "10115" keeping
// 2 is "10", the UK "SW1A 1AA" keeping 4 is its outward code "SW1A",
// "sw1a 1aa" keeping 5 is "SW1A1", the Polish "00-950" keeping 2 is
// "00". A code with no more than keep letters and digits is returned
// whole, normalised so. GeneralisePostcode is idempotent.
//
// The code is trimmed of surrounding white space; what is left must be
// ASCII letters and digits, separated by single spaces or hyphens, at
// most one between two characters and none at either end. Any other
// code, including one with other scripts' digits or letters, and a keep
// less than 1, is an error wrapping ErrInvalid that does not hold the
// code.
//
// A short prefix can still single out a person where few people live;
// see the package documentation.
func GeneralisePostcode(code string, keep int) (string, error) {
	if keep < 1 {
		return "", &Error{Op: "generalise", Field: "keep", Err: errKeep}
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return "", &Error{Op: "generalise", Field: "postcode", Err: errEmptyPostcode}
	}
	out := make([]byte, 0, min(keep, len(code)))
	sep := true // a separator may not come first
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case '0' <= c && c <= '9', 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case c == ' ' || c == '-':
			if sep {
				return "", &Error{Op: "generalise", Field: "postcode", Err: errSeparator}
			}
			sep = true
			continue
		default:
			return "", &Error{Op: "generalise", Field: "postcode", Err: errPostcodeChar}
		}
		sep = false
		if len(out) < keep {
			out = append(out, c)
		}
	}
	if sep {
		return "", &Error{Op: "generalise", Field: "postcode", Err: errSeparator}
	}
	return string(out), nil
}

var (
	errKeep          = because(ErrInvalid, "keep must be at least 1", nil)
	errEmptyPostcode = because(ErrInvalid, "empty postcode", nil)
	errSeparator     = because(ErrInvalid, "a postcode's spaces and hyphens come singly, between letters or digits", nil)
	errPostcodeChar  = because(ErrInvalid, "a postcode holds ASCII letters, digits, spaces and hyphens only", nil)
)

// MinPseudonymKeyLen is the shortest key NewPseudonymiser takes, in
// bytes.
const MinPseudonymKeyLen = 32

// PseudonymLen is the length of every pseudonym, in bytes: 32 bytes of
// HMAC-SHA256 in unpadded base64url.
const PseudonymLen = 43

// Pseudonymiser gives keyed pseudonyms: the same (domain, value) gives
// the same pseudonym under one key, and nobody without the key can
// compute or invert them. A pseudonym is pseudonymisation (Art. 4(5)),
// not anonymisation: it is personal data while the key exists, and even
// without the key when the values come from a small or skewed set; see
// the package documentation.
//
// The key never prints: String, GoString and Format show
// "retention.Pseudonymiser{key: [redacted]}" under every verb, and the
// struct holds the key only where fmt does not look. A Pseudonymiser is
// safe for concurrent use and must not be copied after first use.
type Pseudonymiser struct {
	pool sync.Pool // of *macState, made with a copy of the key
}

type macState struct {
	h   hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// maxKeptBuf is the largest message buffer a pooled state keeps.
const maxKeptBuf = 64 << 10

// NewPseudonymiser returns a Pseudonymiser keyed by a copy of key, which
// must be at least MinPseudonymKeyLen random bytes (and not all zero).
// Use the key for nothing else, keep it apart from the data it
// pseudonymises, and keep it for as long as the same values must give
// the same pseudonyms. An error wraps ErrInvalid and does not hold the
// key.
func NewPseudonymiser(key []byte) (*Pseudonymiser, error) {
	if len(key) < MinPseudonymKeyLen {
		return nil, &Error{Op: "new", Field: "key", Err: errShortKey}
	}
	var or byte
	for _, b := range key {
		or |= b
	}
	if or == 0 {
		return nil, &Error{Op: "new", Field: "key", Err: errZeroKey}
	}
	k := append([]byte(nil), key...)
	p := &Pseudonymiser{}
	p.pool.New = func() any { return &macState{h: hmac.New(sha256.New, k)} }
	return p, nil
}

var (
	errShortKey = because(ErrInvalid, "a key needs at least 32 bytes", nil)
	errZeroKey  = because(ErrInvalid, "a key of zero bytes only is not a key", nil)
)

// Pseudonym returns the pseudonym of value in domain: HMAC-SHA256 under
// the key of
//
//	uint64be(len(domain)) || domain || uint64be(len(value)) || value
//
// (lengths in bytes, big-endian), in unpadded base64url (RFC 4648
// section 5), PseudonymLen bytes. The lengths keep ("ab", "c") and ("a",
// "bc") apart. The domain names what the value is, e.g. "users.email":
// the same value in another domain gives an unrelated pseudonym, so
// columns cannot be joined on pseudonyms unless they share a domain.
// Values are taken byte for byte; normalise them first (trim, lower-case
// an e-mail address) where equal values may be written differently.
func (p *Pseudonymiser) Pseudonym(domain, value string) string {
	m := p.pool.Get().(*macState)
	m.buf = appendMessage(m.buf[:0], domain, value)
	return p.finish(m)
}

// PseudonymBytes is Pseudonym of string(value), for a column value
// scanned as bytes (sql.RawBytes), without copying it to a string.
func (p *Pseudonymiser) PseudonymBytes(domain string, value []byte) string {
	m := p.pool.Get().(*macState)
	m.buf = appendMessage(m.buf[:0], domain, value)
	return p.finish(m)
}

func appendMessage[V string | []byte](b []byte, domain string, value V) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(domain)))
	b = append(b, domain...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(value)))
	return append(b, value...)
}

func (p *Pseudonymiser) finish(m *macState) string {
	m.h.Reset()
	m.h.Write(m.buf)
	m.h.Sum(m.sum[:0])
	var out [PseudonymLen]byte
	base64.RawURLEncoding.Encode(out[:], m.sum[:])
	if cap(m.buf) > maxKeptBuf {
		m.buf = nil
	}
	p.pool.Put(m)
	return string(out[:])
}

// String returns "retention.Pseudonymiser{key: [redacted]}": the key
// never prints.
func (p *Pseudonymiser) String() string {
	if p == nil {
		return "(*retention.Pseudonymiser)(nil)"
	}
	return "retention.Pseudonymiser{key: [redacted]}"
}

// GoString returns the same as String, for %#v.
func (p *Pseudonymiser) GoString() string { return p.String() }

// Format prints String under every verb (%v, %+v, %#v, %s, %q, %x, …).
func (p *Pseudonymiser) Format(f fmt.State, _ rune) { io.WriteString(f, p.String()) }
