package breach

import (
	"context"
	"crypto/hmac"
	"errors"
	"iter"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

// Notifier sends the communication of a breach to one data subject
// (Art. 34(2)), by the host's own channel (mail, message, letter).
// NotifySubject returns nil once the notice is on its way; an error
// records it as Failed, for a later NotifySubjects to try again. It must
// be safe for concurrent use if NotifySubjects is called concurrently.
type Notifier interface {
	NotifySubject(ctx context.Context, subject gdpr.SubjectID, n SubjectNotice) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, subject gdpr.SubjectID, n SubjectNotice) error

// NotifySubject calls f.
func (f NotifierFunc) NotifySubject(ctx context.Context, subject gdpr.SubjectID, n SubjectNotice) error {
	return f(ctx, subject, n)
}

// NotifySubjects communicates breach id to the subjects it affected
// (Art. 34(1)): the candidates are matched again with scope, which must
// be the scope of the breach's latest Affected (call Affected first; the
// breach keeps a keyed digest of it, not the staff account it names),
// and each subject found
// gets n's notice, once: a subject already Sent or Pending (a sender
// stopped between claiming and recording it) is not sent again; a Failed
// one is tried again. A subject counted Unintelligible is Skipped when
// the assessment relies on Art. 34(3)(a), and notified otherwise, also
// when an earlier run skipped it (the exemption was dropped since).
// Each outcome is stored under the subject's keyed reference and recorded
// through the Recorder ("breach.subject_notified", about the subject,
// which the Recorder pseudonymises). It returns the counts of all the
// breach's notices, which it also records as an event.
//
// The breach must be assessed (Assess) first; a breach assessed NoRisk,
// or whose assessment relies on Art. 34(3)(c) (a public communication
// instead), is refused with ErrInvalid: nothing is sent.
func (l *Log) NotifySubjects(ctx context.Context, id string, scope Scope, candidates iter.Seq2[gdpr.SubjectID, error], n Notifier) (Communications, error) {
	if err := checkCtx("notify-subjects", ctx); err != nil {
		return Communications{}, err
	}
	c, err := l.notifySubjects(ctx, id, scope, candidates, n)
	return c, wrap("notify-subjects", err)
}

func (l *Log) notifySubjects(ctx context.Context, id string, scope Scope, candidates iter.Seq2[gdpr.SubjectID, error], n Notifier) (Communications, error) {
	if n == nil {
		return Communications{}, invalid("notifier", "nil")
	}
	if candidates == nil {
		return Communications{}, invalid("candidates", "nil")
	}
	b, err := l.get(ctx, id)
	if err != nil {
		return Communications{}, err
	}
	switch {
	case !b.Closed.IsZero():
		return Communications{}, because(ErrClosed, "", nil)
	case b.ForControllers():
		return Communications{}, invalid("id", "a processor's breach: its controllers tell the subjects (Art. 34)")
	case b.Assessment.Risk == Unassessed:
		return Communications{}, invalid("Assessment", "assess the risk before telling the subjects")
	case b.Assessment.Risk == NoRisk:
		return Communications{}, invalid("Assessment", "assessed as no risk: the subjects are not told")
	case b.relies(Disproportionate):
		return Communications{}, invalid("Assessment", "the assessment relies on a public communication instead (Art. 34(3)(c))")
	case b.Affected == nil:
		return Communications{}, invalid("Affected", "find the subjects affected first (Affected)")
	case !hmac.Equal([]byte(l.scopeDigest(scope)), []byte(b.Affected.ScopeDigest)):
		return Communications{}, invalid("scope", "not the scope of the breach's last Affected")
	}
	notice := b.SubjectNotice(l.controllerName())
	if notice.Contact.IsZero() {
		notice = l.withDPO(b).SubjectNotice(l.controllerName())
	}
	// Art. 34(2): the communication gives at least the items of
	// Art. 33(3)(b)-(d); it is not sent with placeholders for them.
	switch {
	case notice.Contact.IsZero():
		return Communications{}, invalid("Contact", "the subjects' notice needs a contact point (Art. 34(2), 33(3)(b))")
	case strings.TrimSpace(notice.Consequences) == "":
		return Communications{}, invalid("Consequences", "the subjects' notice needs the likely consequences (Art. 34(2), 33(3)(c))")
	case strings.TrimSpace(notice.Measures) == "":
		return Communications{}, invalid("Measures", "the subjects' notice needs the measures taken or proposed (Art. 34(2), 33(3)(d))")
	}
	skipUnintelligible := b.relies(Unintelligible)
	m, err := l.newMatcher(ctx, scope)
	if err != nil {
		return Communications{}, err
	}
	var failed error
	err = m.match(ctx, candidates, func(s Subject) error {
		ref := l.ref(id, s.ID)
		// A subject skipped by an earlier run on Art. 34(3)(a) is told
		// now if this run does not skip it (the exemption was dropped).
		claimed, err := l.store.Claim(ctx, Notice{Breach: id, Ref: ref, Time: l.stamp(), Outcome: Pending},
			!(s.Unintelligible && skipUnintelligible))
		if err != nil || !claimed {
			return err
		}
		out, action := Sent, gdpr.Success
		if s.Unintelligible && skipUnintelligible {
			out = Skipped
		} else if err := n.NotifySubject(ctx, s.ID, notice); err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // left Pending: it may have gone out
			}
			out, action = Failed, gdpr.Failure
		}
		rerr := l.recorder.Record(ctx, gdpr.Event{
			Time: l.now(), Actor: l.actor(ctx), Action: "breach.subject_notified", Subject: s.ID,
			Categories: s.Categories, Resource: "breach/" + id, Outcome: action,
			Attrs: map[string]string{"outcome": string(out)},
		})
		if err := l.store.Settle(ctx, Notice{Breach: id, Ref: ref, Time: l.stamp(), Outcome: out}); err != nil {
			return err
		}
		if rerr != nil && failed == nil {
			failed = because(ErrNotRecorded, "", rerr)
		}
		return nil
	})
	if err != nil {
		return Communications{}, err
	}
	// The counts are taken in the change itself, so that of two runs the
	// one recorded last counts the other's notices too.
	var c Communications
	if _, err := l.change(ctx, id, func(Breach, time.Time) (Kind, any, string, error) {
		var err error
		c, err = l.communications(ctx, id)
		return KindNoticed, c, "breach.subjects_notified", err
	}); err != nil {
		return c, err
	}
	return c, failed
}

