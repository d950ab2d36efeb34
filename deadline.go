package gdpr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Calendar reports the public holidays that, with Saturdays and Sundays, are
// not working days at the controller's place of business. Saturdays and
// Sundays are never working days whatever the Calendar says.
//
// IsHoliday must be safe for concurrent use if deadlines are computed
// concurrently, and must not report every day as a holiday (see NewDeadline).
type Calendar interface {
	IsHoliday(year int, month time.Month, day int) bool
}

// Holidays is a set of dates that implements Calendar. The zero value is an
// empty set, ready to use. A copy of a Holidays shares its dates with the
// original.
//
// IsHoliday may be called concurrently; Add must not run concurrently with
// any other method.
type Holidays struct {
	days map[civilDate]struct{}
}

type civilDate struct {
	year  int
	month time.Month
	day   int
}

var _ Calendar = Holidays{}

// NewHolidays returns the set of the given dates, each written YYYY-MM-DD as
// in "2026-12-25". A malformed or non-existent date is an error wrapping
// ErrInvalid.
func NewHolidays(dates ...string) (Holidays, error) {
	var h Holidays
	for i, s := range dates {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return Holidays{}, fmt.Errorf("%w: holiday %d: %s is not a YYYY-MM-DD date", ErrInvalid, i, showKey(s))
		}
		h.Add(t.Date())
	}
	return h, nil
}

// Add adds a date to the set. Out-of-range values are normalised as by
// time.Date: Add(2026, time.December, 32) adds 1 January 2027.
func (h *Holidays) Add(year int, month time.Month, day int) {
	if h.days == nil {
		h.days = make(map[civilDate]struct{})
	}
	year, month, day = time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Date()
	h.days[civilDate{year, month, day}] = struct{}{}
}

// IsHoliday reports whether the date is in the set. Dates are not
// normalised: IsHoliday(2026, time.December, 32) is false.
func (h Holidays) IsHoliday(year int, month time.Month, day int) bool {
	_, ok := h.days[civilDate{year, month, day}]
	return ok
}

// Deadline is the time limit within which a controller must act on a data
// subject's request under Articles 15 to 22: "without undue delay and in any
// event within one month of receipt of the request", extendable "by two
// further months where necessary" (Art. 12(3)).
//
// The period is counted by Regulation (EEC, Euratom) No 1182/71, which the
// GDPR's time limits follow:
//
//   - the day of receipt does not count (Art. 3(1));
//   - a period in months ends at the end of the day in the last month that
//     has the same date as the day of receipt, or at the end of that month's
//     last day if it has no such date (Art. 3(2)(c)): a request received on
//     15 March is due by the end of 15 April, one received on 31 January by
//     the end of 28 (or 29) February;
//   - a period whose last day is a Saturday, a Sunday or a public holiday
//     ends at the end of the following working day (Art. 3(4)).
//
// Dates are those of the controller's Location, so a request sent at 23:30
// UTC on 31 March is received on 1 April in Berlin.
//
// Build a Deadline with NewDeadline, which keeps the Calendar for Extend.
//
// In JSON a Deadline keeps its Location, by its IANA name (see MarshalJSON),
// but not its Calendar, which is code, not data. A Deadline loaded from
// JSON, or rebuilt from its exported fields, has no Calendar, and Extend
// then skips only Saturdays and Sundays: re-attach the Calendar with
// WithCalendar before calling Extend.
type Deadline struct {
	// Received is the instant the request was received, as given.
	Received time.Time `json:"received"`
	// Location is the time zone in which days are counted; never nil in a
	// Deadline from NewDeadline or from UnmarshalJSON. In JSON it is the
	// zone's IANA name, e.g. "Europe/Berlin".
	Location *time.Location `json:"location"`
	// LastDay is 00:00, in Location, of the last day of the period, after
	// any move to the next working day.
	LastDay time.Time `json:"last_day"`
	// Due is the instant the period expires: 00:00, in Location, of the day
	// after LastDay. The controller is in time at any instant before Due.
	Due time.Time `json:"due"`
	// Extended reports whether the period was extended by Extend.
	Extended bool `json:"extended"`
	// ExtensionReason is the reason given to Extend; empty if not extended.
	ExtensionReason string `json:"extension_reason,omitempty"`

	cal Calendar
}

// WithCalendar returns d with cal as its Calendar, the public holidays that
// Extend skips; nil for none. It does not recompute LastDay or Due: it is
// for re-attaching the Calendar that NewDeadline was given to a Deadline
// loaded from JSON or rebuilt from its fields.
func (d Deadline) WithCalendar(cal Calendar) Deadline {
	d.cal = cal
	return d
}

// deadlineJSON is the JSON form of a Deadline.
type deadlineJSON struct {
	Received        time.Time `json:"received"`
	Location        string    `json:"location"`
	LastDay         time.Time `json:"last_day"`
	Due             time.Time `json:"due"`
	Extended        bool      `json:"extended"`
	ExtensionReason string    `json:"extension_reason,omitempty"`
}

