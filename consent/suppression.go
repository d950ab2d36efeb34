package consent

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
)

// The suppression list. An objection to direct marketing is absolute:
// "the personal data shall no longer be processed for such purposes"
// (Art. 21(3)). Erasure (Art. 17(1)(c)) deletes the objection with the rest
// of the subject's events, and for direct marketing that rests on
// legitimate interests a ledger with no events about a subject allows it
// again: the person who objected and then asked to be forgotten would be
// marketed to once their details came back (a new order, an import). So the
// ledger keeps, past erasure, one entry per direct-marketing objection or
// withdrawal: an HMAC-SHA256, under a key of the host's, of the subject ID,
// the purpose and the channel, and the time of the stop. No ID is kept in
// clear, the entry cannot be read back, and it can only be matched by one
// who holds the key and the subject ID: the host, when the subject comes
// back. Decide honours an entry as ReasonSuppressed; a consent given after
// it (the subject's own new choice) wins over it. "After" compares the
// consent's Time with the entry's, both stamped by the instances' clocks:
// a consent recorded on an instance whose clock runs behind by more than
// the time since the stop loses, and the decision denies, the safe side.
// Entries are never removed by the ledger: a suppression list is kept for
// as long as the controller markets at all.

// Suppressions is the part of a Store that keeps the suppression list:
// opaque hashes with a time. Every Store embeds it; the Ledger computes the
// hashes (WithSuppressionKey) and alone calls it.
//
// Entries are never deleted by DeleteSubject (the subject ID is not in
// them), which is the point: they outlive erasure. Methods are safe for
// concurrent use, from many goroutines and, for a shared database, many
// processes. The Ledger never passes a nil context.
type Suppressions interface {
	// Suppress keeps each entry. An entry whose Hash is kept already keeps
	// the later of the two times. A Store may keep no reference to the
	// caller's slices. Errors are store failures.
	Suppress(ctx context.Context, entries ...Suppression) error

	// Suppressed returns the entries kept for any of hashes, in any order
	// (each at most once); none is not an error and gives an empty result.
	Suppressed(ctx context.Context, hashes [][]byte) ([]Suppression, error)
}

// Suppression is one entry of the suppression list.
type Suppression struct {
	// Hash is the HMAC-SHA256 of the subject, purpose and channel under
	// the Ledger's suppression key: 32 bytes.
	Hash []byte
	// Time is when the stop it stands for was recorded, in UTC to the
	// microsecond.
	Time time.Time
}

// SuppressionCategory is the data category that ErasureReport.Exemptions
// names for the suppression entries EraseSubject keeps.
const SuppressionCategory = "marketing_suppression"

// suppressionReason is the Exemption's Reason, for the reply to the subject.
const suppressionReason = "A keyed hash of each objection or withdrawal from direct marketing is kept, " +
	"so that direct marketing cannot resume after the erasure: Art. 21(3) GDPR requires that the data " +
	"no longer be processed for such purposes, and Art. 13 of Directive 2002/58/EC that the opt-out be " +
	"respected. It holds no identifier in clear and serves no other purpose."

const (
	minSuppressionKeyLen = 32
	suppressionDomain    = "gdpr consent suppression v1"
)

// suppressor holds the suppression keys: keys[0] writes, every key is
// looked up.
type suppressor struct{ keys [][]byte }

