package erasuretest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunCodeStoreTests runs the conformance suite of erasure.CodeStore
// against the storages newStore makes, one subtest per behaviour, as
// RunStoreTests does: newStore returns two handles on one fresh, empty
// storage (an in-memory store returns itself twice).
//
// The subtests: SharedStorage, PutRoundTrip (every field, times to the
// microsecond in UTC, seen through Attempt and DueReminders), PutReplaces,
// AttemptCounts, AttemptUnknown, DeleteCode, DueReminders (created at or
// before the cut-off, not reminded, oldest first, at most limit),
// MarkReminded, HashNotAliased, and RaceAttempts (n concurrent Attempts
// through both handles raise Attempts by exactly n, each returning a
// count of its own).
func RunCodeStoreTests(t *testing.T, newStore func(t *testing.T) (s, other erasure.CodeStore)) {
	tests := []suite.Test[erasure.CodeStore]{
		{"SharedStorage", testCodeShared},
		{"PutRoundTrip", suite.One(testCodeRoundTrip)},
		{"PutReplaces", suite.One(testCodeReplace)},
		{"AttemptCounts", suite.One(testCodeAttempt)},
		{"AttemptUnknown", suite.One(testCodeAttemptUnknown)},
		{"DeleteCode", suite.One(testCodeDelete)},
		{"DueReminders", suite.One(testCodeDueReminders)},
		{"MarkReminded", suite.One(testCodeMarkReminded)},
		{"HashNotAliased", suite.One(testCodeNotAliased)},
		{"RaceAttempts", testCodeRaceAttempts},
	}
	suite.Run(t, "erasure.CodeStore", newStore, tests)
}

// newCode returns a code for request, created at minute n, expiring a day
// later, not tried, not reminded.
func newCode(request string, n int) erasure.Code {
	return erasure.Code{Request: request, Hash: codeHash(request), Created: at(n), Expires: at(n).Add(24 * time.Hour)}
}

func mustPutCode(t *testing.T, s erasure.CodeStore, cs ...erasure.Code) {
	t.Helper()
	for _, c := range cs {
		if err := s.PutCode(t.Context(), cloneCode(c)); err != nil {
			t.Fatalf("PutCode(request %s): %v; want nil", c.Request, err)
		}
	}
}

func mustAttempt(t *testing.T, s erasure.CodeStore, request string) erasure.Code {
	t.Helper()
	c, err := s.Attempt(t.Context(), request)
	if err != nil {
		t.Fatalf("Attempt(%s): %v; want the code", request, err)
	}
	return c
}

func mustDueReminders(t *testing.T, s erasure.CodeStore, before time.Time, limit int) []erasure.Code {
	t.Helper()
	cs, err := s.DueReminders(t.Context(), before, limit)
	if err != nil {
		t.Fatalf("DueReminders(%s, %d): %v; want nil", before.Format(time.RFC3339), limit, err)
	}
	return cs
}

func codeRequests(cs []erasure.Code) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Request
	}
	return out
}

