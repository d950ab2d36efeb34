package retention

import (
	"slices"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

// Start is the event a retention period counts from. A Deleter's time
// column holds that event's instant for each record.
type Start string

// The events a period counts from.
const (
	// FromCollection counts from when the data were collected: a row's
	// creation time.
	FromCollection Start = "collection"
	// FromLastActivity counts from the subject's last activity: a login,
	// an order, a reply. The time moves forward while the subject is
	// active.
	FromLastActivity Start = "last_activity"
	// FromRelationshipEnd counts from the end of the relationship: a
	// contract's termination, an account's closure. A record whose
	// relationship has not ended has no such time (NULL in SQL) and never
	// expires.
	FromRelationshipEnd Start = "relationship_end"
	// FromHostTime counts from another instant the host keeps per record
	// (the end of a tax year, a warranty's end), named in Policy.Reason.
	FromHostTime Start = "host_time"
)

// Valid reports whether s is one of the Starts above.
func (s Start) Valid() bool {
	switch s {
	case FromCollection, FromLastActivity, FromRelationshipEnd, FromHostTime:
		return true
	}
	return false
}

// Action is what happens to a record at the end of its period.
type Action string

// The actions.
const (
	// Delete removes the record.
	Delete Action = "delete"
	// Anonymise keeps the record with its personal data removed or
	// masked, by the strategy Policy.Strategy names; the record is
	// unlinked from its subject.
	Anonymise Action = "anonymise"
	// Review leaves the record as it is and counts it as due for review
	// by a person, who decides whether a ground to keep it remains. A
	// sweep reports the count and records it; it changes nothing.
	Review Action = "review"
)

// Valid reports whether a is one of the Actions above.
func (a Action) Valid() bool {
	switch a {
	case Delete, Anonymise, Review:
		return true
	}
	return false
}

// Policy is the retention policy of one data category (Art. 5(1)(e),
// Art. 30(1)(f)): how long its records are kept, from which event, and
// what happens to them at the end.
type Policy struct {
	// Category is the data category, as the Register declares it
	// (gdpr.Category.ID); required.
	Category string `json:"category"`
	// Period is how long records are kept after From; required, not
	// zero.
	Period gdpr.Period `json:"period"`
	// From is the event the Period counts from; default FromCollection.
	From Start `json:"from,omitempty"`
	// Action is what happens at the end; default Delete.
	Action Action `json:"action,omitempty"`
	// Strategy names the anonymisation strategy, a key the target's
	// Deleter knows; required when Action is Anonymise, empty otherwise.
	Strategy string `json:"strategy,omitempty"`
	// Reason states why the data are kept that long (a law, "§ 147 AO",
	// a contract term) for the register and the subject's reply; no
	// personal data.
	Reason string `json:"reason,omitempty"`
}

// Limits of a Policy's and a Hold's strings, in bytes.
const (
	// MaxKeyLen is the longest category, strategy, hold ID and target
	// name.
	MaxKeyLen = 255
	// MaxTextLen is the longest reason.
	MaxTextLen = 4096
)

// withDefaults returns p with From and Action set to their defaults.
func (p Policy) withDefaults() Policy {
	if p.From == "" {
		p.From = FromCollection
	}
	if p.Action == "" {
		p.Action = Delete
	}
	return p
}

// Validate reports whether p is a policy a sweep can enforce: a category,
// a valid Period that is not zero, a known From and Action (empty for
// the defaults) and a Strategy exactly when the Action is Anonymise. The
// error wraps ErrInvalid and names the field at fault.
func (p Policy) Validate() error { return wrap("policy", p.validate()) }

func (p Policy) validate() error {
	switch {
	case p.Category == "":
		return invalid("category", "a policy needs a data category")
	case !validKey(p.Category):
		return invalid("category", "a category is a key of at most 255 bytes with no control characters")
	case p.Period.Validate() != nil:
		return invalid("period", p.Period.Validate().Error())
	case p.Period.IsZero():
		return invalid("period", "a retention period must not be zero")
	case p.From != "" && !p.From.Valid():
		return invalid("from", "unknown start "+show(string(p.From)))
	case p.Action != "" && !p.Action.Valid():
		return invalid("action", "unknown action "+show(string(p.Action)))
	case p.Action == Anonymise && p.Strategy == "":
		return invalid("strategy", "anonymise needs a strategy")
	case p.Action != Anonymise && p.Strategy != "":
		return invalid("strategy", "a strategy is for the anonymise action only")
	case p.Strategy != "" && !validKey(p.Strategy):
		return invalid("strategy", "a strategy is a key of at most 255 bytes with no control characters")
	case len(p.Reason) > MaxTextLen:
		return invalid("reason", "longer than 4096 bytes")
	}
	return nil
}

// validKey reports whether s is a non-empty key of at most MaxKeyLen
// bytes, valid UTF-8 without control characters or surrounding spaces.
func validKey(s string) bool {
	if s == "" || len(s) > MaxKeyLen || strings.TrimSpace(s) != s || !validText(s) {
		return false
	}
	return true
}

func validText(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
	}
	return true
}

