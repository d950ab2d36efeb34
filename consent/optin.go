package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/google/uuid"
)

// Double opt-in. Request appends a Pending event and returns a confirmation
// token for the host to send (in an e-mail link, usually); Confirm takes the
// token back and appends the Given event that makes the consent valid.
//
// A confirmation token is "c1." followed by the unpadded base64url encoding
// of 48 bytes: the 16-byte ID of the pending event, then a 32-byte random
// secret. The ledger stores only the SHA-256 of the secret, on the pending
// event, and compares it in constant time; the ID part only selects the
// event, so a guess must find 256 bits. A token is single-use: the store
// admits at most one event confirming a pending one. It carries no personal
// data.

const (
	confirmPrefix = "c1."
	secretLen     = 32
	confirmRawLen = 16 + secretLen
)

// Request starts double opt-in: it appends a Pending event (which allows
// nothing) and returns it with the confirmation token. The token is valid
// for the Ledger's confirmation TTL (WithConfirmationTTL). The token is a
// secret: send it to the subject, do not log it.
func (l *Ledger) Request(ctx context.Context, c Choice) (Event, string, error) {
	if err := checkCtx("request", ctx); err != nil {
		return Event{}, "", err
	}
	var secret [secretLen]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return Event{}, "", wrap("request", err)
	}
	sum := sha256.Sum256(secret[:])
	e, err := l.append(ctx, "request", Pending, c, func(e *Event) {
		e.TokenHash = sum[:]
		e.ExpiresAt = e.Time.Add(l.ttl)
	})
	if err != nil {
		return Event{}, "", err
	}
	id := uuid.MustParse(e.ID)
	raw := make([]byte, 0, confirmRawLen)
	raw = append(append(raw, id[:]...), secret[:]...)
	return e, confirmPrefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// ParseConfirmationToken splits a confirmation token into the pending
// event's ID and the secret. It checks the form only; Confirm checks the
// rest. Any malformed token gives ErrInvalidToken.
func ParseConfirmationToken(token string) (eventID string, secret []byte, err error) {
	if len(token) != len(confirmPrefix)+base64.RawURLEncoding.EncodedLen(confirmRawLen) ||
		!strings.HasPrefix(token, confirmPrefix) {
		return "", nil, ErrInvalidToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token[len(confirmPrefix):])
	if err != nil || len(raw) != confirmRawLen {
		return "", nil, ErrInvalidToken
	}
	id, err := uuid.FromBytes(raw[:16])
	if err != nil || id.Version() != 7 {
		return "", nil, ErrInvalidToken
	}
	return id.String(), raw[16:], nil
}

