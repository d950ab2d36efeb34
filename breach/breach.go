package breach

import (
	"time"

	"github.com/gdprkit/gdpr"
)

// Nature is one way a breach affected personal data, in the three classes
// the EDPB's guidelines use (Guidelines 9/2022, after the security
// principles of Art. 32(1)(b)).
type Nature string

// The natures of a breach.
const (
	// Confidentiality: personal data was disclosed to, or accessed by,
	// someone not authorised to.
	Confidentiality Nature = "confidentiality"
	// Integrity: personal data was altered without authority or by
	// accident.
	Integrity Nature = "integrity"
	// Availability: personal data was lost or destroyed, or access to it
	// was lost, without authority or by accident.
	Availability Nature = "availability"
)

func (n Nature) valid() bool {
	return n == Confidentiality || n == Integrity || n == Availability
}

// Risk is the controller's assessment of the risk the breach poses to the
// rights and freedoms of natural persons, which decides who must be told.
// The zero value is not assessed yet.
type Risk string

// The levels of risk.
const (
	// Unassessed: no assessment recorded yet.
	Unassessed Risk = ""
	// NoRisk: the breach is unlikely to result in a risk; it is
	// documented (Art. 33(5)) but the authority need not be notified
	// (Art. 33(1)).
	NoRisk Risk = "none"
	// SomeRisk: the authority must be notified (Art. 33(1)).
	SomeRisk Risk = "risk"
	// HighRisk: the authority must be notified and the data subjects
	// told without undue delay (Art. 34(1)).
	HighRisk Risk = "high"
)

func (r Risk) valid() bool { return r == NoRisk || r == SomeRisk || r == HighRisk }

