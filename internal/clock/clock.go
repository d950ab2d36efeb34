// Package clock lets code that reads the time be tested at chosen instants.
// Services take a [Clock] (default [System]); tests pass a [Fake] and move it
// by hand to cross deadlines, lease expiries and retention cut-offs.
package clock

import (
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells the current time. Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the current instant.
	Now() time.Time
}

// System is the real clock: its Now is time.Now.
var System Clock = systemClock{}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Fake is a Clock that stands still until moved with [Fake.Add] or
// [Fake.Set]. Its methods are safe for concurrent use. A Fake must be made
// with [NewFake].
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake that reads t until moved.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the Fake's current instant.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Add moves the Fake by d (backwards if d is negative) and returns the new
// instant.
func (f *Fake) Add(d time.Duration) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	return f.now
}

// Set moves the Fake to t, which may be before its current instant.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

var _ Clock = (*Fake)(nil)

// Coarse returns the time to within CoarseTick. Reading the clock costs
// about 150 ns on some virtual machines, more than a cache hit; one
// goroutine per process refreshes this value instead, for hot paths that
// only compare against expiries.
func Coarse() time.Time {
	coarse.once.Do(func() {
		coarse.ns.Store(time.Now().UnixNano())
		go func() {
			for t := range time.Tick(CoarseTick) {
				coarse.ns.Store(t.UnixNano())
			}
		}()
	})
	return time.Unix(0, coarse.ns.Load())
}

// CoarseTick is how often Coarse's time is refreshed.
const CoarseTick = 50 * time.Millisecond

var coarse struct {
	once sync.Once
	ns   atomic.Int64
}
