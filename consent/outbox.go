package consent

import (
	"context"
	"errors"
	"time"

	"github.com/gdprkit/gdpr"
)

// AuditOutbox is the part of a Store that keeps the audit records the
// Ledger still owes: a durable outbox of the events appended whose audit
// record is not yet known to be made. Every Store embeds it; the Ledger
// alone calls it (Ledger.DrainAudit, and after each append).
//
// The contract it adds to the rest of the Store:
//
//   - Append writes, atomically with the event (in the same transaction,
//     under the same lock), an audit marker for it, due at
//     e.Time.Add(AuditGrace). An Append that fails writes neither.
//   - DeleteSubject removes the markers of the events it deletes, in the
//     same atomic step: an erased event's record is never made afterwards,
//     so nothing in the audit trail is linked to the subject again.
//   - ClaimAudit and ClearAudit below.
//
// Methods are safe for concurrent use, from many goroutines and, for a
// shared database, many processes. The Ledger never passes a nil context.
type AuditOutbox interface {
	// ClaimAudit claims at most q.Limit events whose marker is due at or
	// before q.Now, those due earliest first, makes each of those markers
	// due again at q.Until, and returns the events in Seq order (with every field, as Event
	// returns them). A marker claimed by one call is not claimed by
	// another, through any handle on the storage, before q.Until: two
	// Ledgers that drain at once get disjoint events. No due marker is not
	// an error: it returns no events. q.Limit is 1 or more.
	ClaimAudit(ctx context.Context, q AuditClaim) ([]Event, error)

	// ClearAudit removes the marker of the event with the given ID: its
	// audit record is made. Clearing a marker that is not there (cleared
	// already, or its event erased) succeeds.
	ClearAudit(ctx context.Context, id string) error
}

// AuditClaim asks a Store for the events whose audit record is owed.
type AuditClaim struct {
	// Now is the claimer's time: markers due at or before it are claimed.
	Now time.Time
	// Until is when a claimed marker is due again, if the claimer does not
	// clear it before (it crashed, or the Recorder failed).
	Until time.Time
	// Limit is the most events returned, 1 or more.
	Limit int
}

// AuditGrace is how long an audit marker written by Append waits before a
// drain may claim it: the time the appending Ledger has to record the
// event and clear the marker itself (it records within AuditTimeout), so
// that a drain running on another instance does not record a live append a
// second time. It is also how long a claimed marker stays claimed.
const AuditGrace = time.Minute

// AuditTimeout bounds each audit record the Ledger makes after a write.
// The record runs with the caller's context values but not its
// cancellation (context.WithoutCancel): a caller that gives up after the
// write cannot drop the record, and a Recorder that hangs holds the call
// for no longer than this.
const AuditTimeout = 10 * time.Second

// drainBatch is how many events DrainAudit claims at a time.
const drainBatch = 100

// DrainAudit makes the audit records the Ledger owes: those of events
// whose record failed when they were appended (the Recorder was down or
// refused, the process crashed between the write and the record), once
// their marker is due (AuditGrace after the event, or after a claim that
// was not cleared). It records each with the same audit event as the
// append would have, then clears its marker, and returns how many it
// recorded.
//
// Call it from every instance when it starts, and periodically (every
// minute or so) while it runs; instances may run it at once, each claims
// other events. It stops at the first Store error, or Recorder error, and
// returns it with the count so far; the events not recorded stay owed, due
// again AuditGrace later. A Recorder's refusal of one event (an error
// wrapping gdpr.ErrInvalid, which the Ledger's checks before each write
// leave to events appended by an older release) does not stop it: that
// event stays owed and the drain goes on, returning the first such error
// at the end. It returns when nothing due is left, or when ctx ends.
//
// Delivery is at least once: a crash (or a failed ClearAudit) after the
// Recorder accepted an event and before its marker was cleared records it
// again on a later drain. The audit event's Resource names the consent
// event ("consent_event/<ID>"), so a duplicate is recognisable.
func (l *Ledger) DrainAudit(ctx context.Context) (int, error) {
	const op = "drain_audit"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	n := 0
	var refused error
	for {
		if err := ctx.Err(); err != nil {
			return n, wrap(op, err)
		}
		now := l.now().UTC()
		evs, err := l.store.ClaimAudit(ctx, AuditClaim{Now: now, Until: now.Add(AuditGrace), Limit: drainBatch})
		if err != nil {
			return n, wrap(op, err)
		}
		for _, e := range evs {
			switch err := l.settle(ctx, e); {
			case err == nil:
				n++
			case errors.Is(err, gdpr.ErrInvalid):
				if refused == nil {
					refused = err
				}
			default:
				return n, wrap(op, err)
			}
		}
		if len(evs) < drainBatch {
			return n, wrap(op, refused)
		}
	}
}

// settle makes e's audit record and clears its marker. The record and the
// clearing run detached from ctx's cancellation, bounded by AuditTimeout.
// An error is the Recorder's: the marker then stays, and a drain records
// e later. A marker that cannot be cleared is not an error (the record is
// made): a drain records e once more, a recognisable duplicate.
func (l *Ledger) settle(ctx context.Context, e Event) error {
	if err := l.record(ctx, auditEvent(e)); err != nil {
		return err
	}
	cctx, cancel := detached(ctx)
	defer cancel()
	_ = l.store.ClearAudit(cctx, e.ID)
	return nil
}

// detached is ctx without its cancellation, bounded by AuditTimeout.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), AuditTimeout)
}
