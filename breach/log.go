package breach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/google/uuid"
)

// MinSubjectKeyLen is the shortest subject key New accepts.
const MinSubjectKeyLen = 32

// Log is the breach register of Art. 33(5): every personal-data breach,
// notified or not, with its facts, effects and remedial action, the
// 72-hour clock, the notifications to the authority and the communications
// to the subjects. It is safe for concurrent use, and several Logs (in
// several processes) may share one Store.
type Log struct {
	store    Store
	key      []byte
	register *gdpr.Register
	now      func() time.Time
	loc      *time.Location
	recorder gdpr.Recorder
	trail    gdpr.Trail
	keys     gdpr.KeyCustodian
	batch    int
}

// New returns a Log over store. subjectKey, of at least MinSubjectKeyLen
// random bytes, keys the HMAC that names subjects in the records of their
// notices (Notice.Ref): keep it secret, apart from the database, and the
// same on every instance, or a resumed NotifySubjects cannot tell who was
// told. A nil store, a short key or a bad option is an *Error wrapping
// ErrInvalid.
func New(store Store, subjectKey []byte, opts ...Option) (*Log, error) {
	if store == nil {
		return nil, &Error{Op: "new", Field: "store", Err: because(ErrInvalid, "nil store", nil)}
	}
	if len(subjectKey) < MinSubjectKeyLen {
		return nil, &Error{Op: "new", Field: "subjectKey", Err: because(ErrInvalid,
			fmt.Sprintf("subject key shorter than %d bytes", MinSubjectKeyLen), nil)}
	}
	l := &Log{store: store, key: slices.Clone(subjectKey), now: time.Now, loc: time.UTC,
		recorder: gdpr.Discard, batch: 1000}
	for _, o := range opts {
		if o == nil {
			return nil, &Error{Op: "new", Field: "opts", Err: because(ErrInvalid, "nil option", nil)}
		}
		if err := o.apply(l); err != nil {
			return nil, wrap("new", err)
		}
	}
	return l, nil
}

// Format prints the Log's summary under every verb: no key material.
func (l *Log) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, l.String()) }

// String is the Log's summary: no key material.
func (l *Log) String() string { return "breach.Log{zone: " + l.loc.String() + "}" }

// GoString is the Log's summary, for %#v.
func (l *Log) GoString() string { return l.String() }

