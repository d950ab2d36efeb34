package crypto

import (
	"context"
	"errors"
	"time"

	"github.com/gdprkit/gdpr"
)

// RewrapProgress reports on a KEK rotation.
type RewrapProgress struct {
	// Cursor is the Ref of the last record Rewrap finished (rewrapped,
	// skipped or lost), empty before the first; pass it to Rewrap to
	// resume. A record whose rewrap failed is never finished: the cursor
	// stays before it, and the resumed run tries it again.
	Cursor string
	// Visited counts the records finished, Rewrapped those wrapped anew
	// with the current KEK, Skipped those already on it, Lost those that
	// changed under the rotation (a concurrent rotation or shred) and were
	// left for a later pass; Visited = Rewrapped + Skipped + Lost.
	Visited, Rewrapped, Skipped, Lost int
	// Done is set once the end of the Store was reached.
	Done bool
}

// Rewrap rotates the KEK: it pages through the Store from cursor (empty to
// start) and rewraps every record wrapped by another KEK with the current
// one, batch records at a time, calling progress (if not nil) after each
// batch. It runs beside live traffic: each record changes under an
// optimistic version, and one that changed meanwhile is counted as Lost and
// picked up by the next pass. It stops when ctx is done, or at the first
// record it fails to rewrap (a KEK or Store error), returning the error and
// the progress so far, whose Cursor names the last record finished: the
// run resumed from it starts with the record that failed, so no record is
// left behind on the old KEK.
//
// Start every instance with the new KEK as current and the old one in
// WithPreviousKEKs, run Rewrap until a pass reports nothing rewrapped or
// lost, then retire the old KEK.
func (k *Keyring) Rewrap(ctx context.Context, cursor string, batch int, progress func(RewrapProgress)) (RewrapProgress, error) {
	const op = "rewrap"
	p := RewrapProgress{Cursor: cursor}
	if err := checkCtx(op, ctx); err != nil {
		return p, err
	}
	w, err := actorOf(ctx)
	if err != nil {
		return p, wrap(op, err)
	}
	if batch <= 0 {
		batch = 500
	}
	for {
		if err := ctx.Err(); err != nil {
			return p, wrap(op, err)
		}
		recs, err := k.store.List(ctx, p.Cursor, batch)
		if err != nil {
			return p, wrap(op, fromStore(err))
		}
		for _, r := range recs {
			switch err := k.rewrapOne(ctx, r); {
			case err == errSkip:
				p.Skipped++
			case err == nil:
				p.Rewrapped++
			case errors.Is(err, ErrConflict), errors.Is(err, ErrShredded), errors.Is(err, ErrNotFound):
				p.Lost++
			default:
				// Not finished: the cursor stays on the record before, so
				// that a resumed run tries this one again.
				return p, wrap(op, err)
			}
			p.Visited++
			p.Cursor = r.Ref // finished
		}
		if len(recs) < batch {
			p.Done = true
		}
		if progress != nil {
			progress(p)
		}
		if p.Done {
			if p.Rewrapped > 0 {
				_ = k.record(ctx, w, "crypto.kek_rewrapped", owner{}, "crypto_key", gdpr.Success, nil, map[string]string{"kek": k.kek.ID})
			}
			return p, nil
		}
	}
}

// errSkip is rewrapOne's report of a record already on the current KEK.
var errSkip = errors.New("already on the current KEK")

// rewrapOne wraps r anew with the current KEK, or returns errSkip if it is
// on it already.
func (k *Keyring) rewrapOne(ctx context.Context, r Record) error {
	if r.KEK == k.kek.ID {
		return errSkip
	}
	old, err := k.kekFor(r.KEK)
	if err != nil {
		return err
	}
	var plain []byte
	if isMeta(r.Ref) {
		plain, err = old.aead.DecryptWithContext(ctx, r.Wrapped, metaAD(r.Ref))
		if err != nil {
			return at("kek", ErrDecrypt)
		}
		defer clear(plain)
		w, err := k.kek.aead.EncryptWithContext(ctx, plain, metaAD(r.Ref))
		if err != nil {
			return kekError(err)
		}
		r.Wrapped = w
	} else {
		h, err := k.unwrap(ctx, r)
		if err != nil {
			return err
		}
		next, err := k.wrap(ctx, r.Ref, h)
		if err != nil {
			return err
		}
		r.Wrapped = next.Wrapped
	}
	r.KEK, r.Updated = k.kek.ID, k.now().UTC().Truncate(time.Microsecond)
	return fromStore(k.store.Update(ctx, r))
}

func isMeta(ref string) bool { return len(ref) > 5 && ref[:5] == "meta/" }