// Contact is the data protection officer or other contact point where more
// information can be obtained (Art. 33(3)(b)). It is the controller's
// public contact, not personal data of a subject.
type Contact struct {
	Name  string `json:"name"`
	Role  string `json:"role,omitempty"` // e.g. "Data protection officer"
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// IsZero reports whether c names no contact.
func (c Contact) IsZero() bool { return c == Contact{} }

// Processor is the processor that reported the breach to the controller
// (Art. 33(2)).
type Processor struct {
	// Name of the processor, as in the Register.
	Name string `json:"name"`
	// Aware is when the processor became aware of the breach; the
	// controller's Report.Aware is when the processor told it.
	Aware time.Time `json:"aware"`
}

// Details is what a breach is known to be: every item of Art. 33(3) that
// the controller can give at the time. Details given later complete or
// correct it (Art. 33(4) allows the information in phases). None of its
// fields may hold personal data of a subject: they describe the breach.
type Details struct {
	// Description says what happened, in words for the authority.
	Description string `json:"description,omitempty"`
	// Nature lists how personal data was affected.
	Nature []Nature `json:"nature,omitempty"`
	// Categories are the data categories concerned, as in the Register
	// (Art. 33(3)(a)).
	Categories []string `json:"categories,omitempty"`
	// SubjectCategories are the categories of data subjects concerned,
	// e.g. "customers", "employees" (Art. 33(3)(a)).
	SubjectCategories []string `json:"subject_categories,omitempty"`
	// Subjects and Records are the approximate numbers of data subjects
	// and of personal-data records concerned (Art. 33(3)(a)); zero when
	// not known yet.
	Subjects int64 `json:"subjects,omitempty"`
	Records  int64 `json:"records,omitempty"`
	// OccurredFrom and OccurredUntil bound when the breach happened, as
	// far as known; zero when not known (OccurredUntil zero and
	// OccurredFrom set: still going on, or end not known).
	OccurredFrom  time.Time `json:"occurred_from,omitzero"`
	OccurredUntil time.Time `json:"occurred_until,omitzero"`
	// Consequences are the likely consequences of the breach
	// (Art. 33(3)(c)).
	Consequences string `json:"consequences,omitempty"`
	// Measures are the measures taken or proposed to address the breach,
	// including, where appropriate, to mitigate its possible adverse
	// effects (Art. 33(3)(d)).
	Measures string `json:"measures,omitempty"`
	// Advice is what the people concerned can do to protect themselves
	// (change a password, watch for phishing), for the communication to
	// them (Art. 34(2) with Art. 33(3)(d)).
	Advice string `json:"advice,omitempty"`
	// Contact is where more information can be obtained (Art. 33(3)(b)).
	Contact Contact `json:"contact,omitzero"`
	// Clear names fields that an Update empties: a value given earlier
	// that turned out wrong and is not known now ("Subjects",
	// "OccurredUntil", "Contact", …, the names of the fields above). A
	// field named here and set too takes the value set. For Update only.
	Clear []string `json:"clear,omitempty"`
}

// clearable are the fields Details.Clear may name.
var clearable = map[string]func(*Details){
	"Description":       func(d *Details) { d.Description = "" },
	"Nature":            func(d *Details) { d.Nature = nil },
	"Categories":        func(d *Details) { d.Categories = nil },
	"SubjectCategories": func(d *Details) { d.SubjectCategories = nil },
	"Subjects":          func(d *Details) { d.Subjects = 0 },
	"Records":           func(d *Details) { d.Records = 0 },
	"OccurredFrom":      func(d *Details) { d.OccurredFrom = time.Time{} },
	"OccurredUntil":     func(d *Details) { d.OccurredUntil = time.Time{} },
	"Consequences":      func(d *Details) { d.Consequences = "" },
	"Measures":          func(d *Details) { d.Measures = "" },
	"Advice":            func(d *Details) { d.Advice = "" },
	"Contact":           func(d *Details) { d.Contact = Contact{} },
}

// Report is a breach as the controller first records it.
type Report struct {
	// Aware is when the controller became aware of the breach: when it
	// had a reasonable degree of certainty that a security incident had
	// compromised personal data. The clock of Art. 33(1) starts here.
	// Required; not in the future.
	Aware time.Time
	// Processor, when set, is the processor whose report (Art. 33(2))
	// made the controller aware.
	Processor *Processor
	// Controllers, when set, says that this register is kept by a
	// processor, and the breach is one it must report to these
	// controllers without undue delay after becoming aware of it
	// (Art. 33(2)): Aware is then the processor's awareness, the report
	// is timed from it (ReportToController), and there is no 72-hour
	// clock and no notification to the authority, which are the
	// controllers' (Art. 33(1)). Not with Processor.
	Controllers []string
	Details
}

// ControllerReport is a processor's report of a breach to one of its
// controllers (Art. 33(2)).
type ControllerReport struct {
	Controller string    `json:"controller"`
	At         time.Time `json:"at"`
	// Reference is the controller's reference for it, if it gave one.
	Reference string `json:"reference,omitempty"`
}

// Assessment is the controller's assessment of the risk, with its reasoning
// (Art. 33(5) asks the controller to document "the effects and the
// remedial action taken" so that the authority can verify compliance; a
// decision not to notify needs its reasons as much as a decision to).
type Assessment struct {
	Risk Risk `json:"risk"`
	// Reasoning explains the level: what data, how sensitive, how easily
	// identifiable, what consequences, what mitigations.
	Reasoning string `json:"reasoning"`
	// Exemptions are the grounds of Art. 34(3) the controller relies on
	// for not communicating the breach to the subjects at high risk.
	Exemptions []Exemption `json:"exemptions,omitempty"`
}

// Exemption is a ground of Art. 34(3) relied on, with its reasoning.
type Exemption struct {
	Ground Ground `json:"ground"`
	// Reasoning says why the ground holds for this breach, e.g. which
	// key encrypted the data and why it stayed safe.
	Reasoning string `json:"reasoning"`
}

// Ground is one of the conditions of Art. 34(3) under which the
// communication to the data subjects is not required.
type Ground string

// The grounds of Art. 34(3).
const (
	// Unintelligible: the data was protected by measures, such as
	// encryption, that render it unintelligible to anyone not authorised
	// to access it (Art. 34(3)(a)).
	Unintelligible Ground = "art34_3_a"
	// RiskRemoved: subsequent measures ensure that the high risk is no
	// longer likely to materialise (Art. 34(3)(b)).
	RiskRemoved Ground = "art34_3_b"
	// Disproportionate: individual communication would involve
	// disproportionate effort; a public communication informs the
	// subjects in an equally effective manner instead (Art. 34(3)(c)).
	Disproportionate Ground = "art34_3_c"
)

// Article returns the provision g names, e.g. "Art. 34(3)(a)", or "".
func (g Ground) Article() string {
	switch g {
	case Unintelligible:
		return "Art. 34(3)(a)"
	case RiskRemoved:
		return "Art. 34(3)(b)"
	case Disproportionate:
		return "Art. 34(3)(c)"
	}
	return ""
}

// Notification is a notification to the supervisory authority: the first,
// or one that completes an earlier one (Art. 33(4)).
type Notification struct {
	// At is when it was made.
	At time.Time `json:"at"`
	// Authority names the supervisory authority notified.
	Authority string `json:"authority"`
	// Reference is the authority's case reference, if it gave one.
	Reference string `json:"reference,omitempty"`
	// DelayReasons are the reasons for a notification made after the 72
	// hours (Art. 33(1)); required then.
	DelayReasons string `json:"delay_reasons,omitempty"`
	// Final is true when nothing more is to follow; false when further
	// information will be provided in phases (Art. 33(4)).
	Final bool `json:"final"`
	// Recorded is when the notification was recorded, set by the Log:
	// an At given earlier than it (a notification made by telephone,
	// recorded after) shows as such.
	Recorded time.Time `json:"recorded"`
}

// Public is a public communication or similar measure that informs the
// data subjects instead of individual notices (Art. 34(3)(c)).
type Public struct {
	// At is when it was published.
	At time.Time `json:"at"`
	// Channel says where: "website banner", "national press".
	Channel string `json:"channel"`
	// URL of the communication, if it is on the web.
	URL string `json:"url,omitempty"`
	// Reasoning says why individual notices would take disproportionate
	// effort and why this channel informs the subjects as effectively.
	Reasoning string `json:"reasoning"`
}

// Scope is what a breach compromised, for finding the subjects affected
// from the audit trail: a time window and what was exposed.
type Scope struct {
	gdpr.TrailQuery
	// Encrypted lists data categories the breach exposed only as
	// ciphertexts under the subjects' own keys (package crypto): a
	// subject all of whose affected categories are in Encrypted, and
	// whose key stayed safe, is reported apart (Art. 34(3)(a)).
	Encrypted []string
	// SafeKEKs names the key-encryption keys that were not compromised.
	// A subject's key counts as safe only if it was wrapped under one of
	// them since before the window began (gdpr.SubjectKey.Since), or was
	// shredded before it.
	SafeKEKs []string
}

// Affected is what the search for the subjects affected found: counts for
// the authority (Art. 33(3)(a)). It holds no subject ID.
type Affected struct {
	// Scope is what was searched, with the ID of a staff or subject
	// Actor left out (it is personal data of that person; ActorRef
	// stands for it).
	Scope Scope `json:"scope"`
	// ActorRef is a keyed reference of the scope's Actor (an HMAC under
	// the Log's subject key), empty for a scope without an actor ID.
	ActorRef string `json:"actor_ref,omitempty"`
	// ScopeDigest is a keyed digest of the whole scope, actor ID
	// included, by which NotifySubjects checks that it is given the same
	// scope.
	ScopeDigest string `json:"scope_digest"`
	// At is when the search ran.
	At time.Time `json:"at"`
	// Entries counts the audit entries the scope selected.
	Entries int64 `json:"entries"`
	// Tokens counts the distinct subjects in those entries, whether or
	// not a candidate matched them.
	Tokens int64 `json:"tokens"`
	// Candidates counts the candidate IDs the host supplied.
	Candidates int64 `json:"candidates"`
	// Subjects counts the candidates found affected.
	Subjects int64 `json:"subjects"`
	// Unintelligible counts those of Subjects whose affected data was
	// encrypted under keys that stayed safe: reported apart, since
	// Art. 34(3)(a) may exempt them. The reasoning is Reasoning's.
	Unintelligible int64 `json:"unintelligible"`
	// Unmatched counts the subjects in the entries that no candidate
	// matched (erased since, or missing from the host's list).
	Unmatched int64 `json:"unmatched"`
	// ByCategory counts the affected subjects per data category.
	ByCategory map[string]int64 `json:"by_category,omitempty"`
	// Reasoning explains how the Unintelligible subjects were told
	// apart, for the record.
	Reasoning string `json:"reasoning,omitempty"`
}

// Subject is one affected subject, as the search yields it to the host.
type Subject struct {
	ID gdpr.SubjectID
	// Entries counts the audit entries about the subject in the scope.
	Entries int64
	// First and Last are the times of the first and last of them.
	First, Last time.Time
	// Categories are the data categories of those entries.
	Categories []string
	// Unintelligible is true when all of them were encrypted under a key
	// that stayed safe (see Scope.Encrypted).
	Unintelligible bool
	// Key is the subject's key as the KeyCustodian reported it; zero
	// without one.
	Key gdpr.SubjectKey
}

// Outcome is the outcome of one communication to a data subject.
type Outcome string

// The outcomes of a subject notice.
const (
	// Pending: claimed for sending, outcome not recorded (a sender
	// stopped between the claim and the record): not sent again
	// automatically, since it may have gone out.
	Pending Outcome = "pending"
	// Sent: the Notifier accepted the notice.
	Sent Outcome = "sent"
	// Failed: the Notifier refused it; a later NotifySubjects tries
	// again.
	Failed Outcome = "failed"
	// Skipped: not sent, on a ground of Art. 34(3) the assessment relies
	// on.
	Skipped Outcome = "skipped"
)

// Communications counts the outcomes of the communications to subjects.
type Communications struct {
	Sent    int64 `json:"sent"`
	Failed  int64 `json:"failed"`
	Skipped int64 `json:"skipped"`
	Pending int64 `json:"pending"`
}

// Breach is the current state of one breach, derived from its events.
type Breach struct {
	ID string `json:"id"`
	// Recorded is when the breach was first recorded.
	Recorded time.Time `json:"recorded"`
	// Clock is the Art. 33(1) time limit, in the Log's zone.
	Clock     Clock      `json:"-"`
	Processor *Processor `json:"processor,omitempty"`
	// Controllers are set on a processor's breach (Report.Controllers),
	// and Reports are its reports to them, in order.
	Controllers []string           `json:"controllers,omitempty"`
	Reports     []ControllerReport `json:"reports,omitempty"`
	Details
	// Assessment is the latest assessment; Risk Unassessed before one.
	Assessment Assessment `json:"assessment"`
	// Notifications to the authority, in order.
	Notifications []Notification `json:"notifications,omitempty"`
	// Affected is the latest search for the subjects affected; nil
	// before one.
	Affected *Affected `json:"affected,omitempty"`
	// Public lists the public communications made.
	Public []Public `json:"public,omitempty"`
	// Communications counts the notices to subjects, as of the last
	// NotifySubjects.
	Communications Communications `json:"communications"`
	// Closed is when the breach was closed; zero while open.
	Closed time.Time `json:"closed,omitzero"`
	// Events counts the breach's events; the next one is Events+1.
	Events int64 `json:"events"`
}

// Notified reports whether the authority has been notified.
func (b Breach) Notified() bool { return len(b.Notifications) > 0 }

// ForControllers reports whether b is a processor's breach, to be
// reported to its controllers (Art. 33(2)).
func (b Breach) ForControllers() bool { return len(b.Controllers) > 0 }

// Unreported returns the controllers of a processor's breach not told of
// it yet.
func (b Breach) Unreported() []string {
	var out []string
	for _, c := range b.Controllers {
		told := false
		for _, r := range b.Reports {
			told = told || r.Controller == c
		}
		if !told {
			out = append(out, c)
		}
	}
	return out
}
