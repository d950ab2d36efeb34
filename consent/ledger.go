package consent

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/auditlimit"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/google/uuid"
)

// Ledger is the consent service: it validates choices, appends them to its
// Store as immutable events, answers processing decisions, runs double
// opt-in, issues receipts and unsubscribe tokens, and erases and exports a
// subject's history. It is safe for concurrent use.
//
// A Ledger prints under every fmt verb as a summary (its store's type,
// whether it has a register, the receipt key's ID and the number of
// unsubscribe keys), never its receipt signing key or unsubscribe secrets.
type Ledger struct {
	store    Store
	register *gdpr.Register
	recorder gdpr.Recorder
	now      func() time.Time
	ttl      time.Duration
	unsub    *Unsubscriber
	receipts *receiptConfig // nil without WithReceipts
	suppress *suppressor    // nil without WithSuppressionKey

	idMu sync.Mutex // uuid.NewV7 is safe, but ties on the clock are broken under this lock
}

// systemActor is the Ledger's own actor, for what it does on no one's
// behalf (an expiry, a re-recorded withdrawal) and for audit events of calls
// whose context carries no actor (gdpr.WithActor).
var systemActor = gdpr.System("consent")

// Option configures a Ledger. Options are made only by this package's WithX
// functions; each checks its argument when New applies it and makes New fail
// with an *Error whose Op is "new" and whose Field is the option's name.
type Option interface {
	apply(*Ledger) error
	name() string
}

type option struct {
	n  string
	fn func(*Ledger) error
}

func (o option) apply(l *Ledger) error { return o.fn(l) }
func (o option) name() string          { return o.n }

// WithRegister checks every purpose against the record of processing
// activities (the Ledger keeps its own copy, so later changes to r have no
// effect): an unknown purpose is rejected with ErrUnknownPurpose,
// consent for a purpose resting on another basis with ErrNotConsentBased,
// and decisions for such purposes follow their basis (see Ledger.Decide).
// Exported records then name the activity of their purpose
// (Ledger.ExportSubject). An activity without a Purpose serves the purpose
// named by its ID. r must pass r.Validate; nil is an error.
// Default: no register; any purpose is accepted and assumed to rest on consent.
func WithRegister(r *gdpr.Register) Option {
	return option{"WithRegister", func(l *Ledger) error {
		if r == nil {
			return because(ErrInvalid, "nil register", nil)
		}
		if err := r.Validate(); err != nil {
			return because(ErrInvalid, errs.StripInvalid(err, "consent"), err)
		}
		l.register = r.Clone()
		for i := range l.register.Activities {
			if a := &l.register.Activities[i]; a.Purpose == "" {
				a.Purpose = gdpr.Purpose(a.ID)
			}
		}
		return nil
	}}
}

// WithRecorder records an audit event for every choice appended, every
// notice published, every erasure and every export. The recorder
// pseudonymises the subject; the events carry IDs, purposes and kinds, never
// evidence or notice text. Each names as its actor the actor of the event
// recorded (see Choice.Actor); events of calls that take no Choice
// (Publish, EraseSubject, ExportSubject) name the actor of the context
// (gdpr.WithActor), else the system actor "consent", and the purpose of the
// context (gdpr.WithPurpose), if any. nil is an error.
// Default: gdpr.Discard.
//
// Records are made after the ledger write, with the context's values but
// not its cancellation, within AuditTimeout. A recorder error fails the
// operation after the write: the choice stands, and its record stays owed
// in the Store's outbox until Ledger.DrainAudit makes it (see the package
// doc, # Audit).
func WithRecorder(r gdpr.Recorder) Option {
	return option{"WithRecorder", func(l *Ledger) error {
		if r == nil {
			return because(ErrInvalid, "nil recorder", nil)
		}
		l.recorder = r
		return nil
	}}
}

// WithClock sets the source of the current time, for event times, notice
// publication, token and consent expiry. nil is an error.
// Default: time.Now.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", func(l *Ledger) error {
		if now == nil {
			return because(ErrInvalid, "nil clock", nil)
		}
		l.now = now
		return nil
	}}
}

