package retention

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Run sweeps every interval until ctx ends, and returns ctx's error. Each
// wait is the interval shortened or lengthened by a random amount of up
// to jitter, so that instances started together do not all reach for the
// lease at once. The first wait counts from the last sweep the Store
// remembers (LastSweep), not from the start of the process, so that a
// host restarted more often than the interval still sweeps: a sweep that
// is due (none yet, one stopped midway, or the last finished an interval
// ago or more) comes within jitter. After every
// sweep it calls done, if not nil, with the report and the error: an
// ErrLeased means another instance is sweeping, and this one waits for
// its next turn. A sweep that failed is resumed at the next turn. An
// interval under a second, or a jitter negative or not under the
// interval, is an error wrapping ErrInvalid.
func (s *Sweeper) Run(ctx context.Context, interval, jitter time.Duration, done func(Sweep, error)) error {
	if err := checkCtx("run", ctx); err != nil {
		return err
	}
	if interval < time.Second {
		return wrap("run", invalid("interval", "an interval is at least a second"))
	}
	if jitter < 0 || jitter >= interval {
		return wrap("run", invalid("jitter", "a jitter is at least 0 and under the interval"))
	}
	t := time.NewTimer(s.firstWait(ctx, interval, jitter))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		sw, err := s.Sweep(ctx)
		if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return ctx.Err()
		}
		if done != nil {
			done(sw, err)
		}
		t.Reset(wait(interval, jitter))
	}
}

// wait returns interval moved by a random amount in [-jitter, jitter].
func wait(interval, jitter time.Duration) time.Duration {
	if jitter == 0 {
		return interval
	}
	return interval - jitter + time.Duration(rand.Int64N(int64(2*jitter)+1))
}

// firstWait is how long Run waits before its first sweep.
func (s *Sweeper) firstWait(ctx context.Context, interval, jitter time.Duration) time.Duration {
	due := time.Duration(0)
	if last, err := s.store.LastSweep(ctx, s.name); err == nil && !last.Finished.IsZero() {
		due = max(0, last.Finished.Add(interval).Sub(s.clock()))
	}
	if jitter == 0 {
		return due
	}
	return max(0, due-jitter) + time.Duration(rand.Int64N(int64(2*jitter)+1))/2
}
