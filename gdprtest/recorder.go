package gdprtest

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/gdprkit/gdpr"
)

// Recorder is a gdpr.Recorder for unit tests: it keeps every event it is
// given in memory, in the order Record was called, so a test can assert
// what a component recorded. It is safe for concurrent use, and its zero
// value is ready to use; do not copy a Recorder after first use.
//
// A Recorder is a fake for tests only. It breaks on purpose the rule of
// gdpr.Recorder that a recorder does not keep an Event's Subject in clear:
// it keeps the whole Event as given, subject IDs and staff IDs included,
// so that a test can check whom an event is about. Never wire one into a
// running application; use audit.Log there.
//
// Events are copied in and out (their Categories and Attrs too), so
// neither the caller of Record nor a reader of Events can change what
// the Recorder holds. Record does not look at its context.
type Recorder struct {
	mu     sync.Mutex
	events []gdpr.Event
	err    error
}

var _ gdpr.Recorder = (*Recorder)(nil)

// Record keeps a copy of e and returns nil, or, after FailWith(err) with
// a non-nil err, keeps nothing and returns err: an error from a Recorder
// means the event was not recorded.
func (r *Recorder) Record(ctx context.Context, e gdpr.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.events = append(r.events, cloneEvent(e))
	return nil
}

// FailWith makes every later call of Record return err without keeping
// the event, to test a caller's failure path; FailWith(nil) makes Record
// keep events again. Events kept before are not affected.
func (r *Recorder) FailWith(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Events returns a copy of the events kept, oldest first.
func (r *Recorder) Events() []gdpr.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneEvents(r.events, func(gdpr.Event) bool { return true })
}

// ByAction returns a copy of the events kept whose Action is action,
// oldest first.
func (r *Recorder) ByAction(action string) []gdpr.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneEvents(r.events, func(e gdpr.Event) bool { return e.Action == action })
}

// Actions returns the Action of each event kept, oldest first: a short
// form for asserting a sequence with slices.Equal or for a failure
// message.
func (r *Recorder) Actions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = e.Action
	}
	return out
}

// Last returns a copy of the newest event kept, and false if there is none.
func (r *Recorder) Last() (gdpr.Event, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return gdpr.Event{}, false
	}
	return cloneEvent(r.events[len(r.events)-1]), true
}

// Len returns the number of events kept.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Reset forgets every event kept. It does not change what FailWith set.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// Leaks returns a copy of each event kept that holds one of values (a
// subject ID, a plaintext, an e-mail address a test planted) in a field
// that gdpr.Event says never holds personal data: Action, Actor.ID,
// Purpose, Categories, Resource, or an Attrs key or value. Only Subject
// may hold a subject ID. A substring counts; empty values are ignored.
func (r *Recorder) Leaks(values ...string) []gdpr.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneEvents(r.events, func(e gdpr.Event) bool { return leaks(e, values) })
}

func leaks(e gdpr.Event, values []string) bool {
	fields := []string{e.Action, e.Actor.ID, string(e.Purpose), e.Resource}
	fields = append(fields, e.Categories...)
	for k, v := range e.Attrs {
		fields = append(fields, k, v)
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		for _, f := range fields {
			if strings.Contains(f, v) {
				return true
			}
		}
	}
	return false
}

func cloneEvents(es []gdpr.Event, keep func(gdpr.Event) bool) []gdpr.Event {
	var out []gdpr.Event
	for _, e := range es {
		if keep(e) {
			out = append(out, cloneEvent(e))
		}
	}
	return out
}

func cloneEvent(e gdpr.Event) gdpr.Event {
	e.Categories = slices.Clone(e.Categories)
	e.Attrs = maps.Clone(e.Attrs)
	return e
}