// WithConfirmationTTL sets how long a double opt-in confirmation token stays
// valid. It must be between one minute and 30 days. Default: 72 hours.
func WithConfirmationTTL(d time.Duration) Option {
	return option{"WithConfirmationTTL", func(l *Ledger) error {
		if d < time.Minute || d > 30*24*time.Hour {
			return because(ErrInvalid, "TTL not between one minute and 30 days", nil)
		}
		l.ttl = d
		return nil
	}}
}

// WithUnsubscriber lets the Ledger issue and honour signed unsubscribe tokens
// (Ledger.UnsubscribeToken, Ledger.Unsubscribe). u must come from
// NewUnsubscriber; nil, or an Unsubscriber without keys, is an error.
// Default: none; those methods fail with ErrInvalid.
func WithUnsubscriber(u *Unsubscriber) Option {
	return option{"WithUnsubscriber", func(l *Ledger) error {
		if u == nil {
			return because(ErrInvalid, "nil unsubscriber", nil)
		}
		if len(u.keys) == 0 {
			return because(ErrInvalid, "unsubscriber without keys (use NewUnsubscriber)", nil)
		}
		l.unsub = u
		return nil
	}}
}

// WithReceipts lets the Ledger issue signed consent receipts
// (Ledger.Receipt). signer must hold an Ed25519 key (an ed25519.PrivateKey,
// or a KMS or HSM signer whose Public() is an ed25519.PublicKey); nil is an
// error. controller names the controller on every receipt and must carry
// every field the Kantara Consent Receipt Specification 1.1 requires of a
// PII controller (Controller.Validate: name, contact, postal address,
// e-mail, phone) and a PolicyURL. jurisdiction is the receipt's
// jurisdiction; empty means "EU". Default: no receipts; Receipt fails with
// ErrInvalid.
func WithReceipts(signer crypto.Signer, controller Controller, jurisdiction string) Option {
	return option{"WithReceipts", func(l *Ledger) error {
		rc, err := newReceiptConfig(signer, controller, jurisdiction)
		if err != nil {
			return err
		}
		l.receipts = rc
		return nil
	}}
}

// New returns a Ledger over store, configured by opts. A nil store, a nil
// Option or an option whose argument is bad gives an *Error with Op "new"
// and Field "store", "opts" or the option's name (e.g. "WithClock"),
// wrapping ErrInvalid.
func New(store Store, opts ...Option) (*Ledger, error) {
	if store == nil {
		return nil, &Error{Op: "new", Field: "store", Err: because(ErrInvalid, "nil store", nil)}
	}
	l := &Ledger{store: store, recorder: gdpr.Discard, now: time.Now, ttl: 72 * time.Hour}
	for _, o := range opts {
		if o == nil {
			return nil, &Error{Op: "new", Field: "opts", Err: because(ErrInvalid, "nil option", nil)}
		}
		if err := o.apply(l); err != nil {
			return nil, &Error{Op: "new", Field: o.name(), Err: err}
		}
	}
	if err := l.checkOptions(); err != nil {
		return nil, err
	}
	return l, nil
}

// Format prints the Ledger's summary under every verb: no key material.
func (l *Ledger) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, l.describe()) }

// GoString is the Ledger's summary, for %#v: no key material.
func (l *Ledger) GoString() string { return l.describe() }