// WithSuppressionKey gives the Ledger a suppression list (see
// Suppressions): entries keyed by HMAC-SHA256 under key of the subject, the
// purpose and the channel of every standing direct-marketing objection and
// withdrawal, which EraseSubject keeps and reports as an exemption
// (Art. 17(3)(b): the obligation of Art. 21(3) to process the data no
// longer for direct marketing), which Unsubscribe writes for every
// direct-marketing unsubscribe, and which Decide honours (ReasonSuppressed).
// "Direct marketing" is a purpose the Register marks DirectMarketing, or
// any purpose without a Register.
//
// Each key must hold at least 32 random bytes. The first writes; all are
// looked up, so a key can be rotated: put the new one first and keep the
// old ones for as long as their entries must be honoured — forever, in
// practice, since an entry cannot be re-keyed without the subject ID it no
// longer has. Keep the keys out of the database that holds the entries (a
// KMS, a secret store): with the key and a list of candidate IDs, anyone
// can test who objected. Losing every key loses the list. The Ledger
// copies the keys; nil, none, or a short key is an error.
//
// Default: no suppression list. New then refuses a Register that rests a
// direct-marketing activity on a basis other than consent, where erasure
// would let marketing resume. (For consent-based marketing, erasure leaves
// no consent, so nothing resumes without the subject's new consent.)
func WithSuppressionKey(keys ...[]byte) Option {
	return option{"WithSuppressionKey", func(l *Ledger) error {
		if len(keys) == 0 {
			return because(ErrInvalid, "no key", nil)
		}
		s := &suppressor{}
		for i, k := range keys {
			if len(k) < minSuppressionKeyLen {
				return because(ErrInvalid, fmt.Sprintf("key %d shorter than %d bytes", i, minSuppressionKeyLen), nil)
			}
			s.keys = append(s.keys, bytes.Clone(k))
		}
		l.suppress = s
		return nil
	}}
}

// checkOptions checks what no single option can: the options together.
func (l *Ledger) checkOptions() error {
	if l.suppress != nil || l.register == nil {
		return nil
	}
	for _, a := range l.register.Activities {
		if a.DirectMarketing && !a.Basis.IsConsent() {
			return &Error{Op: "new", Field: "WithSuppressionKey", Err: because(ErrInvalid, fmt.Sprintf(
				"the register rests direct marketing %s on %s: give the Ledger a suppression key, so that an objection outlives erasure (Art. 21(3))",
				show(string(a.Purpose)), a.Basis.Article()), nil)}
		}
	}
	return nil
}

// hash is the entry hash of (subject, purpose, contact) under key.
func suppressionHash(key []byte, subject gdpr.SubjectID, purpose gdpr.Purpose, contact Contact) []byte {
	m := hmac.New(sha256.New, key)
	var b []byte
	b = append(b, suppressionDomain...)
	for _, s := range []string{string(subject), string(purpose), string(contact)} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	m.Write(b)
	return m.Sum(nil)
}

// suppressible reports whether the ledger keeps suppression entries for
// purpose: it has a suppression key, and the purpose is direct marketing
// (any purpose, without a Register).
func (l *Ledger) suppressible(purpose gdpr.Purpose) bool {
	return l.suppress != nil && (l.register == nil || l.directMarketing(purpose))
}

// entry is the entry to write for a stop on (subject, purpose, contact) at t.
func (l *Ledger) entry(subject gdpr.SubjectID, purpose gdpr.Purpose, contact Contact, t time.Time) Suppression {
	return Suppression{Hash: suppressionHash(l.suppress.keys[0], subject, purpose, contact), Time: t.UTC().Truncate(time.Microsecond)}
}

// allContacts are the scopes a stop can have.
var allContacts = []Contact{AllContacts, Email, SMS, Push, InApp, WebPush, Phone, Post}

// suppression returns the latest entry that bears on q (for q.Contact and
// for all channels; for every channel when q.Contact is AllContacts, as
// Event.Applies does), under any key, and whether there is one.
func (l *Ledger) suppression(ctx context.Context, q Query) (Suppression, bool, error) {
	contacts := []Contact{AllContacts, q.Contact}
	if q.Contact == AllContacts {
		contacts = allContacts
	}
	var hashes [][]byte
	for _, k := range l.suppress.keys {
		for _, c := range contacts {
			hashes = append(hashes, suppressionHash(k, q.Subject, q.Purpose, c))
		}
	}
	got, err := l.store.Suppressed(ctx, dedupe(hashes))
	if err != nil || len(got) == 0 {
		return Suppression{}, false, err
	}
	latest := got[0]
	for _, s := range got[1:] {
		if s.Time.After(latest.Time) {
			latest = s
		}
	}
	return latest, true, nil
}

