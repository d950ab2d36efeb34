package retention

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/gdprkit/gdpr"
)

// Holds places and lifts legal holds in a Store, checking them and
// recording each in the audit trail. It is also a gdpr.LegalHolds, for
// the erasure engine (erasure.WithLegalHolds), as the Store is. It is
// safe for concurrent use.
type Holds struct {
	store    Store
	register *gdpr.Register
	now      func() time.Time
	recorder gdpr.Recorder
}

var _ gdpr.LegalHolds = (*Holds)(nil)

// NewHolds returns the Holds of store. Options: WithRegister (the
// categories a hold names must be the Register's), WithClock,
// WithRecorder. A nil store or a bad option is an error wrapping
// ErrInvalid.
func NewHolds(store Store, opts ...Option) (*Holds, error) {
	if store == nil {
		return nil, wrap("new", invalid("store", "nil store"))
	}
	cfg := newSettings()
	if err := cfg.apply(forHolds, opts); err != nil {
		return nil, wrap("new", err)
	}
	return &Holds{store: store, register: cfg.register, now: cfg.now, recorder: cfg.recorder}, nil
}

func (h *Holds) clock() time.Time { return h.now().UTC().Truncate(time.Microsecond) }

// Place places hold, as of now (Placed is set to the clock's now; a
// non-zero Placed is an error, so is an Until not after now), and
// returns it as stored. The hold is recorded ("retention.hold_placed")
// before it is stored. Placing again a hold of the same ID with the same
// contents returns the stored hold and records nothing more (a retry);
// other contents under a taken ID are ErrExists. A sweep under way
// respects the hold from its next batch on: a batch that read the holds
// before the hold was stored may still act on the subject's expired
// records of that batch, one batch of at most WithBatchSize records; so
// place a hold before the data it protects reach the end of their
// period. An invalid hold
// (Hold.Validate) is an error wrapping ErrInvalid, and one naming a
// category the Register does not declare ErrUnknownCategory; nothing is
// stored or recorded.
func (h *Holds) Place(ctx context.Context, hold Hold) (Hold, error) {
	const op = "place"
	if err := checkCtx(op, ctx); err != nil {
		return Hold{}, err
	}
	if !hold.Placed.IsZero() {
		return Hold{}, wrap(op, invalid("placed", "Place sets the time a hold is placed"))
	}
	hold.Categories = slices.Clone(hold.Categories)
	hold.Placed = h.clock()
	if !hold.Until.IsZero() {
		hold.Until = hold.Until.UTC().Truncate(time.Microsecond)
	}
	if err := hold.validate(); err != nil {
		return Hold{}, wrap(op, err)
	}
	if h.register != nil {
		for i, c := range hold.Categories {
			if !declares(h.register, c) {
				return Hold{}, wrap(op, at("categories["+itoa(i)+"]", because(ErrUnknownCategory, "category "+show(c)+" is not in the register", nil)))
			}
		}
	}
	if old, err := h.store.GetHold(ctx, hold.ID); err == nil {
		if sameHold(old, hold) {
			return old, nil
		}
		return Hold{}, wrap(op, at("id", because(ErrExists, "a hold of that ID exists with other contents", nil)))
	} else if !errors.Is(err, ErrNotFound) {
		return Hold{}, wrap(op, err)
	}
	if err := h.record(ctx, "retention.hold_placed", hold, hold.PlacedBy); err != nil {
		return Hold{}, wrap(op, err)
	}
	if err := h.store.PlaceHold(ctx, hold); err != nil {
		if errors.Is(err, ErrExists) {
			// A racing Place of the same hold.
			if old, gerr := h.store.GetHold(ctx, hold.ID); gerr == nil && sameHold(old, hold) {
				return old, nil
			}
		}
		return Hold{}, wrap(op, err)
	}
	return hold, nil
}

// sameHold reports whether a and b are one hold but for when it was
// placed: a retried Place.
func sameHold(a, b Hold) bool {
	return a.ID == b.ID && a.Subject == b.Subject && slices.Equal(a.Categories, b.Categories) &&
		a.Reason == b.Reason && a.PlacedBy == b.PlacedBy && a.Until.Equal(b.Until) &&
		a.Released.IsZero() && b.Released.IsZero()
}