// codeDiff lists how got differs from want as a CodeStore gives it back.
func codeDiff(got, want erasure.Code) []string {
	var d []string
	if got.Request != want.Request {
		d = append(d, fmt.Sprintf("Request: got %q, want %q", got.Request, want.Request))
	}
	if !bytes.Equal(got.Hash, want.Hash) {
		d = append(d, fmt.Sprintf("Hash: got %s, want %s", hex.EncodeToString(got.Hash), hex.EncodeToString(want.Hash)))
	}
	if got.Attempts != want.Attempts {
		d = append(d, fmt.Sprintf("Attempts: got %d, want %d", got.Attempts, want.Attempts))
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{{"Created", got.Created, want.Created}, {"Expires", got.Expires, want.Expires}, {"Reminded", got.Reminded, want.Reminded}} {
		if s := timeDiff(f.got, f.want); s != "" {
			d = append(d, f.name+": "+s)
		}
	}
	return d
}

func wantCode(t *testing.T, call string, got, want erasure.Code) {
	t.Helper()
	if d := codeDiff(got, want); len(d) > 0 {
		t.Errorf("%s returned a code that differs from the one put:\n\t%s", call, strings.Join(d, "\n\t"))
	}
}

func testCodeShared(t *testing.T, s, other erasure.CodeStore) {
	c := newCode(NewID(), 0)
	mustPutCode(t, s, c)
	got, err := other.Attempt(t.Context(), c.Request)
	if err != nil {
		t.Fatalf("Attempt through the other handle of a code put through the first: %v; want the code: %s", err, sharedHint)
	}
	c.Attempts = 1
	wantCode(t, "Attempt through the other handle", got, c)
	if err := other.MarkReminded(t.Context(), c.Request, at(1)); err != nil {
		t.Fatalf("MarkReminded through the other handle: %v", err)
	}
	if due := mustDueReminders(t, s, far, 10); len(due) != 0 {
		t.Errorf("DueReminders through the first handle after MarkReminded through the other = %v; want none: %s", codeRequests(due), sharedHint)
	}
	if err := other.DeleteCode(t.Context(), c.Request); err != nil {
		t.Fatalf("DeleteCode through the other handle: %v", err)
	}
	_, err = s.Attempt(t.Context(), c.Request)
	wantErr(t, err, erasure.ErrNotFound, "Attempt through the first handle of a code deleted through the other", sharedHint)
}

func testCodeRoundTrip(t *testing.T, s erasure.CodeStore) {
	zone := time.FixedZone("UTC-03:00", -3*3600)
	c := erasure.Code{Request: NewID(), Hash: codeHash("a"), Created: at(0).Add(123456789 * time.Nanosecond).In(zone),
		Expires: at(60).Add(999 * time.Nanosecond).In(berlin), Attempts: 2}
	mustPutCode(t, s, c)
	due := mustDueReminders(t, s, far, 10)
	if len(due) != 1 {
		t.Fatalf("DueReminders after one PutCode = %d codes; want 1", len(due))
	}
	wantCode(t, "DueReminders", due[0], c)
	got := mustAttempt(t, s, c.Request)
	c.Attempts = 3
	wantCode(t, "Attempt", got, c)
	// A code reminded already round-trips its Reminded time.
	r := newCode(NewID(), 1)
	r.Reminded = at(2).Add(777 * time.Nanosecond).In(zone)
	mustPutCode(t, s, r)
	r.Attempts = 1
	wantCode(t, "Attempt of a code put with a Reminded time", mustAttempt(t, s, r.Request), r)
}

func testCodeReplace(t *testing.T, s erasure.CodeStore) {
	req := NewID()
	first := newCode(req, 0)
	mustPutCode(t, s, first)
	mustAttempt(t, s, req)
	mustAttempt(t, s, req)
	second := erasure.Code{Request: req, Hash: codeHash("second"), Created: at(5), Expires: at(65)}
	mustPutCode(t, s, second)
	second.Attempts = 1
	wantCode(t, "Attempt after a second PutCode for the request (PutCode replaces any code of c.Request)", mustAttempt(t, s, req), second)
	if due := mustDueReminders(t, s, far, 10); len(due) != 1 {
		t.Errorf("DueReminders after two PutCodes for one request = %d codes; want 1: the second replaced the first", len(due))
	}
}

func testCodeAttempt(t *testing.T, s erasure.CodeStore) {
	a, b := newCode(NewID(), 0), newCode(NewID(), 0)
	mustPutCode(t, s, a, b)
	for i := 1; i <= 3; i++ {
		if got := mustAttempt(t, s, a.Request); got.Attempts != i {
			t.Errorf("Attempt #%d returned Attempts %d; want %d: Attempt counts one attempt and returns the code as stored after counting it", i, got.Attempts, i)
		}
	}
	if got := mustAttempt(t, s, b.Request); got.Attempts != 1 {
		t.Errorf("first Attempt at another request's code returned Attempts %d; want 1: each code counts its own", got.Attempts)
	}
}

func testCodeAttemptUnknown(t *testing.T, s erasure.CodeStore) {
	_, err := s.Attempt(t.Context(), NewID())
	wantErr(t, err, erasure.ErrNotFound, "Attempt of an unknown request", "an unknown request is an error wrapping ErrNotFound")
}

func testCodeDelete(t *testing.T, s erasure.CodeStore) {
	a, b := newCode(NewID(), 0), newCode(NewID(), 0)
	mustPutCode(t, s, a, b)
	if err := s.DeleteCode(t.Context(), a.Request); err != nil {
		t.Fatalf("DeleteCode: %v", err)
	}
	_, err := s.Attempt(t.Context(), a.Request)
	wantErr(t, err, erasure.ErrNotFound, "Attempt of a deleted code", "DeleteCode deletes the code")
	if got := mustAttempt(t, s, b.Request); got.Attempts != 1 {
		t.Errorf("Attempt of the code not deleted: Attempts %d; want 1", got.Attempts)
	}
	if err := s.DeleteCode(t.Context(), a.Request); err != nil {
		t.Errorf("DeleteCode of a deleted code: %v; want nil: an unknown one succeeds", err)
	}
	if err := s.DeleteCode(t.Context(), NewID()); err != nil {
		t.Errorf("DeleteCode of an unknown request: %v; want nil", err)
	}
	if due := mustDueReminders(t, s, far, 10); !slices.Equal(codeRequests(due), []string{b.Request}) {
		t.Errorf("DueReminders after DeleteCode = %v; want only [%s]", codeRequests(due), b.Request)
	}
}

func testCodeDueReminders(t *testing.T, s erasure.CodeStore) {
	if due := mustDueReminders(t, s, far, 10); len(due) != 0 {
		t.Errorf("DueReminders of an empty store = %v; want none", codeRequests(due))
	}
	// Put in an order that is not creation order.
	mins := []int{30, 10, 50, 20, 40}
	codes := make(map[int]erasure.Code)
	for _, m := range mins {
		c := newCode(NewID(), m)
		codes[m] = c
		mustPutCode(t, s, c)
	}
	reminded := newCode(NewID(), 5)
	reminded.Reminded = at(6)
	mustPutCode(t, s, reminded)
	req := func(ms ...int) []string {
		var out []string
		for _, m := range ms {
			out = append(out, codes[m].Request)
		}
		return out
	}
	for _, c := range []struct {
		before time.Time
		limit  int
		want   []string
		why    string
	}{
		{far, 10, req(10, 20, 30, 40, 50), "the codes not reminded, oldest first"},
		{far, 2, req(10, 20), "at most limit, oldest first"},
		{at(30), 10, req(10, 20, 30), "created at or before createdBefore"},
		{at(30).Add(-time.Microsecond), 10, req(10, 20), "created at or before createdBefore"},
		{at(9), 10, nil, "a code reminded already is not due"},
	} {
		if got := codeRequests(mustDueReminders(t, s, c.before, c.limit)); !slices.Equal(got, c.want) {
			t.Errorf("DueReminders(%s, %d) = %v; want %v: %s", c.before.Format(time.RFC3339Nano), c.limit, got, c.want, c.why)
		}
	}
}

func testCodeMarkReminded(t *testing.T, s erasure.CodeStore) {
	a, b := newCode(NewID(), 0), newCode(NewID(), 1)
	mustPutCode(t, s, a, b)
	when := at(5).Add(321 * time.Nanosecond).In(berlin)
	if err := s.MarkReminded(t.Context(), a.Request, when); err != nil {
		t.Fatalf("MarkReminded: %v", err)
	}
	if due := mustDueReminders(t, s, far, 10); !slices.Equal(codeRequests(due), []string{b.Request}) {
		t.Errorf("DueReminders after MarkReminded of one of two codes = %v; want only the other, [%s]", codeRequests(due), b.Request)
	}
	a.Reminded, a.Attempts = when, 1
	wantCode(t, "Attempt after MarkReminded", mustAttempt(t, s, a.Request), a)
	err := s.MarkReminded(t.Context(), NewID(), when)
	wantErr(t, err, erasure.ErrNotFound, "MarkReminded of an unknown request", "an unknown request is an error wrapping ErrNotFound")
}

func testCodeNotAliased(t *testing.T, s erasure.CodeStore) {
	c := newCode(NewID(), 0)
	want := cloneCode(c)
	if err := s.PutCode(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	c.Hash[0] ^= 0xff
	got := mustAttempt(t, s, c.Request)
	want.Attempts = 1
	if !bytes.Equal(got.Hash, want.Hash) {
		t.Errorf("after the caller changed the Hash it had put, Attempt returned a changed Hash: %s", copyContract)
	}
	got.Hash[1] ^= 0xff
	due := mustDueReminders(t, s, far, 1)
	if len(due) != 1 || !bytes.Equal(due[0].Hash, want.Hash) {
		t.Fatalf("after the caller changed the Hash Attempt returned, the stored Hash changed: %s", copyContract)
	}
	due[0].Hash[2] ^= 0xff
	want.Attempts = 2
	wantCode(t, "Attempt after the caller changed the Hash DueReminders returned", mustAttempt(t, s, c.Request), want)
}

func testCodeRaceAttempts(t *testing.T, s, other erasure.CodeStore) {
	const goroutines, each = 8, 5
	c := newCode(NewID(), 0)
	mustPutCode(t, s, c)
	counts := make([][]int, goroutines)
	suite.Race(t, goroutines, s, other, func(ctx context.Context, g int, h erasure.CodeStore) error {
		for range each {
			got, err := h.Attempt(ctx, c.Request)
			if err != nil {
				t.Errorf("racing Attempt #%d: %v; want nil", g, err)
				return err
			}
			counts[g] = append(counts[g], got.Attempts)
		}
		return nil
	})
	seen := map[int]bool{}
	for _, cs := range counts {
		for _, n := range cs {
			if seen[n] {
				t.Errorf("two racing Attempts both returned Attempts %d; want each to count one attempt of its own", n)
			}
			seen[n] = true
		}
	}
	if got := mustAttempt(t, other, c.Request); got.Attempts != goroutines*each+1 {
		t.Errorf("after %d racing Attempts through both handles and one more, Attempts is %d; want %d: n Attempts raise Attempts by exactly n",
			goroutines*each, got.Attempts, goroutines*each+1)
	}
}