func (l *Ledger) describe() string {
	if l == nil {
		return "(*consent.Ledger)(nil)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "&consent.Ledger{store: %T, register: %t, recorder: %T", l.store, l.register != nil, l.recorder)
	if l.receipts != nil {
		fmt.Fprintf(&b, ", receipt key: %s", l.receipts.kid)
	}
	if l.unsub != nil {
		fmt.Fprintf(&b, ", unsubscribe keys: %d", len(l.unsub.keys))
	}
	b.WriteString("}")
	return b.String()
}

// ctxActor returns the actor of ctx (gdpr.WithActor), or def without one.
// An invalid actor in ctx is an error for field "ctx".
func ctxActor(ctx context.Context, def gdpr.Actor) (gdpr.Actor, error) {
	a, ok := gdpr.ActorFrom(ctx)
	if !ok {
		return def, nil
	}
	if err := a.Validate(); err != nil {
		return gdpr.Actor{}, errs.At("ctx", because(ErrInvalid, "actor: "+errs.StripInvalid(err, "consent"), err))
	}
	if why := auditActor(a); why != "" {
		return gdpr.Actor{}, errs.At("ctx", because(ErrInvalid, "actor: "+why, nil))
	}
	return a, nil
}

// ctxPurpose returns the purpose of ctx (gdpr.WithPurpose), or "". An
// invalid purpose in ctx is an error for field "ctx".
func ctxPurpose(ctx context.Context) (gdpr.Purpose, error) {
	p, ok := gdpr.PurposeFrom(ctx)
	if !ok {
		return "", nil
	}
	if err := p.Validate(); err != nil {
		return "", errs.At("ctx", because(ErrInvalid, "purpose: "+errs.StripInvalid(err, "consent"), err))
	}
	return p, nil
}

// auditFrom returns the actor and purpose of the audit event of a call that
// takes no Choice: those of ctx, else the system actor and no purpose.
func auditFrom(ctx context.Context) (gdpr.Actor, gdpr.Purpose, error) {
	a, err := ctxActor(ctx, systemActor)
	if err != nil {
		return gdpr.Actor{}, "", err
	}
	p, err := ctxPurpose(ctx)
	return a, p, err
}

// HashText returns the hex SHA-256 of a notice's text, the value of
// Notice.TextHash.
func HashText(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// Publish stores a new version of a notice. Version must be higher than every
// published version of the same ID (checked before the write: two
// publishers racing with different versions can both succeed, so publish
// from one place, such as a deployment step); TextHash must be a hex SHA-256
// (HashText); Published defaults to now. The ID is printable UTF-8 of at
// most 249 bytes without control characters (C0, DEL or C1), so that its
// audit record's resource "notice/<ID>" fits the audit trail.
//
// Publishing is idempotent: a notice whose ID and Version are published
// already with the same TextHash, Language, URL and Material (and the same
// Published, when n sets it) returns the stored version and no error, and
// records nothing, so a deployment step can publish its texts on every
// start. It returns ErrConflict if that version was published with other
// content, or if the version is not above the latest one, and ErrInvalid
// for bad input.
func (l *Ledger) Publish(ctx context.Context, n Notice) (Notice, error) {
	const op = "publish"
	if err := checkCtx(op, ctx); err != nil {
		return Notice{}, err
	}
	if err := validKey(n.ID, maxLocator); err != nil {
		return Notice{}, wrap(op, invalidf("id", "%v", err))
	}
	if n.Version < 1 {
		return Notice{}, wrap(op, invalidf("version", "must be 1 or more"))
	}
	if b, err := hex.DecodeString(n.TextHash); err != nil || len(b) != sha256.Size {
		return Notice{}, wrap(op, invalidf("text_hash", "not a hex SHA-256 (use HashText)"))
	}
	if n.Language != "" {
		if err := validKey(n.Language, maxShort); err != nil {
			return Notice{}, wrap(op, invalidf("language", "%v", err))
		}
	}
	if n.URL != "" {
		if err := validKey(n.URL, 2048); err != nil {
			return Notice{}, wrap(op, invalidf("url", "%v", err))
		}
	}
	actor, purpose, err := auditFrom(ctx)
	if err != nil {
		return Notice{}, wrap(op, err)
	}
	rec := gdpr.Event{
		Time: l.now(), Actor: actor, Action: "consent.notice_published", Purpose: purpose,
		Resource: "notice/" + n.ID, Outcome: gdpr.Success,
		Attrs: map[string]string{"version": strconv.Itoa(n.Version), "material": strconv.FormatBool(n.Material)},
	}
	if err := checkAudit(rec, map[string]string{"resource": "id", "actor": "ctx", "purpose": "ctx"}); err != nil {
		return Notice{}, wrap(op, err)
	}
	publishedGiven := !n.Published.IsZero()
	if !publishedGiven {
		n.Published = l.now()
	}
	n.Published = n.Published.UTC().Truncate(time.Microsecond)
	existing, err := l.store.Notices(ctx, n.ID)
	if err != nil {
		return Notice{}, wrap(op, err)
	}
	if old, ok := findVersion(existing, n.Version); ok {
		return republished(op, old, n, publishedGiven)
	}
	if k := len(existing); k > 0 && existing[k-1].Version >= n.Version {
		return Notice{}, wrap(op, errs.At("version", because(ErrConflict,
			fmt.Sprintf("notice %s version %d is not above the latest %d", show(n.ID), n.Version, existing[k-1].Version), nil)))
	}
	if err := l.store.PutNotice(ctx, n); err != nil {
		if errors.Is(err, ErrConflict) {
			// Another publisher stored this version since we looked: the
			// same publication is still no conflict.
			if again, rerr := l.store.Notices(ctx, n.ID); rerr == nil {
				if old, ok := findVersion(again, n.Version); ok {
					return republished(op, old, n, publishedGiven)
				}
			}
		}
		return Notice{}, wrap(op, err)
	}
	rec.Time = l.now()
	return n, wrap(op, l.record(ctx, rec))
}

// findVersion returns the notice of ns with the given version.
func findVersion(ns []Notice, version int) (Notice, bool) {
	for _, n := range ns {
		if n.Version == version {
			return n, true
		}
	}
	return Notice{}, false
}

// republished answers a Publish of a version that is stored already: old
// itself if n is the same publication, else a conflict.
func republished(op string, old, n Notice, publishedGiven bool) (Notice, error) {
	if err := samePublication(old, n, publishedGiven); err != nil {
		return Notice{}, wrap(op, err)
	}
	return old, nil
}

// samePublication returns nil if n republishes old, and otherwise an error
// wrapping ErrConflict that names the fields (never their values) that
// differ.
func samePublication(old, n Notice, publishedGiven bool) error {
	var diff []string
	if !strings.EqualFold(old.TextHash, n.TextHash) {
		diff = append(diff, "text_hash")
	}
	if old.Language != n.Language {
		diff = append(diff, "language")
	}
	if old.URL != n.URL {
		diff = append(diff, "url")
	}
	if old.Material != n.Material {
		diff = append(diff, "material")
	}
	if publishedGiven && !old.Published.Equal(n.Published) {
		diff = append(diff, "published")
	}
	if len(diff) == 0 {
		return nil
	}
	return errs.At("version", because(ErrConflict,
		fmt.Sprintf("notice %s version %d is published with another %s", show(n.ID), n.Version, strings.Join(diff, ", ")), nil))
}

// Notice returns one published version of a notice, or ErrUnknownNotice.
func (l *Ledger) Notice(ctx context.Context, id string, version int) (Notice, error) {
	const op = "notice"
	if err := checkCtx(op, ctx); err != nil {
		return Notice{}, err
	}
	ns, err := l.store.Notices(ctx, id)
	if err != nil {
		return Notice{}, wrap(op, err)
	}
	if n, ok := findVersion(ns, version); ok {
		return n, nil
	}
	return Notice{}, wrap(op, because(ErrUnknownNotice, fmt.Sprintf("%s version %d", show(id), version), nil))
}

// Choice is a subject's answer, as the host hands it to Give, Refuse,
// Withdraw, Object, Request, Expire or OverrideObjection. Subject and
// Purpose are required; every other field is optional, with the default
// its doc states.
type Choice struct {
	Subject gdpr.SubjectID
	Purpose gdpr.Purpose
	// Contact scopes the choice to one channel of communication; empty (the
	// default) for all.
	Contact Contact
	// Actor is who records the choice, on the event and on its audit event.
	// It defaults to the actor of the context (gdpr.WithActor), and without
	// one to the subject (for Expire, the system actor "consent").
	Actor gdpr.Actor
	// Notice is the notice ID and version shown. Required to give, refuse or
	// request consent; optional to withdraw or object (withdrawal must be as
	// easy as giving, Art. 7(3)). Its TextHash is filled in from the registry.
	Notice NoticeRef
	// Method defaults to MethodForm (MethodSystem for Expire).
	Method Method
	// Channel is where the choice was collected ("web", "ios"); default none.
	Channel string
	// Evidence shows how the choice was made; default none.
	Evidence Evidence
	// ExpiresAt optionally limits a consent in time (Give only); zero, the
	// default, for no expiry.
	ExpiresAt time.Time
	// Basis defaults to the Register's basis for the purpose, or Consent;
	// ExplicitConsent for special categories (Art. 9(2)(a)). For Object, the
	// basis objected to.
	Basis gdpr.LawfulBasis
}

// Give records that the subject gave consent. It returns the event appended.
// A nil ctx, like every bad input, gives ErrInvalid and writes nothing.
func (l *Ledger) Give(ctx context.Context, c Choice) (Event, error) {
	return l.append(ctx, "give", Given, c, nil)
}

// Refuse records that the subject was asked and declined.
func (l *Ledger) Refuse(ctx context.Context, c Choice) (Event, error) {
	return l.append(ctx, "refuse", Refused, c, nil)
}

// Withdraw records that the subject withdrew consent (Art. 7(3)). From
// then on, decisions for the purpose (and contact) deny. Withdrawing is
// never harder than giving: it needs no notice and no earlier consent, and
// nothing in the Register can block it — a purpose since removed from the
// Register, or a basis that no longer matches, is recorded all the same. For
// a purpose the Register rests on another basis (legitimate interests, say)
// the subject's "stop" is an objection, and is recorded as one (Art. 21).
//
// Events are ordered by the Store as they are appended, not by the clocks of
// the instances that stamp them, so a withdrawal recorded after a consent
// always wins over it.
func (l *Ledger) Withdraw(ctx context.Context, c Choice) (Event, error) {
	return l.append(ctx, "withdraw", Withdrawn, c, nil)
}

// Object records an objection under Art. 21; like Withdraw, nothing in the
// Register can block it. Decisions for the purpose (and contact) deny from
// then on. An objection to direct marketing (Art. 21(2)) is absolute
// (Art. 21(3)). An objection under Art. 21(1) to processing on public task or
// legitimate interests holds processing too, since the library cannot weigh
// "compelling legitimate grounds"; a controller that has demonstrated them
// records so with OverrideObjection.
func (l *Ledger) Object(ctx context.Context, c Choice) (Event, error) {
	return l.append(ctx, "object", Objected, c, nil)
}

// OverrideObjection records that the controller has demonstrated compelling
// legitimate grounds that override an objection under Art. 21(1), so
// processing for the purpose may resume. It needs a Register in which the
// purpose rests on public task or legitimate interests and is not direct
// marketing (an objection to direct marketing cannot be overridden,
// Art. 21(3)); a staff Actor (c.Actor, or the actor of the context); and in
// Evidence.Locator a reference to the
// documented assessment. It applies to all channels. Errors:
// ErrNotOverridable (no Register, or a purpose whose objection cannot be
// overridden), ErrUnknownPurpose, ErrInvalid (no staff actor, no reference,
// a single channel, no objection standing).
func (l *Ledger) OverrideObjection(ctx context.Context, c Choice) (Event, error) {
	const op = "override_objection"
	if err := checkCtx(op, ctx); err != nil {
		return Event{}, err
	}
	if c.Actor.IsZero() {
		a, err := ctxActor(ctx, gdpr.Actor{})
		if err != nil {
			return Event{}, wrap(op, err)
		}
		c.Actor = a
	}
	if l.register == nil {
		return Event{}, wrap(op, because(ErrNotOverridable, "needs a Register (WithRegister)", nil))
	}
	a, ok := l.register.Activity(c.Purpose)
	switch {
	case !ok:
		return Event{}, wrap(op, errs.At("purpose", ErrUnknownPurpose))
	case !a.Basis.AllowsObjection() || a.DirectMarketing:
		return Event{}, wrap(op, errs.At("purpose", because(ErrNotOverridable, fmt.Sprintf("%s rests on %s%s",
			show(string(c.Purpose)), a.Basis.Article(), map[bool]string{true: " and is direct marketing", false: ""}[a.DirectMarketing]), nil)))
	case c.Actor.Kind != gdpr.ActorStaff:
		return Event{}, wrap(op, invalidf("actor", "an override is recorded by staff"))
	case c.Evidence.Locator == "":
		return Event{}, wrap(op, invalidf("evidence.locator", "reference the documented compelling legitimate grounds"))
	case c.Contact != AllContacts:
		return Event{}, wrap(op, invalidf("contact", "an override applies to all channels"))
	}
	if err := c.Subject.Validate(); err != nil {
		return Event{}, wrap(op, invalid("subject", err))
	}
	cur, err := l.store.Latest(ctx, Query{Subject: c.Subject, Purpose: c.Purpose, At: l.now().UTC(), Current: true})
	if errors.Is(err, ErrNotFound) || (err == nil && cur.Event.Kind != Objected) {
		return Event{}, wrap(op, invalidf("purpose", "no objection stands to override"))
	} else if err != nil {
		return Event{}, wrap(op, err)
	}
	return l.append(ctx, op, Overridden, c, nil)
}

// Expire records that a consent lapsed. Decisions already treat a consent
// past its ExpiresAt as expired; recording it makes the lapse visible in the
// history and lets a host expire consents on its own policy. Its actor
// defaults to the actor of the context, else the system actor "consent".
func (l *Ledger) Expire(ctx context.Context, c Choice) (Event, error) {
	if err := checkCtx("expire", ctx); err != nil {
		return Event{}, err
	}
	if c.Actor.IsZero() {
		a, err := ctxActor(ctx, systemActor)
		if err != nil {
			return Event{}, wrap("expire", err)
		}
		c.Actor = a
	}
	if c.Method == "" {
		c.Method = MethodSystem
	}
	return l.append(ctx, "expire", Expired, c, nil)
}

// append validates c, builds the event and stores it.
func (l *Ledger) append(ctx context.Context, op string, kind Kind, c Choice, fill func(*Event)) (Event, error) {
	if err := checkCtx(op, ctx); err != nil {
		return Event{}, err
	}
	e, err := l.build(ctx, kind, c)
	if err != nil {
		return Event{}, wrap(op, err)
	}
	if fill != nil {
		fill(&e)
	}
	if err := e.validate(); err != nil {
		return Event{}, wrap(op, err)
	}
	if err := checkAudit(auditEvent(e), eventFields); err != nil {
		return Event{}, wrap(op, err)
	}
	if err := l.store.Append(ctx, e); err != nil {
		return Event{}, wrap(op, err)
	}
	return e, wrap(op, l.recordEvent(ctx, e))
}

func (l *Ledger) build(ctx context.Context, kind Kind, c Choice) (Event, error) {
	if err := c.Subject.Validate(); err != nil {
		return Event{}, invalid("subject", err)
	}
	if err := c.Purpose.Validate(); err != nil {
		return Event{}, invalid("purpose", err)
	}
	basis, kind, err := l.basisFor(kind, c)
	if err != nil {
		return Event{}, err
	}
	if c.Actor.IsZero() {
		a, err := ctxActor(ctx, gdpr.SubjectActor())
		if err != nil {
			return Event{}, err
		}
		c.Actor = a
	}
	if c.Method == "" {
		c.Method = MethodForm
	}
	if !c.ExpiresAt.IsZero() && kind != Given && kind != SoftOptIn {
		return Event{}, invalidf("expires_at", "only a given consent or a soft opt-in has an expiry")
	}
	now := l.now().UTC().Truncate(time.Microsecond)
	e := Event{
		ID: l.newID(), Subject: c.Subject, Purpose: c.Purpose, Contact: c.Contact,
		Kind: kind, Time: now, Actor: c.Actor, Notice: c.Notice, Method: c.Method,
		Channel: c.Channel, Evidence: cloneEvidence(c.Evidence), Basis: basis,
	}
	if !c.ExpiresAt.IsZero() {
		e.ExpiresAt = c.ExpiresAt.UTC().Truncate(time.Microsecond)
	}
	if e.Notice.ID != "" || e.Notice.Version != 0 {
		n, latest, err := l.noticeAt(ctx, e.Notice.ID, e.Notice.Version, now)
		stopping := kind == Withdrawn || kind == Objected || kind == Expired
		if errors.Is(err, ErrUnknownNotice) && stopping && e.Notice.Version >= 1 {
			// A withdrawal quoting a notice the registry does not know is
			// recorded with the reference as given, without a text hash:
			// a stop is never refused.
			return e, nil
		}
		if err != nil {
			return Event{}, err
		}
		if latest > n.Version && (kind == Given || kind == Pending) {
			return Event{}, errs.At("notice", staleNotice(n.ID, n.Version, latest))
		}
		e.Notice.TextHash = n.TextHash
	}
	return e, nil
}

// noticeAt returns the notice version asked for, which must be published by
// now, and the latest material version published by now.
func (l *Ledger) noticeAt(ctx context.Context, id string, version int, now time.Time) (Notice, int, error) {
	ns, err := l.store.Notices(ctx, id)
	if err != nil {
		return Notice{}, 0, err
	}
	var found *Notice
	latest := 0
	for i, n := range ns {
		if n.Published.After(now) {
			continue
		}
		if n.Version == version {
			found = &ns[i]
		}
		if n.Material && n.Version > latest {
			latest = n.Version
		}
	}
	if found == nil {
		return Notice{}, 0, errs.At("notice", because(ErrUnknownNotice, fmt.Sprintf("%s version %d is not published", show(id), version), nil))
	}
	return *found, latest, nil
}

func staleNotice(id string, version, latest int) error {
	return because(ErrStaleNotice, fmt.Sprintf("%s version %d was replaced by material version %d", show(id), version, latest), nil)
}

// basisFor settles the lawful basis and the kind of an event against the
// register. Choices that stop processing (withdrawal, objection, expiry) are
// never refused for the register's sake: withdrawal must stay as easy as
// giving, and an objection is a right the register cannot take away.
func (l *Ledger) basisFor(kind Kind, c Choice) (gdpr.LawfulBasis, Kind, error) {
	b := c.Basis
	if b != 0 && !b.Valid() {
		return 0, kind, invalidf("basis", "unknown lawful basis")
	}
	var a gdpr.Activity
	known := false
	if l.register != nil {
		a, known = l.register.Activity(c.Purpose)
	}
	switch kind {
	case Withdrawn, Objected, Expired:
		if known && (b == 0 || kind == Withdrawn) {
			b = a.Basis // the basis the register rests the purpose on now
		}
		if b == 0 {
			b = gdpr.Consent
		}
		if kind == Withdrawn && !b.IsConsent() {
			kind = Objected // "stop" on a purpose that does not rest on consent
		}
		return b, kind, nil
	case Overridden, SoftOptIn: // on the register's basis, checked by their callers
		return a.Basis, kind, nil
	}
	// Given, Refused, Pending: asking for consent.
	if l.register != nil {
		if !known {
			return 0, kind, errs.At("purpose", because(ErrUnknownPurpose, show(string(c.Purpose)), nil))
		}
		if !a.Basis.IsConsent() {
			return 0, kind, errs.At("purpose", because(ErrNotConsentBased, fmt.Sprintf("%s rests on %s", show(string(c.Purpose)), a.Basis.Article()), nil))
		}
		if b == 0 {
			b = a.Basis
		}
		if b != a.Basis {
			return 0, kind, invalidf("basis", "%s differs from the register's %s", b, a.Basis)
		}
	}
	if b == 0 {
		b = gdpr.Consent
	}
	if !b.IsConsent() {
		return 0, kind, errs.At("basis", because(ErrNotConsentBased, fmt.Sprintf("a %s event needs a consent basis", kind), nil))
	}
	return b, kind, nil
}

func (l *Ledger) newID() string {
	l.idMu.Lock()
	defer l.idMu.Unlock()
	return uuid.Must(uuid.NewV7()).String()
}

// recordEvent makes the audit record of e, appended with its marker, and
// clears the marker (settle): an error leaves the record owed.
func (l *Ledger) recordEvent(ctx context.Context, e Event) error { return l.settle(ctx, e) }

// record records ev after a write: with ctx's values but not its
// cancellation, within AuditTimeout, so a caller that gives up after the
// write cannot drop the record of what it did.
func (l *Ledger) record(ctx context.Context, ev gdpr.Event) error {
	rctx, cancel := detached(ctx)
	defer cancel()
	return l.recorder.Record(rctx, ev)
}

// auditEvent is the audit event of e: the same whether the append records
// it or a drain does (DrainAudit), so a duplicate is recognisable by its
// Resource.
func auditEvent(e Event) gdpr.Event {
	attrs := map[string]string{"method": string(e.Method), "basis": e.Basis.String()}
	if e.Contact != "" {
		attrs["contact"] = string(e.Contact)
	}
	if e.Notice.ID != "" {
		attrs["notice"] = e.Notice.ID
		attrs["notice_version"] = strconv.Itoa(e.Notice.Version)
	}
	return gdpr.Event{
		Time: e.Time, Actor: e.Actor, Action: "consent." + string(e.Kind), Subject: e.Subject,
		Purpose: e.Purpose, Resource: "consent_event/" + e.ID, Outcome: gdpr.Success, Attrs: attrs,
	}
}

// The audit trail's limits on what an entry holds (package audit, Entry,
// from internal/auditlimit, their one definition): every value the Ledger
// records must meet them, and is checked against them before anything is
// written; TestLedgerValuesFitTheAuditTrail holds the Ledger to the audit
// Log at the limits.
const (
	auditMaxKey        = auditlimit.MaxKeyLen
	auditMaxResource   = auditlimit.MaxResourceLen
	auditMaxAttrValue  = auditlimit.MaxAttrValueLen
	auditMaxAttrs      = auditlimit.MaxAttrs
	auditMaxSystemName = auditlimit.MaxSystemNameLen
)

// eventFields names the input field behind each part of an event's audit
// event, for checkAudit's errors.
var eventFields = map[string]string{
	"actor": "actor", "purpose": "purpose", "resource": "id",
	"attrs.method": "method", "attrs.notice": "notice.id", "attrs.contact": "contact",
}

// checkAudit returns an error wrapping ErrInvalid if the audit trail would
// refuse ev; its field is fields[part] for the part at fault ("actor",
// "action", "purpose", "resource", "attrs.<key>"), or the part itself. It
// names the rule broken, never the value.
func checkAudit(ev gdpr.Event, fields map[string]string) error {
	part, why := auditRefusal(ev)
	if part == "" {
		return nil
	}
	field := fields[part]
	if field == "" {
		field = part
	}
	return errs.At(field, because(ErrInvalid, "the audit trail refuses it: "+why, nil))
}

// auditRefusal returns the first part of ev the audit trail would refuse,
// and why; "" when it would take ev. The subject and a staff or subject
// actor's ID are pseudonymised by the trail, so their root validation is
// all they need.
func auditRefusal(ev gdpr.Event) (part, why string) {
	if why := auditActor(ev.Actor); why != "" {
		return "actor", why
	}
	if !auditKey(ev.Action) {
		return "action", fmt.Sprintf("an action matches ^[a-z0-9_.-]{1,%d}$", auditMaxKey)
	}
	if ev.Purpose != "" && ev.Purpose.Validate() != nil {
		return "purpose", "not a valid purpose"
	}
	if len(ev.Resource) > auditMaxResource || !auditPrintable(ev.Resource) {
		return "resource", fmt.Sprintf("the resource it names is longer than %d bytes, or has a control character (C0, DEL or C1)", auditMaxResource)
	}
	if len(ev.Attrs) > auditMaxAttrs {
		return "attrs", fmt.Sprintf("more than %d attributes", auditMaxAttrs)
	}
	for k, v := range ev.Attrs {
		if !auditKey(k) {
			return "attrs", fmt.Sprintf("an attribute key matches ^[a-z0-9_.-]{1,%d}$", auditMaxKey)
		}
		if len(v) > auditMaxAttrValue || !auditPrintable(v) {
			return "attrs." + k, fmt.Sprintf("longer than %d bytes, or a control character (C0, DEL or C1)", auditMaxAttrValue)
		}
	}
	return "", ""
}

// auditActor says why the audit trail would refuse a, or "". A system
// actor's name is kept as it is, so it must be printable and at most
// auditMaxSystemName bytes.
func auditActor(a gdpr.Actor) string {
	if a.Kind == gdpr.ActorSystem && (len(a.ID) > auditMaxSystemName || !auditPrintable(a.ID)) {
		return fmt.Sprintf("a system actor's name is at most %d bytes, without control characters (C0, DEL or C1)", auditMaxSystemName)
	}
	return ""
}

// auditKey reports whether s matches ^[a-z0-9_.-]{1,64}$.
func auditKey(s string) bool { return auditlimit.IsKey(s) }

// auditPrintable reports whether s is valid UTF-8 without C0 control
// characters, DEL or C1 control characters (U+0080–U+009F).
func auditPrintable(s string) bool { return auditlimit.Printable(s) }

func cloneEvidence(ev Evidence) Evidence {
	if ev.Attrs != nil {
		m := make(map[string]string, len(ev.Attrs))
		for k, v := range ev.Attrs {
			m[k] = v
		}
		ev.Attrs = m
	}
	return ev
}

// History returns the subject's events in order; with a purpose, only those
// (empty, the default, for all).
func (l *Ledger) History(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose) ([]Event, error) {
	if err := checkCtx("history", ctx); err != nil {
		return nil, err
	}
	if err := subject.Validate(); err != nil {
		return nil, wrap("history", invalid("subject", err))
	}
	evs, err := l.store.Events(ctx, subject, purpose)
	return evs, wrap("history", err)
}
