// Package suite is the runner the store conformance suites share
// (consenttest, keystest, audittest, and those to come): one subtest per
// behaviour, each on two fresh handles on one storage, and the race helper
// that drives both handles at once. Each suite keeps its own subtests and
// its own doc; only the running is here, written once.
package suite

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"
)

// Test is one behaviour of a store contract, run on two handles s and
// other on one fresh storage. It is an alias of an unnamed struct, so the
// suites list their tests as {"Name", fn} pairs.
type Test[S any] = struct {
	Name string
	Fn   func(t *testing.T, s, other S)
}

// One adapts a test that needs only one handle.
func One[S any](fn func(t *testing.T, s S)) func(t *testing.T, s, other S) {
	return func(t *testing.T, s, _ S) { fn(t, s) }
}

// Run runs each test in a subtest of its name, on the two handles
// newStore returns for that subtest. iface names the interface under test
// in the message when newStore returns a nil handle.
func Run[S any](t *testing.T, iface string, newStore func(t *testing.T) (s, other S), tests []Test[S]) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.Name, func(t *testing.T) {
			s, other := newStore(t)
			switch {
			case isNil(s):
				t.Fatalf("newStore returned a nil %s s", iface)
			case isNil(other):
				t.Fatalf("newStore returned a nil %s other: return a second handle on the same storage "+
					"(an in-memory store returns s twice)", iface)
			}
			tc.Fn(t, s, other)
		})
	}
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	r := reflect.ValueOf(v)
	switch r.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return r.IsNil()
	}
	return false
}

// RaceTimeout bounds each race: the racing calls share a context that ends
// after it, and a race whose calls have not all returned soon after fails
// its subtest (a deadlock between the handles) instead of hanging it.
const RaceTimeout = 30 * time.Second

// Race runs fn(ctx, g, h) in n goroutines released at once, goroutine g
// on h = s for even g and other for odd g, and returns their errors,
// indexed by g. It fails t if the calls deadlock or outlive RaceTimeout.
func Race[S any](t *testing.T, n int, s, other S, fn func(ctx context.Context, g int, h S) error) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), RaceTimeout)
	defer cancel()
	handles := [2]S{s, other}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[g] = fn(ctx, g, handles[g%2])
		}()
	}
	close(start)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(RaceTimeout + 5*time.Second):
		t.Fatalf("%d racing calls through both handles had not returned %s after they started, their context done: "+
			"a store must not deadlock between two handles on one storage, and must return when its context ends", n, RaceTimeout+5*time.Second)
	}
	if ctx.Err() != nil {
		t.Fatalf("%d racing calls through both handles took longer than %s: a store must not deadlock between two handles on one storage", n, RaceTimeout)
	}
	return errs
}
