package erasure

import (
	"context"

	"github.com/gdprkit/gdpr"
)

// Notifier tells the subject what became of their request, by the host's
// channel (the e-mail of the account, the privacy-center inbox). The
// Engine calls it before it writes the change the notice announces: a
// notice that fails leaves the request as it was, and a notice may come
// twice (a crash after the notice, before the write), so Notify is
// idempotent by Notice.ID.
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, n Notice) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, n Notice) error { return f(ctx, n) }

// NoticeType says what a Notice announces.
type NoticeType string

// The notices.
const (
	// NoticeExtended: the deadline was extended, with the reasons for the
	// delay (Art. 12(3)).
	NoticeExtended NoticeType = "extended"
	// NoticeRejected: the controller will not act, with the reasons and
	// the remedies (Art. 12(4)).
	NoticeRejected NoticeType = "rejected"
	// NoticeCompleted: the request was carried out (Art. 12(3):
	// "information on action taken"), with any exemptions, their grounds
	// and the remedies for the part not carried out (Art. 12(4)).
	NoticeCompleted NoticeType = "completed"
	// NoticeLifting: a restriction is about to be lifted; the subject is
	// told before it is (Art. 18(3)). Restrictions names them.
	NoticeLifting NoticeType = "lifting"
	// NoticeOverridden: the controller overrode the subject's objection on
	// compelling legitimate grounds (Art. 21(1)), with the reasons and
	// the remedies (Art. 12(4)).
	NoticeOverridden NoticeType = "overridden"
)

// Notice is what the subject must be told.
type Notice struct {
	// ID is the notice's idempotence key: the request ID and the Type.
	ID   string
	Type NoticeType
	// Request is the request, with its subject, for the host to reach them.
	Request gdpr.Request
	// State is the request's state once the notice's change is written.
	State State
	// Deadline is the request's deadline, extended or not.
	Deadline gdpr.Deadline
	// Rejection is the reason of a rejection. Article is its provision;
	// for a completion, the article of the right exercised (e.g.
	// "Art. 18(1)"); for a lift, "Art. 18(3)"; for an override,
	// "Art. 21(1)".
	Rejection RejectReason
	Article   string
	// Reasons are the reasons for the delay or the refusal, as written by
	// the controller.
	Reasons string
	// Exemptions are the data kept back from an erasure, with their
	// grounds of Art. 17(3) and until when.
	Exemptions []gdpr.Exemption
	// Remedies are the subject's remedies, stated in every rejection and
	// in every completion with exemptions: a complaint to a supervisory
	// authority (Art. 77) and a judicial remedy (Art. 79).
	Remedies []Remedy
	// Restrictions are the restrictions or objections the notice is
	// about: those placed (a completed restriction or objection), about to
	// be lifted (NoticeLifting), or overridden (NoticeOverridden).
	Restrictions []Restriction
	// Recipients are the recipients told, or not told, of the
	// rectification, erasure or restriction, with why not (Art. 19,
	// second sentence: the subject is informed about them on request).
	Recipients []RecipientOutcome
	// Fields are the fields a rectification corrected, as
	// "<target>.<field>".
	Fields []string
}

// Remedy is one remedy the subject is told of.
type Remedy struct {
	// Article is the provision: "Art. 77" or "Art. 79".
	Article string
	// Text states it in English, for a host without its own wording.
	Text string
	// Authority is the supervisory authority (WithAuthority), for Art. 77.
	Authority Authority
}

// Authority is a supervisory authority, as notices name it: its name
// (required by WithAuthority) and the address of its complaint page.
type Authority struct {
	Name string
	URL  string
}

// remedies returns the remedies of Art. 12(4).
func (e *Engine) remedies() []Remedy {
	return []Remedy{
		{Article: "Art. 77", Authority: e.authority,
			Text: "You have the right to lodge a complaint with a supervisory authority, in particular in the Member State of your habitual residence, place of work or of the alleged infringement (Art. 77 GDPR)."},
		{Article: "Art. 79", Text: "You have the right to an effective judicial remedy against the controller (Art. 79 GDPR)."},
	}
}

// notify sends the notice of type t about r (which holds the subject).
func (e *Engine) notify(ctx context.Context, r Request, t NoticeType, reasons string) error {
	if e.notifier == nil {
		return nil
	}
	n := Notice{ID: r.ID + ":" + string(t), Type: t, Request: e.info(r), State: r.State, Deadline: r.Deadline, Reasons: reasons}
	switch t {
	case NoticeRejected:
		n.Rejection, n.Article, n.Remedies = r.Rejection, r.Rejection.Article(), e.remedies()
	case NoticeCompleted:
		n.Article = r.Kind.Article()
		n.Exemptions = r.Exemptions()
		if len(n.Exemptions) > 0 {
			n.Remedies = e.remedies()
		}
		n.Recipients = r.Recipients()
		n.Fields = r.correctedFields()
		if r.Kind == gdpr.KindRestriction || r.Kind == gdpr.KindObjection {
			xs, err := e.placedBy(ctx, r)
			if err != nil {
				return err
			}
			n.Restrictions = xs
		}
	}
	if err := e.notifier.Notify(ctx, n); err != nil {
		return &notifyError{because(ErrNotify, "the Notifier failed", err)}
	}
	return nil
}

// notifyError marks a Notifier's failure, for deferral.
type notifyError struct{ error }

func (e *notifyError) Unwrap() error { return e.error }