// Record records a breach the controller has become aware of, and returns
// it with its ID and Clock. r.Aware is required and may not be in the
// future; every category must be declared (WithRegister). The event is
// recorded through the Recorder first: if that fails, nothing is stored
// (ErrNotRecorded). Bad input is an *Error wrapping ErrInvalid (or
// ErrUnknownCategory) naming the field, with nothing written.
func (l *Log) Record(ctx context.Context, r Report) (Breach, error) {
	if err := checkCtx("record", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.record(ctx, r)
	return b, wrap("record", err)
}

func (l *Log) record(ctx context.Context, r Report) (Breach, error) {
	now := l.now()
	if r.Aware.IsZero() {
		return Breach{}, invalid("Aware", "when the controller became aware is required")
	}
	if r.Aware.After(now) {
		return Breach{}, invalid("Aware", "in the future")
	}
	if p := r.Processor; p != nil {
		if err := checkLine("Processor.Name", p.Name, maxName, true); err != nil {
			return Breach{}, err
		}
		if p.Aware.IsZero() || p.Aware.After(r.Aware) {
			return Breach{}, invalid("Processor.Aware", "the processor's awareness is required and not after the controller's")
		}
	}
	if len(r.Clear) > 0 {
		return Breach{}, invalid("Clear", "for Update only")
	}
	if len(r.Controllers) > 0 && r.Processor != nil {
		return Breach{}, invalid("Controllers", "a processor's own breach (Controllers) is not reported by a processor (Processor)")
	}
	seen := map[string]bool{}
	for i, c := range r.Controllers {
		f := fmt.Sprintf("Controllers[%d]", i)
		if err := checkLine(f, c, maxName, true); err != nil {
			return Breach{}, err
		}
		if seen[c] {
			return Breach{}, invalid(f, "given twice")
		}
		seen[c] = true
	}
	if err := l.checkDetails(r.Details, now); err != nil {
		return Breach{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Breach{}, err
	}
	rec := recorded{Aware: r.Aware.UTC(), Zone: l.loc.String(), Processor: r.Processor, Controllers: r.Controllers, Details: r.Details}
	if rec.Processor != nil {
		p := *rec.Processor
		p.Aware = p.Aware.UTC()
		rec.Processor = &p
	}
	ev, err := event(id.String(), 1, now, KindRecorded, rec)
	if err != nil {
		return Breach{}, err
	}
	if err := l.audit(ctx, "breach.recorded", ev.Breach, r.Categories, map[string]string{"event": "1"}); err != nil {
		return Breach{}, err
	}
	if err := l.store.Append(ctx, ev); err != nil {
		return Breach{}, err
	}
	return l.derive([]Event{ev})
}

// recorded is the Data of a KindRecorded event.
type recorded struct {
	Aware time.Time `json:"aware"`
	// Zone is the controller's zone when the breach was recorded: the
	// hours of its clock, whatever zone a Log reading it has later.
	Zone        string     `json:"zone,omitempty"`
	Processor   *Processor `json:"processor,omitempty"`
	Controllers []string   `json:"controllers,omitempty"`
	Details
}

// closure is the Data of a KindClosed event.
type closure struct {
	Reason string `json:"reason"`
}

// Update adds to or corrects what is known of breach id (Art. 33(4)): each
// non-zero field of d replaces the breach's (a list as a whole), and the
// fields d.Clear names are emptied (a value found wrong and not known
// now); every earlier value stays in the breach's events. An Update that
// changes nothing is refused. It returns the breach as
// it now is. ErrNotFound for an unknown breach, ErrClosed for a closed
// one.
func (l *Log) Update(ctx context.Context, id string, d Details) (Breach, error) {
	if err := checkCtx("update", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.change(ctx, id, func(b Breach, now time.Time) (Kind, any, string, error) {
		if err := l.checkDetails(d, now); err != nil {
			return "", nil, "", err
		}
		seen := map[string]bool{}
		for i, f := range d.Clear {
			if clearable[f] == nil || seen[f] {
				return "", nil, "", invalid(fmt.Sprintf("Clear[%d]", i), "a field of Details, once")
			}
			seen[f] = true
		}
		if len(d.Clear) == 0 && reflect.DeepEqual(d, Details{}) {
			return "", nil, "", invalid("Details", "nothing to update")
		}
		// The result must still hold together: an end before a start
		// is refused whichever update made it.
		next := b.Details
		next.merge(d)
		if !next.OccurredFrom.IsZero() && !next.OccurredUntil.IsZero() && next.OccurredUntil.Before(next.OccurredFrom) {
			return "", nil, "", invalid("OccurredUntil", "before OccurredFrom")
		}
		return KindUpdated, d, "breach.updated", nil
	})
	return b, wrap("update", err)
}

// Assess records the controller's assessment of the risk, with its
// reasoning, which is required. An Exemption of Art. 34(3) is for a high
// risk only, and needs its reasoning too.
func (l *Log) Assess(ctx context.Context, id string, a Assessment) (Breach, error) {
	if err := checkCtx("assess", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.change(ctx, id, func(b Breach, now time.Time) (Kind, any, string, error) {
		if !a.Risk.valid() {
			return "", nil, "", invalid("Risk", "one of none, risk, high")
		}
		if err := checkText("Reasoning", a.Reasoning, maxText, true); err != nil {
			return "", nil, "", err
		}
		seen := map[Ground]bool{}
		for i, e := range a.Exemptions {
			f := fmt.Sprintf("Exemptions[%d]", i)
			if e.Ground.Article() == "" {
				return "", nil, "", invalid(f+".Ground", "one of the grounds of Art. 34(3)")
			}
			if seen[e.Ground] {
				return "", nil, "", invalid(f+".Ground", "given twice")
			}
			seen[e.Ground] = true
			if err := checkText(f+".Reasoning", e.Reasoning, maxText, true); err != nil {
				return "", nil, "", err
			}
		}
		if len(a.Exemptions) > 0 && a.Risk != HighRisk {
			return "", nil, "", invalid("Exemptions", "the grounds of Art. 34(3) are for a high risk only")
		}
		return KindAssessed, a, "breach.assessed", nil
	})
	return b, wrap("assess", err)
}

// NotifyAuthority records a notification to the supervisory authority:
// the first (Art. 33(1)), or one that completes it (Art. 33(4)). n.At
// defaults to now; it may be neither before the controller became aware
// nor in the future. A first notification at or after the Clock's Due
// needs DelayReasons: without them it is refused with ErrLate and nothing
// is written. A notification after a final one is refused.
func (l *Log) NotifyAuthority(ctx context.Context, id string, n Notification) (Breach, error) {
	if err := checkCtx("notify", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.change(ctx, id, func(b Breach, now time.Time) (Kind, any, string, error) {
		if b.ForControllers() {
			return "", nil, "", invalid("id", "a processor reports the breach to its controllers (ReportToController), which notify the authority (Art. 33(1)-(2))")
		}
		if n.At.IsZero() {
			n.At = now
		}
		n.At, n.Recorded = n.At.UTC(), now.UTC().Truncate(time.Microsecond)
		switch {
		case n.At.After(now):
			return "", nil, "", invalid("At", "in the future")
		case n.At.Before(b.Clock.Aware):
			return "", nil, "", invalid("At", "before the controller became aware of the breach")
		}
		if err := checkLine("Authority", n.Authority, maxName, true); err != nil {
			return "", nil, "", err
		}
		if err := checkLine("Reference", n.Reference, maxName, false); err != nil {
			return "", nil, "", err
		}
		if err := checkText("DelayReasons", n.DelayReasons, maxText, false); err != nil {
			return "", nil, "", err
		}
		if len(b.Notifications) > 0 && b.Notifications[len(b.Notifications)-1].Final {
			return "", nil, "", invalid("Final", "the authority was given the final notification already")
		}
		if len(b.Notifications) == 0 && b.Clock.Late(n.At) && strings.TrimSpace(n.DelayReasons) == "" {
			return "", nil, "", errs.At("DelayReasons", because(ErrLate,
				"a notification after the 72 hours of Art. 33(1) must give the reasons for the delay", nil))
		}
		return KindNotified, n, "breach.notified", nil
	})
	return b, wrap("notify", err)
}

// ReportToController records a processor's report of its breach to one
// of the controllers the breach names (Report.Controllers), "without
// undue delay after becoming aware of" it (Art. 33(2)): the delay since
// the processor's awareness is the breach's Clock.Aware to r.At. r.At
// defaults to now; it may be neither before the awareness nor in the
// future. Reporting to a controller twice records both.
func (l *Log) ReportToController(ctx context.Context, id string, r ControllerReport) (Breach, error) {
	if err := checkCtx("report", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.change(ctx, id, func(b Breach, now time.Time) (Kind, any, string, error) {
		if !b.ForControllers() {
			return "", nil, "", invalid("id", "not a processor's breach (Report.Controllers)")
		}
		if !slices.Contains(b.Controllers, r.Controller) {
			return "", nil, "", invalid("Controller", "not one of the breach's controllers")
		}
		if r.At.IsZero() {
			r.At = now
		}
		r.At = r.At.UTC()
		if r.At.After(now) || r.At.Before(b.Clock.Aware) {
			return "", nil, "", invalid("At", "between the awareness and now")
		}
		if err := checkLine("Reference", r.Reference, maxName, false); err != nil {
			return "", nil, "", err
		}
		return KindReported, r, "breach.reported", nil
	})
	return b, wrap("report", err)
}

// Publish records a public communication that informs the subjects
// instead of individual notices (Art. 34(3)(c)), with its reasoning.
func (l *Log) Publish(ctx context.Context, id string, p Public) (Breach, error) {
	if err := checkCtx("publish", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.change(ctx, id, func(b Breach, now time.Time) (Kind, any, string, error) {
		if p.At.IsZero() {
			p.At = now
		}
		p.At = p.At.UTC()
		if p.At.After(now) || p.At.Before(b.Clock.Aware) {
			return "", nil, "", invalid("At", "between the awareness and now")
		}
		if err := checkLine("Channel", p.Channel, maxName, true); err != nil {
			return "", nil, "", err
		}
		if err := checkLine("URL", p.URL, maxName, false); err != nil {
			return "", nil, "", err
		}
		if p.URL != "" && !strings.HasPrefix(p.URL, "https://") && !strings.HasPrefix(p.URL, "http://") {
			return "", nil, "", invalid("URL", "an http or https URL")
		}
		if err := checkText("Reasoning", p.Reasoning, maxText, true); err != nil {
			return "", nil, "", err
		}
		return KindPublic, p, "breach.published", nil
	})
	return b, wrap("publish", err)
}

// Close closes breach id: nothing more is recorded for it. reason is
// required, and so is what the law asks first: an assessment (Art. 33(5));
// for a risk, the notification to the authority (Art. 33(1)); for a high
// risk, a communication to the subjects, a public communication or a
// ground of Art. 34(3) relied on (Art. 34(1)); for a processor's breach,
// a report to every controller (Art. 33(2)). Otherwise it is refused with
// ErrInvalid naming what is missing.
func (l *Log) Close(ctx context.Context, id, reason string) (Breach, error) {
	if err := checkCtx("close", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.change(ctx, id, func(b Breach, now time.Time) (Kind, any, string, error) {
		if err := checkText("reason", reason, maxText, true); err != nil {
			return "", nil, "", err
		}
		if err := closable(b); err != nil {
			return "", nil, "", err
		}
		return KindClosed, closure{reason}, "breach.closed", nil
	})
	return b, wrap("close", err)
}

// closable returns why b may not be closed yet, or nil.
func closable(b Breach) error {
	if b.ForControllers() {
		if len(b.Unreported()) > 0 {
			return invalid("Reports", "report the breach to every controller first (Art. 33(2))")
		}
		return nil
	}
	switch b.Assessment.Risk {
	case Unassessed:
		return invalid("Assessment", "assess the risk first (Art. 33(5))")
	case SomeRisk, HighRisk:
		if !b.Notified() {
			return invalid("Notifications", "notify the authority first (Art. 33(1))")
		}
	}
	if b.Assessment.Risk == HighRisk {
		c := b.Communications
		if c.Sent+c.Skipped == 0 && len(b.Public) == 0 && len(b.Assessment.Exemptions) == 0 {
			return invalid("Communications", "tell the subjects, publish, or rely on a ground of Art. 34(3) first (Art. 34(1))")
		}
	}
	return nil
}

// Get returns breach id as it now is, or an error wrapping ErrNotFound.
func (l *Log) Get(ctx context.Context, id string) (Breach, error) {
	if err := checkCtx("get", ctx); err != nil {
		return Breach{}, err
	}
	b, err := l.get(ctx, id)
	return b, wrap("get", err)
}

func (l *Log) get(ctx context.Context, id string) (Breach, error) {
	if err := checkID(id); err != nil {
		return Breach{}, err
	}
	evs, err := l.store.Events(ctx, id)
	if err != nil {
		return Breach{}, err
	}
	return l.derive(evs)
}

// List yields every breach, oldest first (IDs are UUIDv7s, ordered by
// their creation), and stops at the first error, which it yields last.
func (l *Log) List(ctx context.Context) iter.Seq2[Breach, error] {
	return func(yield func(Breach, error) bool) {
		if err := checkCtx("list", ctx); err != nil {
			yield(Breach{}, err)
			return
		}
		after := ""
		for {
			ids, err := l.store.Breaches(ctx, after, 100)
			if err != nil {
				yield(Breach{}, wrap("list", err))
				return
			}
			for _, id := range ids {
				b, err := l.get(ctx, id)
				if !yield(b, wrap("list", err)) || err != nil {
					return
				}
			}
			if len(ids) < 100 {
				return
			}
			after = ids[len(ids)-1]
		}
	}
}

// change appends one event to breach id, made by fn from the breach as
// it is, and retries when another writer appended first.
func (l *Log) change(ctx context.Context, id string, fn func(Breach, time.Time) (Kind, any, string, error)) (Breach, error) {
	if err := checkID(id); err != nil {
		return Breach{}, err
	}
	for attempt := 0; ; attempt++ {
		evs, err := l.store.Events(ctx, id)
		if err != nil {
			return Breach{}, err
		}
		b, err := l.derive(evs)
		if err != nil {
			return Breach{}, err
		}
		if !b.Closed.IsZero() {
			return Breach{}, because(ErrClosed, "", nil)
		}
		now := l.now()
		kind, data, action, err := fn(b, now)
		if err != nil {
			return Breach{}, err
		}
		ev, err := event(id, b.Events+1, now, kind, data)
		if err != nil {
			return Breach{}, err
		}
		var cats []string
		if d, ok := data.(Details); ok {
			cats = d.Categories
		}
		// The audit event names the event number it is for: should the
		// Append lose a race after it, the retry records the action
		// again for the next number, and the trail shows which number
		// the register kept (Events).
		if err := l.audit(ctx, action, id, cats, map[string]string{"event": strconv.FormatInt(ev.Seq, 10)}); err != nil {
			return Breach{}, err
		}
		err = l.store.Append(ctx, ev)
		if errors.Is(err, ErrConflict) && attempt < 8 {
			continue // another writer appended first: decide again on what it wrote
		}
		if err != nil {
			return Breach{}, err
		}
		return l.derive(append(evs, ev))
	}
}

func event(id string, seq int64, now time.Time, kind Kind, data any) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	return Event{Breach: id, Seq: seq, Time: now.UTC().Truncate(time.Microsecond), Kind: kind, Data: b}, nil
}

// audit records one event about breach id through the Recorder; a
// failure is ErrNotRecorded.
func (l *Log) audit(ctx context.Context, action, id string, cats []string, attrs map[string]string) error {
	actor, ok := gdpr.ActorFrom(ctx)
	if !ok {
		actor = gdpr.System("breach")
	}
	err := l.recorder.Record(ctx, gdpr.Event{
		Time: l.now(), Actor: actor, Action: action, Categories: cats,
		Resource: "breach/" + id, Outcome: gdpr.Success, Attrs: attrs,
	})
	if err != nil {
		return because(ErrNotRecorded, "", err)
	}
	return nil
}

// derive folds a breach's events, in order, into its state.
func (l *Log) derive(evs []Event) (Breach, error) {
	var b Breach
	for i, ev := range evs {
		if ev.Seq != int64(i+1) || (i == 0) != (ev.Kind == KindRecorded) {
			return Breach{}, because(ErrCorrupt, fmt.Sprintf("breach %s: event %d out of order", show(ev.Breach), ev.Seq), nil)
		}
		if err := b.apply(ev, l.loc); err != nil {
			return Breach{}, because(ErrCorrupt, fmt.Sprintf("breach %s: event %d does not decode", show(ev.Breach), ev.Seq), nil)
		}
	}
	if len(evs) == 0 {
		return Breach{}, because(ErrNotFound, "", nil)
	}
	return b, nil
}

func (b *Breach) apply(ev Event, loc *time.Location) error {
	b.Events = ev.Seq
	dec := func(v any) error { return json.Unmarshal(ev.Data, v) }
	switch ev.Kind {
	case KindRecorded:
		var r recorded
		if err := dec(&r); err != nil {
			return err
		}
		b.ID, b.Recorded, b.Processor, b.Controllers, b.Details = ev.Breach, ev.Time, r.Processor, r.Controllers, r.Details
		if z := zone(r.Zone); z != nil {
			loc = z
		}
		b.Clock = NewClock(r.Aware, loc)
		if len(r.Controllers) > 0 {
			b.Clock.Due = time.Time{} // a processor reports without undue delay: no fixed period
		}
	case KindUpdated:
		var d Details
		if err := dec(&d); err != nil {
			return err
		}
		b.Details.merge(d)
	case KindAssessed:
		// A fresh value: decoding onto the last assessment would keep
		// its exemptions when the new one has none.
		var a Assessment
		if err := dec(&a); err != nil {
			return err
		}
		b.Assessment = a
	case KindNotified:
		var n Notification
		if err := dec(&n); err != nil {
			return err
		}
		b.Notifications = append(b.Notifications, n)
	case KindAffected:
		var a Affected
		if err := dec(&a); err != nil {
			return err
		}
		b.Affected = &a
	case KindPublic:
		var p Public
		if err := dec(&p); err != nil {
			return err
		}
		b.Public = append(b.Public, p)
	case KindNoticed:
		var c Communications
		if err := dec(&c); err != nil {
			return err
		}
		b.Communications = c
	case KindReported:
		var r ControllerReport
		if err := dec(&r); err != nil {
			return err
		}
		b.Reports = append(b.Reports, r)
	case KindClosed:
		b.Closed = ev.Time
	default:
		return fmt.Errorf("unknown kind %s", show(string(ev.Kind)))
	}
	return nil
}

// zones caches the zones of recorded breaches by name.
var zones sync.Map // string → *time.Location

// zone returns the zone of that name, or nil for "" or a name this
// machine does not know (the Log's own zone is used then).
func zone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if z, ok := zones.Load(name); ok {
		return z.(*time.Location)
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return nil
	}
	zones.Store(name, z)
	return z
}

// merge empties the fields o.Clear names, then replaces each field of d
// with o's where o's is set.
func (d *Details) merge(o Details) {
	for _, f := range o.Clear {
		if c := clearable[f]; c != nil {
			c(d)
		}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&d.Description, o.Description)
	set(&d.Consequences, o.Consequences)
	set(&d.Measures, o.Measures)
	set(&d.Advice, o.Advice)
	if len(o.Nature) > 0 {
		d.Nature = o.Nature
	}
	if len(o.Categories) > 0 {
		d.Categories = o.Categories
	}
	if len(o.SubjectCategories) > 0 {
		d.SubjectCategories = o.SubjectCategories
	}
	if o.Subjects != 0 {
		d.Subjects = o.Subjects
	}
	if o.Records != 0 {
		d.Records = o.Records
	}
	if !o.OccurredFrom.IsZero() {
		d.OccurredFrom = o.OccurredFrom
	}
	if !o.OccurredUntil.IsZero() {
		d.OccurredUntil = o.OccurredUntil
	}
	if !o.Contact.IsZero() {
		d.Contact = o.Contact
	}
}

const (
	maxName = 200
	maxText = 20000
)

// checkLine checks a one-line field (a name, an address, a reference):
// checkText's rules, and no line break, so that a host that puts it in a
// mail header (a contact's address in Reply-To) cannot be made to add
// headers.
func checkLine(field, s string, max int, required bool) error {
	if strings.ContainsAny(s, "\r\n\u2028\u2029\u0085") {
		return invalid(field, "a line break")
	}
	return checkText(field, s, max, required)
}

// checkText checks a free-text field: valid UTF-8, no control character
// but tab and line ends (no C1 control, no bidirectional override, which
// could make a notice read other than it says), at most max bytes, and
// not blank if required.
func checkText(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return invalid(field, "required")
	}
	if len(s) > max {
		return invalid(field, fmt.Sprintf("longer than %d bytes", max))
	}
	if !utf8.ValidString(s) {
		return invalid(field, "not UTF-8")
	}
	for _, r := range s {
		switch {
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r', r == 0x7f, 0x80 <= r && r <= 0x9f:
			return invalid(field, "a control character")
		case 0x202a <= r && r <= 0x202e, 0x2066 <= r && r <= 0x2069:
			return invalid(field, "a bidirectional override")
		}
	}
	return nil
}

// checkID checks a breach ID: a UUID, as New makes them.
func checkID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return invalid("id", "not a breach ID")
	}
	return nil
}

// checkDetails checks d; a zero Details is valid (nothing known yet).
func (l *Log) checkDetails(d Details, now time.Time) error {
	if err := checkText("Description", d.Description, maxText, false); err != nil {
		return err
	}
	for f, s := range map[string]string{"Consequences": d.Consequences, "Measures": d.Measures, "Advice": d.Advice} {
		if err := checkText(f, s, maxText, false); err != nil {
			return err
		}
	}
	seen := map[Nature]bool{}
	for i, n := range d.Nature {
		if !n.valid() || seen[n] {
			return invalid(fmt.Sprintf("Nature[%d]", i), "one of confidentiality, integrity, availability, once each")
		}
		seen[n] = true
	}
	if err := l.checkCategories("Categories", d.Categories); err != nil {
		return err
	}
	for i, s := range d.SubjectCategories {
		if err := checkLine(fmt.Sprintf("SubjectCategories[%d]", i), s, maxName, true); err != nil {
			return err
		}
	}
	if d.Subjects < 0 || d.Records < 0 {
		return invalid("Subjects", "negative counts")
	}
	if d.OccurredFrom.After(now) || d.OccurredUntil.After(now) {
		return invalid("OccurredFrom", "in the future")
	}
	if !d.OccurredFrom.IsZero() && !d.OccurredUntil.IsZero() && d.OccurredUntil.Before(d.OccurredFrom) {
		return invalid("OccurredUntil", "before OccurredFrom")
	}
	c := d.Contact
	for f, s := range map[string]string{"Contact.Name": c.Name, "Contact.Role": c.Role, "Contact.Email": c.Email, "Contact.Phone": c.Phone} {
		if err := checkLine(f, s, maxName, false); err != nil {
			return err
		}
	}
	if !c.IsZero() && strings.TrimSpace(c.Name) == "" {
		return invalid("Contact.Name", "a contact needs a name (a role title will do)")
	}
	return nil
}

// checkCategories checks data categories: keys, once each, and declared
// by the Register if there is one.
func (l *Log) checkCategories(field string, cats []string) error {
	seen := map[string]bool{}
	for i, c := range cats {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !isKey(c) {
			return invalid(f, "a category is a key (a-z, 0-9, _ . -)")
		}
		if seen[c] {
			return invalid(f, "given twice")
		}
		seen[c] = true
		if l.register != nil && !l.declared(c) {
			return errs.At(f, because(ErrUnknownCategory, "category "+show(c)+" is not in the register", nil))
		}
	}
	return nil
}

func (l *Log) declared(c string) bool {
	for _, a := range l.register.Activities {
		for _, dc := range a.DataCategories {
			if dc.ID == c {
				return true
			}
		}
	}
	return false
}

func isKey(s string) bool {
	if s == "" || len(s) > 64 {
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