// Expiry returns the instant from which a record whose period started at
// start has expired: the first instant (00:00, or where the clocks jump
// over midnight the instant they jump), in start's location, of the day
// after the period's last day. The period is counted as gdpr.Deadline
// counts the time limits of Art. 12(3), by Regulation (EEC, Euratom) No
// 1182/71, without its move past weekends and holidays (Art. 3(4)),
// which has no sense for keeping data: the day of the event does not
// count (Art. 3(1)); a period of months or years ends with the day of the
// same date, or with the last day of a month that has no such date
// (Art. 3(2)(c)). The count is whole days, rounded up: a conservative
// default, which keeps data to the end of the period's last day and no
// longer; a law that counts otherwise (from the end of a calendar year,
// as § 147(4) AO does) is met with FromHostTime and a time column that
// holds that start. So data collected
// on 15 January at 10:00 with a period of P1M are kept through 15
// February and expire at 00:00 on 16 February; data of 31 January with
// P1M expire at 00:00 on 1 March, of 29 February 2024 with P1Y at 00:00 on
// 1 March 2025.
//
// Expiry depends only on start's date, and never decreases as start
// moves forward, so the expired records at any instant are exactly those
// whose start is before Cutoff.
func (p Policy) Expiry(start time.Time) time.Time {
	y, m, d := start.Date()
	return p.expiryOf(civil(y, m, d), start.Location())
}

// expiryOf is Expiry of a record started on the civil date day (00:00
// UTC of it), in loc.
func (p Policy) expiryOf(day time.Time, loc *time.Location) time.Time {
	last := p.Period.AddTo(day) // UTC: no day is shorter or longer
	y, m, d := last.AddDate(0, 0, 1).Date()
	return firstInstant(y, m, d, loc)
}

// Cutoff returns the instant before which every record has expired at
// now: a record whose start is before Cutoff(now) has an Expiry not after
// now, and one whose start is at or after it has not expired yet. It is
// the first instant, in now's location, of the first day whose records
// have not expired (00:00, or the instant the clocks moved to where a
// day's midnight does not exist). The Sweeper reads now in its location
// (WithLocation, UTC by default).
func (p Policy) Cutoff(now time.Time) time.Time {
	loc := now.Location()
	y, m, d := now.Date()
	// Days are walked as civil dates, 00:00 UTC of each, so that no
	// daylight-saving change can hold the walk on one day. A first
	// guess, the period counted back from now's date, is within a few
	// days of the answer (month ends clamp by at most three days).
	day := civil(y-p.Period.Years, m-time.Month(p.Period.Months), d-7*p.Period.Weeks-p.Period.Days)
	expired := func(day time.Time) bool { return !p.expiryOf(day, loc).After(now) }
	// Expiry is non-decreasing in the date: walk to the first day that
	// has not expired.
	for expired(day) {
		day = day.AddDate(0, 0, 1)
	}
	for !expired(day.AddDate(0, 0, -1)) {
		day = day.AddDate(0, 0, -1)
	}
	y, m, d = day.Date()
	return firstInstant(y, m, d, loc)
}