// maxZoneNameLen bounds the time zone names UnmarshalJSON accepts; the
// longest IANA name has 32 bytes.
const maxZoneNameLen = 64

// MarshalJSON encodes d as a JSON object with the fields received,
// location, last_day, due, extended and extension_reason. The location is
// the name of d.Location as time.LoadLocation takes it: an IANA name such
// as "Europe/Berlin", "UTC" (also for a nil Location) or "Local" (the
// time.Local of the program that decodes it, which may differ). The Calendar
// is not encoded.
//
// Two things are checked, and a failure is an error wrapping ErrInvalid:
// that the name of d.Location loads (as "UTC", "Local" or by
// time.LoadLocation), and that the zone so loaded has the same UTC offset
// as d.Location at each of the three instants Received, LastDay and Due.
// Nothing else is compared: a Location that is not the named zone but
// agrees with it at those three instants passes. A time.FixedZone named
// "Europe/Berlin" with an offset of one hour, say, is rejected for a
// deadline that falls in summer time but accepted for one that lies wholly
// in winter time, and decodes as the IANA zone, whose offsets may differ at
// other instants. A time.FixedZone whose name does not load ("UTC+1", "")
// is always rejected.
func (d Deadline) MarshalJSON() ([]byte, error) {
	name := "UTC"
	if d.Location != nil {
		name = d.Location.String()
		loc, err := loadZone(name)
		if err != nil {
			return nil, err
		}
		for _, t := range []time.Time{d.Received, d.LastDay, d.Due} {
			_, want := t.In(d.Location).Zone()
			if _, got := t.In(loc).Zone(); got != want {
				return nil, fmt.Errorf("%w: deadline: time zone %s cannot be loaded back by its name", ErrInvalid, showZone(name))
			}
		}
	}
	return json.Marshal(deadlineJSON{
		Received:        exactJSONTime(d.Received),
		Location:        name,
		LastDay:         exactJSONTime(d.LastDay),
		Due:             exactJSONTime(d.Due),
		Extended:        d.Extended,
		ExtensionReason: d.ExtensionReason,
	})
}

// UnmarshalJSON decodes a Deadline written by MarshalJSON, replacing all of
// *d. The location is loaded with time.LoadLocation, and LastDay and Due are
// placed in it; an empty or missing location is UTC (as Deadlines written
// before the location was encoded were counted). An unknown time zone is an
// error wrapping ErrInvalid. The result has no Calendar: re-attach it with
// WithCalendar before calling Extend. A JSON null leaves *d unchanged.
//
// Errors wrap ErrInvalid and quote no value from data but a zone name
// shaped like an IANA name.
func (d *Deadline) UnmarshalJSON(data []byte) error {
	if string(bytes.TrimSpace(data)) == "null" {
		return nil
	}
	var j deadlineJSON
	if err := json.Unmarshal(data, &j); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return fmt.Errorf("%w: deadline: malformed JSON at byte %d", ErrInvalid, syn.Offset)
		case errors.As(err, &typ) && typ.Field != "":
			return fmt.Errorf("%w: deadline: %s: wrong JSON type", ErrInvalid, truncate(typ.Field, 40))
		}
		return fmt.Errorf("%w: deadline: malformed JSON", ErrInvalid)
	}
	loc, err := loadZone(j.Location)
	if err != nil {
		return err
	}
	for _, t := range []time.Time{j.Received, j.LastDay.In(loc), j.Due.In(loc)} {
		// Beyond these years MarshalJSON would fail, and no request is.
		if y := t.Year(); y < 1 || y > 9999 {
			return fmt.Errorf("%w: deadline: time out of range", ErrInvalid)
		}
	}
	*d = Deadline{
		Received:        j.Received,
		Location:        loc,
		LastDay:         j.LastDay.In(loc),
		Due:             j.Due.In(loc),
		Extended:        j.Extended,
		ExtensionReason: j.ExtensionReason,
	}
	return nil
}

// exactJSONTime returns t, or t in UTC if its UTC offset has seconds (local
// mean time before a zone adopted standard time, say), which RFC 3339 and
// so JSON cannot write: written with the offset cut to minutes, the instant
// would change.
func exactJSONTime(t time.Time) time.Time {
	if _, off := t.Zone(); off%60 != 0 {
		return t.UTC()
	}
	return t
}

// loadZone loads the time zone with the given name: "" and "UTC" are
// time.UTC, "Local" is time.Local, any other name an IANA name. The error
// wraps ErrInvalid.
func loadZone(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return time.Local, nil
	}
	if len(name) > maxZoneNameLen {
		return nil, fmt.Errorf("%w: deadline: time zone name longer than %d bytes", ErrInvalid, maxZoneNameLen)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: deadline: unknown time zone %s", ErrInvalid, showZone(name))
	}
	return loc, nil
}

