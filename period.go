package gdpr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Period is a calendar duration of ISO 8601 restricted to dates: years,
// months, weeks and days, written PnYnMnWnD ("P2Y", "P6M", "P30D", "P1Y6M").
// It has no time part. The Register uses it for retention periods
// (Art. 5(1)(e), Art. 30(1)(f)).
//
// A Period is a calendar quantity, not a fixed number of seconds: one month
// after 31 January is the last day of February, see AddTo. The zero Period is
// the empty duration, written "P0D".
//
// In JSON and other text encodings a Period is its ISO 8601 string.
type Period struct {
	Years, Months, Weeks, Days int
}

// MaxPeriodYears bounds the length of a Period: ParsePeriod and Validate
// reject periods longer than this many years, counting a year as 365.2425
// days, a month as a twelfth of that and a week as seven days.
const MaxPeriodYears = 10000

// Period lengths are compared in units of 1/4800 day, in which a Gregorian
// month (146097/4800 days) and year are whole numbers.
const (
	cycleDays     = 146097                               // days in 400 Gregorian years
	unitsPerDay   = 4800                                 // 400 years × 12 months
	unitsPerMonth = cycleDays                            // one average month
	unitsPerYear  = 12 * unitsPerMonth                   // one average year
	maxUnits      = MaxPeriodYears * int64(unitsPerYear) // the longest period
	maxComponent  = MaxPeriodYears * cycleDays / 400     // 3652425 days: no field may exceed this
)

// ParsePeriod parses an ISO 8601 duration of the form PnYnMnWnD: the letter
// P followed by one or more of years (Y), months (M), weeks (W) and days (D),
// each at most once and in that order, each a non-negative decimal integer.
// Time parts ("PT1H"), fractions, signs, lower-case designators, the empty
// duration "P" and periods longer than MaxPeriodYears are rejected. "P0D" is
// the zero Period.
//
// For every Period p that ParsePeriod returns, ParsePeriod(p.String())
// returns p again. The error wraps ErrInvalid.
func ParsePeriod(s string) (Period, error) {
	var p Period
	if len(s) < 2 || s[0] != 'P' {
		return Period{}, periodSyntaxError(s)
	}
	const designators = "YMWD"
	next := 0 // index in designators of the next designator allowed
	for rest := s[1:]; rest != ""; {
		n, i := 0, 0
		for ; i < len(rest) && '0' <= rest[i] && rest[i] <= '9'; i++ {
			n = n*10 + int(rest[i]-'0')
			if n > maxComponent {
				return Period{}, fmt.Errorf("%w: period longer than %d years", ErrInvalid, MaxPeriodYears)
			}
		}
		if i == 0 || i == len(rest) {
			return Period{}, periodSyntaxError(s)
		}
		k := strings.IndexByte(designators[next:], rest[i])
		if k < 0 {
			return Period{}, periodSyntaxError(s)
		}
		k += next
		switch designators[k] {
		case 'Y':
			p.Years = n
		case 'M':
			p.Months = n
		case 'W':
			p.Weeks = n
		case 'D':
			p.Days = n
		}
		next = k + 1
		rest = rest[i+1:]
	}
	if err := p.Validate(); err != nil {
		return Period{}, err
	}
	return p, nil
}

func periodSyntaxError(s string) error {
	return fmt.Errorf("%w: period %s is not an ISO 8601 duration of the form PnYnMnWnD", ErrInvalid, showKey(s))
}

// Validate reports whether p can be written and parsed again: no field is
// negative and the whole is not longer than MaxPeriodYears. The error wraps
// ErrInvalid.
func (p Period) Validate() error {
	for _, v := range [...]int{p.Years, p.Months, p.Weeks, p.Days} {
		if v < 0 {
			return fmt.Errorf("%w: negative period", ErrInvalid)
		}
		if v > maxComponent {
			return fmt.Errorf("%w: period longer than %d years", ErrInvalid, MaxPeriodYears)
		}
	}
	units := int64(p.Years)*unitsPerYear + int64(p.Months)*unitsPerMonth +
		(7*int64(p.Weeks)+int64(p.Days))*unitsPerDay
	if units > maxUnits {
		return fmt.Errorf("%w: period longer than %d years", ErrInvalid, MaxPeriodYears)
	}
	return nil
}

// IsZero reports whether p is the empty duration. A struct field of type
// Period tagged `json:",omitzero"` is left out when IsZero is true.
func (p Period) IsZero() bool { return p == Period{} }

// String returns the ISO 8601 form, e.g. "P1Y6M", leaving out zero fields;
// the zero Period is "P0D". The String of a Period that fails Validate
// contains negative numbers and does not parse.
func (p Period) String() string {
	if p.IsZero() {
		return "P0D"
	}
	b := make([]byte, 0, 16)
	b = append(b, 'P')
	for _, f := range [...]struct {
		n int
		d byte
	}{{p.Years, 'Y'}, {p.Months, 'M'}, {p.Weeks, 'W'}, {p.Days, 'D'}} {
		if f.n != 0 {
			b = strconv.AppendInt(b, int64(f.n), 10)
			b = append(b, f.d)
		}
	}
	return string(b)
}

// MarshalText returns p.String(); a Period that fails Validate is an error
// wrapping ErrInvalid.
func (p Period) MarshalText() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return []byte(p.String()), nil
}

// UnmarshalText sets p to the period ParsePeriod returns for text.
func (p *Period) UnmarshalText(text []byte) error {
	v, err := ParsePeriod(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// AddTo returns t moved forward by p on the calendar of t's location, keeping
// the clock time: first by p.Years and p.Months, then by p.Weeks and p.Days.
//
// Years and months move to the same day of the target month; where that day
// does not exist, to the last day of the target month, as Article 3(2)(c) of
// Regulation No 1182/71 counts periods in months. So one month after 31
// January 2025 is 28 February 2025 and one year after 29 February 2024 is 28
// February 2025; time.Time.AddDate would give 3 March and 1 March. Days are
// then added one calendar day at a time, so a day across a daylight-saving
// change is 23 or 25 hours long, as with AddDate.
func (p Period) AddTo(t time.Time) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	y, m, d = addMonths(y, m, d, 12*p.Years+p.Months)
	return time.Date(y, m, d+7*p.Weeks+p.Days, hh, mm, ss, t.Nanosecond(), t.Location())
}

// addMonths returns the date n months after y-m-d, the day clamped to the
// last day of the target month (Regulation 1182/71, Art. 3(2)(c)).
func addMonths(y int, m time.Month, d, n int) (int, time.Month, int) {
	months := int(m) - 1 + n
	y += months / 12
	months %= 12
	if months < 0 {
		months += 12
		y--
	}
	m = time.Month(months + 1)
	if last := daysIn(y, m); d > last {
		d = last
	}
	return y, m, d
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