// civil returns the civil date y-m-d, normalised as time.Date does, as
// 00:00 UTC of it.
func civil(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// firstInstant returns the first instant of the civil date y-m-d (as
// normalised by time.Date) in loc: 00:00, or, where the clocks jump over
// midnight (America/Havana on 10 March 2024, Atlantic/Azores on the last
// Sunday of March), the instant they jump, which reads 01:00.
func firstInstant(y int, m time.Month, d int, loc *time.Location) time.Time {
	y, m, d = civil(y, m, d).Date()
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if ty, tm, td := t.Date(); ty != y || tm != m || td != d {
		// time.Date gave an instant of the day before, in the period
		// before the jump: the day begins where that period ends.
		if _, end := t.ZoneBounds(); !end.IsZero() {
			t = end
		}
	}
	return t
}

// Policies returns the policies of every data category the Register
// declares, as NewSweeper does with WithRegister and WithPolicies: a
// category takes its activity's retention Period, counted from
// collection and ending in deletion; a category several activities keep
// takes the longest of their periods, since records that serve several
// purposes are needed while any of them is (records of one purpose kept
// apart, a newsletter list beside the customer file, are better
// categories of their own, or given a policy in code); a policy of code
// replaces the Register's for its category. A nil Register gives the
// policies of code alone.
//
// It is an error wrapping ErrInvalid when a policy fails Validate or two
// policies of code name one category; ErrUnknownCategory when a Register
// is given and a policy names a category it does not declare; ErrNoPolicy
// when a category of the Register is kept by an activity whose rule has
// no Period (only a Description, "until the end of the contract"),
// whatever the other activities say, and no policy of code gives one.
// The result is sorted by category.
func Policies(reg *gdpr.Register, code ...Policy) ([]Policy, error) {
	out, err := policies(reg, code)
	return out, wrap("", err)
}

func policies(reg *gdpr.Register, code []Policy) ([]Policy, error) {
	byCat := map[string]Policy{}
	for i, p := range code {
		if err := p.validate(); err != nil {
			return nil, atIndex("policies", i, err)
		}
		if _, dup := byCat[p.Category]; dup {
			return nil, invalid("policies", "two policies for category "+show(p.Category))
		}
		byCat[p.Category] = p.withDefaults()
	}
	if reg != nil {
		declared := map[string]bool{}
		fromReg := map[string]gdpr.Period{}
		described := map[string]bool{}
		for _, a := range reg.Activities {
			for _, c := range a.DataCategories {
				declared[c.ID] = true
				if a.Retention.Period.IsZero() {
					// A rule of words alone ("until the account is
					// closed"): whatever period another activity gives,
					// only code can say when this one's data go.
					described[c.ID] = true
				}
				if cur, ok := fromReg[c.ID]; !ok || longer(a.Retention.Period, cur) {
					fromReg[c.ID] = a.Retention.Period
				}
			}
		}
		for _, p := range code {
			if cat := p.Category; !declared[cat] {
				return nil, at("policies", because(ErrUnknownCategory, "category "+show(cat)+" is not in the register", nil))
			}
		}
		cats := make([]string, 0, len(fromReg))
		for cat := range fromReg {
			cats = append(cats, cat)
		}
		slices.Sort(cats)
		for _, cat := range cats {
			period := fromReg[cat]
			if _, ok := byCat[cat]; ok {
				continue
			}
			if period.IsZero() || described[cat] {
				return nil, at("policies", because(ErrNoPolicy, "the register gives category "+show(cat)+" no period in some activity; a policy must", nil))
			}
			byCat[cat] = Policy{Category: cat, Period: period}.withDefaults()
		}
	}
	out := make([]Policy, 0, len(byCat))
	for _, p := range byCat {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Policy) int { return strings.Compare(a.Category, b.Category) })
	return out, nil
}

// longer reports whether a lasts longer than b from a common start: the
// later of their ends, counted from a fixed date.
func longer(a, b gdpr.Period) bool {
	ref := time.Date(2000, time.January, 31, 0, 0, 0, 0, time.UTC)
	return a.AddTo(ref).After(b.AddTo(ref))
}