// showZone returns name quoted with %q if it has the shape of an IANA time
// zone name (a letter, then up to 63 ASCII letters, digits and "_+-/"), and
// "(value not shown)" otherwise, as showKey does for keys.
func showZone(name string) string {
	if name == "" || len(name) > maxZoneNameLen || !isASCIILetter(name[0]) {
		return notShown
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case isASCIILetter(c), '0' <= c && c <= '9', c == '_', c == '+', c == '-', c == '/':
		default:
			return notShown
		}
	}
	return strconv.Quote(name)
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// maxNonWorkingRun bounds the search for a working day, so that a Calendar
// that reports every day as a holiday cannot make NewDeadline loop forever.
const maxNonWorkingRun = 366

// NewDeadline returns the one-month deadline of Art. 12(3) for a request
// received at the instant received. Days are counted in loc (UTC if loc is
// nil); cal gives the public holidays (nil for none: only Saturdays and
// Sundays are non-working days).
//
// If cal reports more than a year of consecutive non-working days, the
// search for a working day stops there and that day is the last day.
func NewDeadline(received time.Time, loc *time.Location, cal Calendar) Deadline {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := received.In(loc).Date()
	d1 := Deadline{Received: received, Location: loc, cal: cal}
	d1.setLastDay(addMonths(y, m, d, 1))
	return d1
}

// Extend returns d with the period extended by two further months under
// Art. 12(3), "taking into account the complexity and number of the
// requests". reason is required: the controller must tell the subject the
// reasons for the delay. A period may be extended only once. On error, which
// wraps ErrInvalid, d is returned unchanged.
//
// The two months are counted from the last day of the first period before
// any move to a working day, with the same rule for months without the
// date, and the result is then moved to the next working day if needed. A
// request received on 31 January 2025 thus has its first period end on 28
// February and its extended period on 28 April 2025. Counting three months
// from receipt (30 April) or two months from a first period moved past a
// weekend would give the same date or a later one: this is the earliest of
// the plausible readings, so a controller that meets it meets every reading.
//
// Extend does not look at the clock. The subject must be told of the
// extension within the first period, so check d.Overdue first. A Deadline
// with a zero Received (the zero Deadline, say) has no period to extend and
// is an error.
func (d Deadline) Extend(reason string) (Deadline, error) { return d.ExtendBy(2, reason) }

// MaxExtensionMonths is the longest extension of Art. 12(3): "by two
// further months where necessary".
const MaxExtensionMonths = 2

// ExtendBy is Extend by months further months, 1 or 2 (MaxExtensionMonths):
// Art. 12(3) allows "up to" two, and a controller that needs less should
// take less. Any other number is an error wrapping ErrInvalid, and d is
// returned unchanged.
func (d Deadline) ExtendBy(months int, reason string) (Deadline, error) {
	if months < 1 || months > MaxExtensionMonths {
		return d, fmt.Errorf("%w: an extension is of one or two months (Art. 12(3))", ErrInvalid)
	}
	if d.Received.IsZero() {
		return d, fmt.Errorf("%w: deadline has no time of receipt", ErrInvalid)
	}
	if d.Extended {
		return d, fmt.Errorf("%w: deadline already extended", ErrInvalid)
	}
	if strings.TrimSpace(reason) == "" {
		return d, fmt.Errorf("%w: extension without a reason", ErrInvalid)
	}
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	e := d
	e.Location = loc
	y, m, day := d.Received.In(loc).Date()
	y, m, day = addMonths(y, m, day, 1)
	e.setLastDay(addMonths(y, m, day, months))
	e.Extended = true
	e.ExtensionReason = reason
	return e, nil
}

// setLastDay sets LastDay and Due from the unadjusted last day y-m-d of the
// period, moving it forward past Saturdays, Sundays and holidays.
func (d *Deadline) setLastDay(y int, m time.Month, day int) {
	// Civil dates are handled in UTC, where every day has 24 hours, and only
	// the results are placed in d.Location.
	t := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	for range maxNonWorkingRun {
		if isWorkingDay(t, d.cal) {
			break
		}
		t = t.AddDate(0, 0, 1)
	}
	y, m, day = t.Date()
	d.LastDay = time.Date(y, m, day, 0, 0, 0, 0, d.Location)
	d.Due = time.Date(y, m, day+1, 0, 0, 0, 0, d.Location)
}

func isWorkingDay(t time.Time, cal Calendar) bool {
	switch t.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	if cal == nil {
		return true
	}
	y, m, d := t.Date()
	return !cal.IsHoliday(y, m, d)
}

// Overdue reports whether the period has expired at now: whether now is at
// or after Due.
func (d Deadline) Overdue(now time.Time) bool { return !now.Before(d.Due) }

// Remaining returns the time from now until Due: positive while the
// controller is in time, zero or negative (the delay) once Overdue.
func (d Deadline) Remaining(now time.Time) time.Duration { return d.Due.Sub(now) }
