package crypto

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
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
// Each batch is one List, then the KEK work of its records on up to
// GOMAXPROCS goroutines, then its writes: one UpdateMany if the Store is a
// BatchUpdater (memkeys and sqlkeys are), each record still on its own
// version, else one Update per record in Ref order. A failed UpdateMany
// finishes no record of its batch: the cursor stays before the batch.
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
		if err := k.rewrapPage(ctx, recs, &p); err != nil {
			return p, wrap(op, err)
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

// rewrapPage rewraps one page of records, in Ref order, and counts them
// in p. The KEK work (unwrap and wrap, the CPU cost) runs on up to
// GOMAXPROCS goroutines; the writes go to the Store in one UpdateMany if
// it is a BatchUpdater, else one Update at a time, in order. The records
// before the first that fails (a KEK error, a Store error) are written
// and finished; that one and those after it are not: p.Cursor stays
// before it, and the error is returned. If UpdateMany itself fails, no
// record of the page is finished.
func (k *Keyring) rewrapPage(ctx context.Context, recs []Record, p *RewrapProgress) error {
	out := k.rewrapAll(ctx, recs)
	// n: the records to finish, those before the first KEK failure.
	n := len(out)
	var failed error
	for i, err := range out {
		if err != nil && err != errSkip {
			n, failed = i, err
			break
		}
	}
	var todo []int // indexes in recs of the records to write
	for i := range n {
		if out[i] == nil {
			todo = append(todo, i)
		}
	}
	if len(todo) > 0 {
		if bu, ok := k.store.(BatchUpdater); ok {
			rs := make([]Record, len(todo))
			for j, i := range todo {
				rs[j] = recs[i]
			}
			errs, err := bu.UpdateMany(ctx, rs)
			if err == nil && len(errs) != len(rs) {
				err = at("store", because(ErrInvalid, "UpdateMany returned a result per record for another number of records", nil))
			}
			if err != nil {
				return fromStore(err) // no record of the page is finished
			}
			for j, i := range todo {
				out[i] = errs[j]
			}
		} else {
			for _, i := range todo {
				if out[i] = k.store.Update(ctx, recs[i]); out[i] != nil && !lost(out[i]) {
					break // the records after it are not written
				}
			}
		}
	}
	for i := range n {
		switch err := out[i]; {
		case err == errSkip:
			p.Skipped++
		case err == nil:
			p.Rewrapped++
		case lost(err):
			p.Lost++
		default:
			// Not finished: the cursor stays on the record before, so
			// that a resumed run tries this one again.
			return fromStore(err)
		}
		p.Visited++
		p.Cursor = recs[i].Ref // finished
	}
	return failed
}

// lost reports whether err is a Store's refusal of an Update of a record
// that changed under the rotation: a concurrent rotation or shred.
func lost(err error) bool {
	return errors.Is(err, ErrConflict) || errors.Is(err, ErrShredded) || errors.Is(err, ErrNotFound)
}

// rewrapAll rewraps recs in place with the current KEK, on up to
// GOMAXPROCS goroutines, and returns one result per record: nil (recs[i]
// now holds the new wrapping, to be written), errSkip (already on the
// current KEK) or the KEK error. It writes nothing.
func (k *Keyring) rewrapAll(ctx context.Context, recs []Record) []error {
	out := make([]error, len(recs))
	const chunk = 16 // records a goroutine takes at a time
	workers := min(runtime.GOMAXPROCS(0), (len(recs)+chunk-1)/chunk)
	if workers <= 1 {
		for i := range recs {
			out[i] = k.rewrapOne(ctx, &recs[i])
		}
		return out
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= len(recs) {
					return
				}
				for i := lo; i < min(lo+chunk, len(recs)); i++ {
					out[i] = k.rewrapOne(ctx, &recs[i])
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// errSkip is rewrapOne's report of a record already on the current KEK.
var errSkip = errors.New("already on the current KEK")

// rewrapOne wraps *r anew with the current KEK, in place and unwritten
// (its Version is the one read, the condition of its Update), or returns
// errSkip if it is on it already.
func (k *Keyring) rewrapOne(ctx context.Context, r *Record) error {
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
		h, err := k.unwrap(ctx, *r)
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
	return nil
}

func isMeta(ref string) bool { return len(ref) > 5 && ref[:5] == "meta/" }