// SettleNotice records the outcome of the notice to subject of breach id
// that a NotifySubjects left Pending (it stopped between claiming and
// recording it): Sent once the host has found that it went out (in its
// mail log), Failed for the next NotifySubjects to send it again. The
// outcome is recorded through the Recorder, about the subject. A notice
// that is not Pending or Failed is not changed (ErrConflict), one never
// claimed is ErrNotFound.
func (l *Log) SettleNotice(ctx context.Context, id string, subject gdpr.SubjectID, o Outcome) error {
	if err := checkCtx("settle-notice", ctx); err != nil {
		return err
	}
	err := func() error {
		if err := checkID(id); err != nil {
			return err
		}
		if err := subject.Validate(); err != nil {
			return invalid("subject", "not a subject ID")
		}
		if o != Sent && o != Failed {
			return invalid("outcome", "sent or failed")
		}
		action := gdpr.Success
		if o == Failed {
			action = gdpr.Failure
		}
		if err := l.recorder.Record(ctx, gdpr.Event{Time: l.now(), Actor: l.actor(ctx), Action: "breach.subject_notified",
			Subject: subject, Resource: "breach/" + id, Outcome: action,
			Attrs: map[string]string{"outcome": string(o), "settled": "by hand"}}); err != nil {
			return because(ErrNotRecorded, "", err)
		}
		return l.store.Settle(ctx, Notice{Breach: id, Ref: l.ref(id, subject), Time: l.stamp(), Outcome: o})
	}()
	return wrap("settle-notice", err)
}

// communications counts breach id's notices by outcome.
func (l *Log) communications(ctx context.Context, id string) (Communications, error) {
	var c Communications
	var after []byte
	for {
		ns, err := l.store.Notices(ctx, id, after, MaxPage)
		if err != nil {
			return c, err
		}
		for _, n := range ns {
			switch n.Outcome {
			case Sent:
				c.Sent++
			case Failed:
				c.Failed++
			case Skipped:
				c.Skipped++
			case Pending:
				c.Pending++
			default:
				return c, errors.New("breach: a stored notice has an unknown outcome")
			}
		}
		if len(ns) < MaxPage {
			return c, nil
		}
		after = ns[len(ns)-1].Ref
	}
}

func (l *Log) stamp() time.Time { return l.now().UTC().Truncate(time.Microsecond) }

func (l *Log) actor(ctx context.Context) gdpr.Actor {
	if a, ok := gdpr.ActorFrom(ctx); ok {
		return a
	}
	return gdpr.System("breach")
}

func (l *Log) controllerName() string {
	if l.register != nil {
		return l.register.Controller.Name
	}
	return ""
}

// relies reports whether b's assessment relies on ground g.
func (b Breach) relies(g Ground) bool {
	for _, e := range b.Assessment.Exemptions {
		if e.Ground == g {
			return true
		}
	}
	return false
}
