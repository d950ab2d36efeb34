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
		if e.Seq > p.Seq && e.Applies(p.Contact) && (e.Kind == Withdrawn || e.Kind == Refused || e.Kind == Objected) {
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
	evs, err := l.store.Events(ctx, p.Subject, p.Purpose)
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
		if x.Seq > p.Seq && x.Seq < stored && x.Applies(p.Contact) &&
			(x.Kind == Withdrawn || x.Kind == Refused || x.Kind == Objected) {
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
	return ErrSuperseded
}