func dedupe(hs [][]byte) [][]byte {
	out := hs[:0:0]
	for _, h := range hs {
		dup := false
		for _, o := range out {
			if bytes.Equal(h, o) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, h)
		}
	}
	return out
}

// applySuppression turns an allowing decision d for q into ReasonSuppressed
// when an entry bears on q, unless d rests on a consent given after the
// entry's time.
func (l *Ledger) applySuppression(ctx context.Context, q Query, d *Decision) error {
	if !d.Allowed || !l.suppressible(q.Purpose) {
		return nil
	}
	s, ok, err := l.suppression(ctx, q)
	if err != nil || !ok {
		return err
	}
	if d.Reason == ReasonGiven && d.Event.Time.After(s.Time) {
		return nil // the subject's own new choice
	}
	d.Allowed, d.Reason, d.Event = false, ReasonSuppressed, Event{}
	return nil
}

// standingStops returns the entries for the direct-marketing objections and
// withdrawals of evs (one subject's events in Seq order) that still stand:
// for each (purpose, channel) of a stop, unless a consent for that channel
// or for all came after it. The time of an entry is that of the last stop.
func (l *Ledger) standingStops(evs []Event) []Suppression {
	type scope struct {
		p gdpr.Purpose
		c Contact
	}
	last := map[scope]time.Time{}
	var order []scope
	for _, e := range evs {
		if !l.suppressible(e.Purpose) {
			continue
		}
		switch e.Kind {
		case Objected, Withdrawn:
			sc := scope{e.Purpose, e.Contact}
			if _, seen := last[sc]; !seen {
				order = append(order, sc)
			}
			last[sc] = e.Time
		case Given:
			for sc := range last {
				if sc.p == e.Purpose && (e.Contact == AllContacts || e.Contact == sc.c) {
					delete(last, sc)
				}
			}
		}
	}
	var out []Suppression
	for _, sc := range order {
		if t, ok := last[sc]; ok {
			out = append(out, l.entry(evs[0].Subject, sc.p, sc.c, t))
			delete(last, sc) // once, though the scope may be in order twice
		}
	}
	return out
}

// keepSuppressions writes the entries for subject's standing
// direct-marketing stops (before the erasure deletes the events they come
// from) and returns the exemption for every entry kept for the subject,
// including those of an earlier erasure or unsubscribe, so a repeated
// erasure names them again. Without a suppression key it does nothing.
func (l *Ledger) keepSuppressions(ctx context.Context, subject gdpr.SubjectID) ([]gdpr.Exemption, error) {
	if l.suppress == nil {
		return nil, nil
	}
	evs, err := l.store.Events(ctx, subject, "")
	if err != nil {
		return nil, err
	}
	entries := l.standingStops(evs)
	if len(entries) > 0 {
		if err := l.store.Suppress(ctx, entries...); err != nil {
			return nil, err
		}
	}
	// Count what is kept: the purposes of the events, and the Register's
	// direct-marketing purposes (an earlier erasure left no events).
	purposes := map[gdpr.Purpose]bool{}
	for _, e := range evs {
		purposes[e.Purpose] = true
	}
	if l.register != nil {
		for _, a := range l.register.Activities {
			purposes[a.Purpose] = true
		}
	}
	var hashes [][]byte
	for p := range purposes {
		if !l.suppressible(p) {
			continue
		}
		for _, k := range l.suppress.keys {
			for _, c := range allContacts {
				hashes = append(hashes, suppressionHash(k, subject, p, c))
			}
		}
	}
	if len(hashes) == 0 {
		return nil, nil
	}
	kept, err := l.store.Suppressed(ctx, hashes)
	if err != nil || len(kept) == 0 {
		return nil, err
	}
	return []gdpr.Exemption{{Category: SuppressionCategory, Records: int64(len(kept)),
		Ground: gdpr.GroundLegalObligation, Reason: suppressionReason}}, nil
}