// Confirm completes double opt-in: if the token matches a pending event and
// comes back before its deadline, it appends the Given event (method
// MethodEmailLink) and returns it. Errors: ErrInvalidToken for a malformed,
// unknown or forged token (also once the subject was erased),
// ErrTokenExpired after the deadline, ErrTokenUsed when the token was used
// before, ErrSuperseded when the subject has withdrawn, refused or objected
// since the request, ErrStaleNotice when a material notice version was
// published since. Only the first of any number of concurrent confirmations
// succeeds. If a withdrawal races the confirmation and lands just before it,
// Confirm records the withdrawal once more after the confirmation and
// returns the confirmation event with ErrSuperseded: the subject's last
// word stands.
//
// The confirmation's actor is the subject, whatever actor the context
// carries: the token proves that the subject chose. A withdrawal re-recorded
// after a racing confirmation names the system actor "consent", as the
// ledger records it on no one's request.
//
// Mail security scanners follow links: serve the link as a page whose
// button POSTs the token, and call Confirm from the POST, not from the GET.
func (l *Ledger) Confirm(ctx context.Context, token string, ev Evidence) (Event, error) {
	const op = "confirm"
	if err := checkCtx(op, ctx); err != nil {
		return Event{}, err
	}
	id, secret, err := ParseConfirmationToken(token)
	if err != nil {
		return Event{}, wrap(op, err)
	}
	p, err := l.store.Event(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Event{}, wrap(op, ErrInvalidToken)
	} else if err != nil {
		return Event{}, wrap(op, err)
	}
	sum := sha256.Sum256(secret)
	if p.Kind != Pending || subtle.ConstantTimeCompare(sum[:], p.TokenHash) != 1 {
		return Event{}, wrap(op, ErrInvalidToken)
	}
	now := l.now().UTC().Truncate(time.Microsecond)
	if !now.Before(p.ExpiresAt) {
		return Event{}, wrap(op, ErrTokenExpired)
	}
	later, err := l.store.Events(ctx, p.Subject, p.Purpose)
	if err != nil {
		return Event{}, wrap(op, err)
	}
	for _, e := range later {
		if e.Seq > p.Seq && e.Applies(p.Contact) && stops(e.Kind) {
			return Event{}, wrap(op, ErrSuperseded)
		}
	}
	if _, latest, err := l.noticeAt(ctx, p.Notice.ID, p.Notice.Version, now); err != nil {
		return Event{}, wrap(op, err)
	} else if latest > p.Notice.Version {
		return Event{}, wrap(op, errs.At("notice", staleNotice(p.Notice.ID, p.Notice.Version, latest)))
	}
	e := Event{
		ID: l.newID(), Subject: p.Subject, Purpose: p.Purpose, Contact: p.Contact, Kind: Given,
		Time: now, Actor: gdpr.SubjectActor(), Notice: p.Notice, Method: MethodEmailLink,
		Channel: p.Channel, Evidence: cloneEvidence(ev), Basis: p.Basis, Confirms: p.ID,
	}
	if !e.Time.After(p.Time) {
		e.Time = p.Time.Add(time.Microsecond)
	}
	if err := e.validate(); err != nil {
		return Event{}, wrap(op, err)
	}
	if err := l.store.Append(ctx, e); err != nil {
		if errors.Is(err, ErrConflict) {
			return Event{}, wrap(op, ErrTokenUsed)
		}
		return Event{}, wrap(op, err)
	}
	if err := l.recordEvent(ctx, e); err != nil {
		return e, wrap(op, err)
	}
	// A withdrawal appended between the check above and this confirmation
	// would now be overridden by it. Look again; if one came in, record it
	// once more after the confirmation, so the subject's last word stands.
	return e, wrap(op, l.reassert(ctx, p, e))
}

// reassert re-records, after the confirmation e of pending p, the last
// denying event appended between them, and reports ErrSuperseded.
func (l *Ledger) reassert(ctx context.Context, p, e Event) error {
	return l.reassertSince(ctx, p.Seq, e, ErrSuperseded)
}

// reassertSince re-records, after e, the last withdrawal, refusal or
// objection that applies to e's channel and was appended after seq and
// before e, and then reports because; it reports nil if there is none. It
// is how a choice that raced a stop lets the stop stand.
func (l *Ledger) reassertSince(ctx context.Context, seq int64, e Event, because error) error {
	evs, err := l.store.Events(ctx, e.Subject, e.Purpose)
	if err != nil {
		return err
	}
	stored := e.Seq
	for _, x := range evs {
		if x.ID == e.ID {
			stored = x.Seq
		}
	}
	var stop *Event
	for i, x := range evs {
		if x.Seq > seq && x.Seq < stored && x.Applies(e.Contact) && stops(x.Kind) {
			stop = &evs[i]
		}
	}
	if stop == nil {
		return nil
	}
	again := Event{
		ID: l.newID(), Subject: stop.Subject, Purpose: stop.Purpose, Contact: stop.Contact, Kind: stop.Kind,
		Time: l.now().UTC().Truncate(time.Microsecond), Actor: systemActor, Notice: stop.Notice,
		Method: MethodSystem, Basis: stop.Basis,
		Evidence: Evidence{Attrs: map[string]string{"reasserts": stop.ID, "after_confirmation": e.ID}},
	}
	if err := l.store.Append(ctx, again); err != nil {
		return err
	}
	if err := l.recordEvent(ctx, again); err != nil {
		return err
	}
	return because
}

// stops reports whether an event of kind k is the subject's "no": a
// withdrawal, a refusal or an objection.
func stops(k Kind) bool { return k == Withdrawn || k == Refused || k == Objected }