// Release lifts the hold of that ID now, by actor by, and returns it as
// stored. The release is recorded ("retention.hold_released") before it
// is stored. A hold that is no longer in force is returned unchanged,
// with nothing recorded. An unknown ID is ErrNotFound; an invalid actor
// ErrInvalid.
//
// Lifting a hold does not erase what it kept: data past their period
// go at the next sweep, and an erasure the hold exempted is carried out
// when the subject asks again or the host resubmits it.
func (h *Holds) Release(ctx context.Context, id string, by gdpr.Actor) (Hold, error) {
	const op = "release"
	if err := checkCtx(op, ctx); err != nil {
		return Hold{}, err
	}
	if !validKey(id) {
		return Hold{}, wrap(op, invalid("id", "a hold ID is a key of at most 255 bytes with no control characters"))
	}
	if by.IsZero() || by.Validate() != nil {
		return Hold{}, wrap(op, invalid("by", "not a valid actor"))
	}
	now := h.clock()
	old, err := h.store.GetHold(ctx, id)
	if err != nil {
		return Hold{}, wrap(op, err)
	}
	if !old.InForce(now) {
		return old, nil
	}
	if err := h.record(ctx, "retention.hold_released", old, by); err != nil {
		return Hold{}, wrap(op, err)
	}
	got, err := h.store.ReleaseHold(ctx, id, now, by)
	return got, wrap(op, err)
}

// Purge deletes the holds that ended, by their Until or a release, more
// than keep ago, and returns how many. A hold is itself a record of
// personal data (its subject, the reason): keep it as long as it
// documents why data were kept (Art. 5(2)), then purge it, as a
// scheduled job does. The purge is recorded ("retention.holds_purged",
// with its cut-off) before anything is deleted. A keep under a day is
// an error wrapping ErrInvalid.
func (h *Holds) Purge(ctx context.Context, keep time.Duration) (int64, error) {
	const op = "purge"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	if keep < 24*time.Hour {
		return 0, wrap(op, invalid("keep", "holds are kept at least a day after they end"))
	}
	before := h.clock().Add(-keep)
	if h.recorder != nil {
		e := gdpr.Event{Time: h.clock(), Actor: gdpr.System("retention"), Action: "retention.holds_purged",
			Resource: "retention_hold", Outcome: gdpr.Success, Attrs: map[string]string{"ended_before": before.Format(time.RFC3339)}}
		if err := h.recorder.Record(ctx, e); err != nil {
			return 0, wrap(op, because(ErrNotRecorded, "the purge was not recorded", err))
		}
	}
	n, err := h.store.PurgeHolds(ctx, before)
	return n, wrap(op, err)
}

// Get returns the hold of that ID; ErrNotFound if there is none.
func (h *Holds) Get(ctx context.Context, id string) (Hold, error) {
	if err := checkCtx("get", ctx); err != nil {
		return Hold{}, err
	}
	got, err := h.store.GetHold(ctx, id)
	return got, wrap("get", err)
}

// List returns a page of the holds f selects, in ID order (Store.ListHolds).
func (h *Holds) List(ctx context.Context, f HoldFilter) ([]Hold, error) {
	if err := checkCtx("list", ctx); err != nil {
		return nil, err
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return nil, wrap("list", invalid("limit", "a limit is 0 to 1000"))
	}
	got, err := h.store.ListHolds(ctx, f)
	return got, wrap("list", err)
}

// Holds implements gdpr.LegalHolds: the holds in force at now on the
// subject's data (Store.Holds).
func (h *Holds) Holds(ctx context.Context, subject gdpr.SubjectID, now time.Time) ([]gdpr.Hold, error) {
	if err := checkCtx("holds", ctx); err != nil {
		return nil, err
	}
	if err := subject.Validate(); err != nil {
		return nil, wrap("holds", invalid("subject", "not a valid subject ID"))
	}
	got, err := h.store.Holds(ctx, subject, now)
	return got, wrap("holds", err)
}

func (h *Holds) record(ctx context.Context, action string, hold Hold, by gdpr.Actor) error {
	if h.recorder == nil {
		return nil
	}
	attrs := map[string]string{"hold": hold.ID}
	if !hold.Until.IsZero() {
		attrs["until"] = hold.Until.UTC().Format(time.RFC3339)
	}
	if hold.Subject == "" {
		attrs["scope"] = "categories"
	} else {
		attrs["scope"] = "subject"
	}
	e := gdpr.Event{Time: h.clock(), Actor: by, Action: action, Subject: hold.Subject,
		Categories: slices.Clone(hold.Categories), Resource: "retention_hold/" + hold.ID, Outcome: gdpr.Success, Attrs: attrs}
	if err := h.recorder.Record(ctx, e); err != nil {
		return because(ErrNotRecorded, "the hold was not recorded", err)
	}
	return nil
}