// The soft opt-in. Direct marketing by electronic mail (e-mail, SMS) needs
// the subscriber's prior consent (ePrivacy Directive 2002/58/EC Art. 13(1)),
// with one exception, Art. 13(2): "where a natural or legal person obtains
// from its customers their electronic contact details for electronic mail,
// in the context of the sale of a product or a service, […] the same
// natural or legal person may use these electronic contact details for
// direct marketing of its own similar products or services provided that
// customers clearly and distinctly are given the opportunity to object,
// free of charge and in an easy manner, to such use of electronic contact
// details at the time of their collection and on the occasion of each
// message in case the customer has not initially refused such use".
// RecordSoftOptIn keeps the evidence of each of those conditions as a
// SoftOptIn event; Decide allows an e-mail or SMS for a direct-marketing
// purpose that does not rest on consent only on such an event.

// CustomerContact is an existing customer's e-mail address or mobile number,
// obtained in the context of a sale, that the controller means to use for
// direct marketing without consent (Art. 13(2)). Ledger.RecordSoftOptIn
// records it. Every field is required but Actor, Method, Channel, Evidence
// and ExpiresAt, whose defaults are as in Choice.
type CustomerContact struct {
	Subject gdpr.SubjectID
	// Purpose is the direct marketing that will use the contact detail:
	// an activity of the Register marked DirectMarketing that rests on a
	// basis other than consent (legitimate interests, Recital 47 GDPR). It
	// must market the controller's own products or services, similar to
	// those sold (Products); a soft opt-in recorded for one purpose
	// covers that purpose only.
	Purpose gdpr.Purpose
	// Contact is the channel of the detail obtained: Email or SMS.
	Contact Contact
	// Sale references the sale of a product or a service in whose context
	// the detail was obtained: an order or invoice number, kept as the
	// evidence attribute "sale". It is a key of the host's, not personal
	// data, and obeys the rules of an Evidence attribute value.
	Sale string
	// Products names what was sold, as a category key ("outdoor-gear"),
	// kept as the evidence attribute "products": the marketing under
	// Purpose must be of similar products or services. It obeys the rules
	// of an Evidence attribute value.
	Products string
	// Notice is the notice shown when the detail was collected, which
	// offered the opportunity to object; it must be published.
	Notice NoticeRef
	// OptOutOffered attests that, when the detail was collected, the
	// customer was clearly and distinctly given the opportunity to object
	// to its use for direct marketing, free of charge and in an easy manner
	// (an unticked "no offers by e-mail" box at checkout, say), and did not
	// take it. It must be true. A customer who took it objected: record
	// that with Object instead.
	OptOutOffered bool
	// Actor defaults to the actor of the context, else the subject.
	Actor gdpr.Actor
	// Method defaults to MethodForm.
	Method Method
	// Channel is where the detail was collected ("web", "shop"); default none.
	Channel string
	// Evidence shows how; default none. Its Attrs may not use the keys
	// "sale" and "products", which the ledger fills in.
	Evidence Evidence
	// ExpiresAt optionally ends the soft opt-in (national law or the
	// controller's policy may limit how long after the sale it lasts);
	// zero, the default, for no end.
	ExpiresAt time.Time
}

// ErrObjectionStands: RecordSoftOptIn for a subject who objected to the
// purpose on that channel (or on all), withdrew or refused, with no consent
// since. A soft opt-in is for a customer who "has not initially refused such
// use" (Art. 13(2)), and after an objection to direct marketing the data may
// no longer be processed for it (Art. 21(3) GDPR): only the subject's own
// consent can bring it back. It wraps ErrInvalid.
var ErrObjectionStands = errs.Sentinel("the subject objected to this direct marketing", ErrInvalid)

// RecordSoftOptIn records a soft opt-in (ePrivacy Directive Art. 13(2)):
// the customer's e-mail address or mobile number, obtained in the context
// of the sale c.Sale of c.Products, with the opportunity to object offered
// under notice c.Notice, may be used for the direct marketing c.Purpose of
// the controller's own similar products or services on channel c.Contact.
// Decide then allows that channel for that purpose (ReasonSoftOptIn) until
// the subject objects or unsubscribes, which always wins, or c.ExpiresAt.
//
// Every message sent on it must again offer the opportunity to object,
// free of charge and easily ("on the occasion of each message"): put an
// unsubscribe link in it (UnsubscribeToken for the purpose and channel).
//
// Errors: ErrUnknownPurpose; ErrInvalid without a Register, for a purpose
// that is not direct marketing or rests on consent (ask for consent with
// Give), for a channel other than Email or SMS, an empty Sale or Products,
// OptOutOffered false, or the reserved evidence attributes;
// ErrUnknownNotice; ErrObjectionStands when the subject objected (or
// withdrew or refused) on that channel or on all, with no consent since.
// A soft opt-in that races such a choice is recorded, the choice is
// recorded once more after it, and RecordSoftOptIn returns the soft opt-in
// with ErrObjectionStands: the subject's last word stands.
func (l *Ledger) RecordSoftOptIn(ctx context.Context, c CustomerContact) (Event, error) {
	const op = "soft_opt_in"
	if err := checkCtx(op, ctx); err != nil {
		return Event{}, err
	}
	if err := c.Subject.Validate(); err != nil {
		return Event{}, wrap(op, invalid("subject", err))
	}
	if err := c.Purpose.Validate(); err != nil {
		return Event{}, wrap(op, invalid("purpose", err))
	}
	if l.register == nil {
		return Event{}, wrap(op, invalidf("purpose", "a soft opt-in needs a Register (WithRegister) to tell direct marketing and its basis"))
	}
	a, ok := l.register.Activity(c.Purpose)
	switch {
	case !ok:
		return Event{}, wrap(op, errs.At("purpose", because(ErrUnknownPurpose, show(string(c.Purpose)), nil)))
	case !a.DirectMarketing:
		return Event{}, wrap(op, invalidf("purpose", "%s is not direct marketing in the register", show(string(c.Purpose))))
	case a.Basis.IsConsent():
		return Event{}, wrap(op, invalidf("purpose", "%s rests on consent: ask for it (Give)", show(string(c.Purpose))))
	case !c.Contact.softOptInable():
		return Event{}, wrap(op, invalidf("contact", "a soft opt-in is for email or sms alone (electronic contact details for electronic mail, Art. 13(2))"))
	case !c.OptOutOffered:
		return Event{}, wrap(op, invalidf("opt_out_offered", "the customer must have been offered the opportunity to object at collection (Art. 13(2))"))
	}
	for field, v := range map[string]string{"sale": c.Sale, "products": c.Products} {
		if err := validAttrValue(v); err != nil {
			return Event{}, wrap(op, invalidf(field, "%v", err))
		}
		if _, taken := c.Evidence.Attrs[field]; taken {
			return Event{}, wrap(op, invalidf("evidence.attrs", "attribute %s is the ledger's", show(field)))
		}
	}
	evs, err := l.store.Events(ctx, c.Subject, c.Purpose)
	if err != nil {
		return Event{}, wrap(op, err)
	}
	var seen int64
	for _, e := range evs {
		seen = max(seen, e.Seq)
	}
	if objectionStands(evs, c.Contact) {
		return Event{}, wrap(op, errs.At("subject", ErrObjectionStands))
	}
	ev := cloneEvidence(c.Evidence)
	if ev.Attrs == nil {
		ev.Attrs = make(map[string]string, 2)
	}
	ev.Attrs["sale"], ev.Attrs["products"] = c.Sale, c.Products
	e, err := l.append(ctx, op, SoftOptIn, Choice{
		Subject: c.Subject, Purpose: c.Purpose, Contact: c.Contact, Actor: c.Actor, Notice: c.Notice,
		Method: c.Method, Channel: c.Channel, Evidence: ev, ExpiresAt: c.ExpiresAt,
	}, nil)
	if err != nil {
		return e, err
	}
	// A stop appended since we looked would now be overridden by the soft
	// opt-in: record it once more after it.
	return e, wrap(op, l.reassertSince(ctx, seen, e, ErrObjectionStands))
}

// objectionStands reports whether, of evs (in Seq order), the last event
// that applies to contact and is a stop or a consent is a stop: the
// subject's "no" to this purpose on contact (or on all channels), not
// followed by a consent. Soft opt-ins do not lift a stop.
func objectionStands(evs []Event, contact Contact) bool {
	standing := false
	for _, e := range evs {
		switch {
		case !e.Applies(contact):
		case stops(e.Kind):
			standing = true
		case e.Kind == Given:
			standing = false
		}
	}
	return standing
}
