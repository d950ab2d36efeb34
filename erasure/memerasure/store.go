package memerasure

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Store is an in-memory erasure.Store. The zero value is not usable; call
// New. A Store is safe for concurrent use by many goroutines: one
// sync.Mutex makes every method atomic, so of racing Creates of one kind
// and subject one creates, of racing Updates from one Version one wins,
// and racing Acquires never lease one subject twice.
//
// Everything a Store returns is a deep copy, and nothing it keeps aliases
// its caller's input.
type Store struct {
	mu sync.Mutex
	// reqs holds every request by ID.
	reqs map[string]*erasure.Request
	// open maps the Kind and SubjectRef of each open request to its ID:
	// at most one open request per pair.
	open map[openKey]string
	// leases holds the lease of each SubjectRef, live or expired; Release
	// removes it.
	leases map[string]erasure.Lease
	// restrictions holds every restriction and objection by ID, and
	// statements every supplementary statement by ID (restrictions.go).
	restrictions map[string]*erasure.Restriction
	statements   map[string]*erasure.Statement
}

var _ erasure.Store = (*Store)(nil)

type openKey struct {
	kind gdpr.RequestKind
	ref  string
}

func keyOf(r *erasure.Request) openKey { return openKey{r.Kind, r.SubjectRef} }

// New returns an empty Store.
func New() *Store {
	return &Store{
		reqs:         make(map[string]*erasure.Request),
		open:         make(map[openKey]string),
		leases:       make(map[string]erasure.Lease),
		restrictions: make(map[string]*erasure.Restriction),
		statements:   make(map[string]*erasure.Statement),
	}
}

// Format implements fmt.Formatter so that no verb prints what a Store
// holds: the subject IDs of open requests are personal data. Every verb
// prints "memerasure.Store", %q quoted, and %#v "&memerasure.Store{…}".
func (s *Store) Format(f fmt.State, verb rune) { format(f, verb, "Store") }

// GoString returns "&memerasure.Store{…}", for %#v.
func (s *Store) GoString() string { return "&memerasure.Store{…}" }

func format(f fmt.State, verb rune, typ string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, "&memerasure."+typ+"{…}")
	case verb == 'q':
		io.WriteString(f, `"memerasure.`+typ+`"`)
	default:
		io.WriteString(f, "memerasure."+typ)
	}
}

// Create implements erasure.Store. The stored Version is 1, whatever
// r.Version holds. A closed r (the Store does not refuse one) is stored
// without taking the slot of its Kind and SubjectRef.
func (s *Store) Create(ctx context.Context, r erasure.Request) (erasure.Request, bool, error) {
	const op = "create"
	if err := check(op, ctx); err != nil {
		return erasure.Request{}, false, err
	}
	if r.ID == "" {
		return erasure.Request{}, false, fieldErr(op, "id", erasure.ErrInvalid, "empty request ID")
	}
	r, err := stored(op, r)
	if err != nil {
		return erasure.Request{}, false, err
	}
	r.Version = 1

	s.mu.Lock()
	defer s.mu.Unlock()
	if r.State.Open() {
		if id, ok := s.open[keyOf(&r)]; ok {
			return s.reqs[id].Clone(), false, nil
		}
	}
	if _, ok := s.reqs[r.ID]; ok {
		return erasure.Request{}, false, errorf(op, erasure.ErrConflict, "request %s exists", show(r.ID))
	}
	s.put(&r)
	return r.Clone(), true, nil
}

// put stores r, which the Store owns from now on, and indexes it if it
// is open. The caller holds s.mu.
func (s *Store) put(r *erasure.Request) {
	s.reqs[r.ID] = r
	if r.State.Open() {
		s.open[keyOf(r)] = r.ID
	}
}

// unindex removes r from the open index, if it is indexed there. The
// caller holds s.mu.
func (s *Store) unindex(r *erasure.Request) {
	if k := keyOf(r); s.open[k] == r.ID {
		delete(s.open, k)
	}
}

// Get implements erasure.Store.
func (s *Store) Get(ctx context.Context, id string) (erasure.Request, error) {
	const op = "get"
	if err := check(op, ctx); err != nil {
		return erasure.Request{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reqs[id]
	if !ok {
		return erasure.Request{}, errorf(op, erasure.ErrNotFound, "no request %s", show(id))
	}
	return r.Clone(), nil
}

// Update implements erasure.Store. An unknown ID is reported first, then
// a lease not held, then a stale Version: a worker that lost its lease is
// told so even if the new holder has moved the request on. An open r
// whose Kind and SubjectRef are those of another open request is an
// error wrapping erasure.ErrConflict (the Engine never writes one).
func (s *Store) Update(ctx context.Context, r erasure.Request, lease *erasure.Lease, now time.Time) error {
	const op = "update"
	if err := check(op, ctx); err != nil {
		return err
	}
	r, err := stored(op, r)
	if err != nil {
		return err
	}
	now = norm(now)

	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.reqs[r.ID]
	if !ok {
		return errorf(op, erasure.ErrNotFound, "no request %s", show(r.ID))
	}
	if lease != nil && !s.held(*lease, now) {
		return errorf(op, erasure.ErrLeaseLost, "request %s", show(r.ID))
	}
	if old.Version != r.Version {
		return errorf(op, erasure.ErrConflict, "request %s: stored version is %d, not %d", show(r.ID), old.Version, r.Version)
	}
	if r.State.Open() {
		if id, ok := s.open[keyOf(&r)]; ok && id != r.ID {
			return errorf(op, erasure.ErrConflict, "request %s: another open request %s has that kind and subject", show(r.ID), show(id))
		}
	}
	s.unindex(old)
	r.Version++
	s.put(&r)
	switch {
	case lease != nil && !r.State.Open():
		delete(s.leases, lease.Subject) // the closing write ends the lease
	case lease != nil:
		l := s.leases[lease.Subject]
		l.Until = norm(lease.Until)
		s.leases[lease.Subject] = l
	}
	return nil
}

// held reports whether l is the stored lease of its subject and live at
// now. The caller holds s.mu.
func (s *Store) held(l erasure.Lease, now time.Time) bool {
	cur, ok := s.leases[l.Subject]
	return ok && cur.Request == l.Request && cur.Token == l.Token && cur.Until.After(now)
}

// live reports whether subject has a lease live at now. The caller holds
// s.mu.
func (s *Store) live(subject string, now time.Time) bool {
	l, ok := s.leases[subject]
	return ok && l.Until.After(now)
}

// lease gives r's subject a new lease, replacing any expired one. The
// caller holds s.mu and has checked that no lease is live.
func (s *Store) lease(r *erasure.Request, owner string, now time.Time, ttl time.Duration) erasure.Leased {
	l := erasure.Lease{Subject: r.SubjectRef, Request: r.ID, Owner: owner, Token: rand.Text(), Until: norm(now.Add(ttl))}
	s.leases[l.Subject] = l
	return erasure.Leased{Request: r.Clone(), Lease: l}
}

// Acquire implements erasure.Store. It scans every stored request, so it
// costs O(n log n) in the number of requests: fine for tests and tools. An
// n below 1 or a ttl of zero or less is an error wrapping
// erasure.ErrInvalid.
func (s *Store) Acquire(ctx context.Context, owner string, now time.Time, ttl time.Duration, n int) ([]erasure.Leased, error) {
	const op = "acquire"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fieldErr(op, "n", erasure.ErrInvalid, "must be 1 or more")
	}
	if ttl <= 0 {
		return nil, fieldErr(op, "ttl", erasure.ErrInvalid, "must be positive")
	}
	now = norm(now)

	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*erasure.Request
	for _, r := range s.reqs {
		if (r.State == erasure.StateVerified || r.State == erasure.StateInProgress) && !r.NextAt.IsZero() && !r.NextAt.After(now) {
			due = append(due, r)
		}
	}
	slices.SortFunc(due, func(a, b *erasure.Request) int { return cmp.Or(a.NextAt.Compare(b.NextAt), cmp.Compare(a.ID, b.ID)) })
	var out []erasure.Leased
	taken := make(map[string]bool)
	for _, r := range due {
		if len(out) == n {
			break
		}
		if taken[r.SubjectRef] || s.live(r.SubjectRef, now) {
			continue // leased in this call, or by another worker
		}
		taken[r.SubjectRef] = true
		out = append(out, s.lease(r, owner, now, ttl))
	}
	return out, nil
}

// AcquireID implements erasure.Store. A ttl of zero or less is an error
// wrapping erasure.ErrInvalid.
func (s *Store) AcquireID(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (erasure.Leased, error) {
	const op = "acquire id"
	if err := check(op, ctx); err != nil {
		return erasure.Leased{}, err
	}
	if ttl <= 0 {
		return erasure.Leased{}, fieldErr(op, "ttl", erasure.ErrInvalid, "must be positive")
	}
	now = norm(now)

	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.reqs[id]
	if !ok {
		return erasure.Leased{}, errorf(op, erasure.ErrNotFound, "no request %s", show(id))
	}
	if s.live(r.SubjectRef, now) {
		return erasure.Leased{}, errorf(op, erasure.ErrLeased, "request %s", show(id))
	}
	return s.lease(r, owner, now, ttl), nil
}

// Renew implements erasure.Store.
func (s *Store) Renew(ctx context.Context, l erasure.Lease, now, until time.Time) error {
	const op = "renew"
	if err := check(op, ctx); err != nil {
		return err
	}
	now = norm(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held(l, now) {
		return errorf(op, erasure.ErrLeaseLost, "request %s", show(l.Request))
	}
	cur := s.leases[l.Subject]
	cur.Until = norm(until)
	s.leases[l.Subject] = cur
	return nil
}

// Release implements erasure.Store. It removes the subject's lease if it
// is still l's (same Request and Token), expired or not: once expired, no
// one else holds it.
func (s *Store) Release(ctx context.Context, l erasure.Lease) error {
	const op = "release"
	if err := check(op, ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.leases[l.Subject]; ok && cur.Request == l.Request && cur.Token == l.Token {
		delete(s.leases, l.Subject)
	}
	return nil
}

// List implements erasure.Store. It scans and sorts the matching
// requests on every call: fine for tests and tools.
func (s *Store) List(ctx context.Context, f erasure.Filter) ([]erasure.Request, error) {
	const op = "list"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	limit := erasure.PageSize(f.Limit)
	s.mu.Lock()
	defer s.mu.Unlock()
	var match []*erasure.Request
	for _, r := range s.reqs {
		if (f.After == "" || r.ID > f.After) && matches(r, &f) {
			match = append(match, r)
		}
	}
	slices.SortFunc(match, func(a, b *erasure.Request) int { return cmp.Compare(a.ID, b.ID) })
	if len(match) > limit {
		match = match[:limit]
	}
	out := make([]erasure.Request, len(match))
	for i, r := range match {
		out[i] = r.Clone()
	}
	return out, nil
}

// Count implements erasure.Store. Counts come in the order of
// erasure.States, then by Kind.
func (s *Store) Count(ctx context.Context, f erasure.Filter) ([]erasure.Count, error) {
	const op = "count"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	type group struct {
		state erasure.State
		kind  gdpr.RequestKind
	}
	s.mu.Lock()
	n := make(map[group]int64)
	for _, r := range s.reqs {
		if matches(r, &f) {
			n[group{r.State, r.Kind}]++
		}
	}
	s.mu.Unlock()
	out := make([]erasure.Count, 0, len(n))
	for g, c := range n {
		out = append(out, erasure.Count{State: g.state, Kind: g.kind, N: c})
	}
	order := erasure.States()
	rank := func(st erasure.State) int {
		if i := slices.Index(order, st); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(out, func(a, b erasure.Count) int {
		return cmp.Or(cmp.Compare(rank(a.State), rank(b.State)), cmp.Compare(a.State, b.State), cmp.Compare(a.Kind, b.Kind))
	})
	return out, nil
}

// matches reports whether r passes f, After and Limit aside. A closed
// request without a Closed time is not closed before anything.
func matches(r *erasure.Request, f *erasure.Filter) bool {
	switch {
	case len(f.States) > 0 && !slices.Contains(f.States, r.State),
		len(f.Kinds) > 0 && !slices.Contains(f.Kinds, r.Kind),
		f.SubjectRef != "" && r.SubjectRef != f.SubjectRef,
		!f.DueBefore.IsZero() && !r.Deadline.Due.Before(f.DueBefore),
		!f.ClosedBefore.IsZero() && (r.State.Open() || r.Closed.IsZero() || !r.Closed.Before(f.ClosedBefore)):
		return false
	}
	return true
}

// Delete implements erasure.Store. An open request deleted frees the slot
// of its Kind and SubjectRef; its subject's lease, if any, stays until it
// is released or expires.
func (s *Store) Delete(ctx context.Context, ids ...string) (int64, error) {
	const op = "delete"
	if err := check(op, ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, id := range ids {
		if r, ok := s.reqs[id]; ok {
			s.unindex(r)
			delete(s.reqs, id)
			n++
		}
	}
	return n, nil
}

// stored returns r as the Store keeps it: a deep copy, every time to the
// microsecond in UTC, and the Deadline as a store that keeps its Location
// by name gives it back (see normDeadline).
func stored(op string, r erasure.Request) (erasure.Request, error) {
	d, err := normDeadline(r.Deadline)
	if err != nil {
		return erasure.Request{}, &erasure.Error{Op: op, Field: "deadline",
			Err: fmt.Errorf("memerasure: %w", errs.Because(erasure.ErrInvalid, "its time zone cannot be kept by name", err))}
	}
	r = r.Clone()
	r.Deadline = d
	// A stored correction keeps its sealed value only (Correction.Value
	// is for a Submission), as a database, encoding the request, would.
	for i := range r.Ask.Corrections {
		r.Ask.Corrections[i].Value = ""
	}
	r.Received = norm(r.Received)
	r.NextAt = norm(r.NextAt)
	r.SettleUntil = norm(r.SettleUntil)
	r.Closed = norm(r.Closed)
	for i := range r.Steps {
		st := &r.Steps[i]
		st.At = norm(st.At)
		if st.Recipient != nil {
			st.Recipient.At = norm(st.Recipient.At)
		}
		for j := range st.Exemptions {
			st.Exemptions[j].Until = norm(st.Exemptions[j].Until)
		}
	}
	for i := range r.History {
		r.History[i].At = norm(r.History[i].At)
	}
	return r, nil
}

// normDeadline returns d as a SQL store gives it back: through its JSON
// form, so that its Location is the zone its name loads and its Calendar
// is gone (re-attach it with WithCalendar), with Received to the
// microsecond in UTC, and LastDay and Due to the microsecond in Location,
// as gdpr.Deadline.UnmarshalJSON places them. A Location whose name does
// not load is an error.
func normDeadline(d gdpr.Deadline) (gdpr.Deadline, error) {
	b, err := d.MarshalJSON()
	if err != nil {
		return gdpr.Deadline{}, err
	}
	var out gdpr.Deadline
	if err := out.UnmarshalJSON(b); err != nil {
		return gdpr.Deadline{}, err
	}
	out.Received = norm(out.Received)
	out.LastDay = out.LastDay.Truncate(time.Microsecond)
	out.Due = out.Due.Truncate(time.Microsecond)
	return out, nil
}

// norm is how the store keeps a time: to the microsecond, in UTC. The zero
// time stays zero.
func norm(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// check refuses a nil context, and returns ctx.Err() for a done one.
func check(op string, ctx context.Context) error {
	if ctx == nil {
		return &erasure.Error{Op: op, Field: "ctx", Err: fmt.Errorf("memerasure: %w: nil context", erasure.ErrInvalid)}
	}
	return ctx.Err()
}

// errorf is the error of op: sentinel with a detail that names request
// IDs at most (through show), never a subject.
func errorf(op string, sentinel error, format string, args ...any) error {
	return &erasure.Error{Op: op, Err: fmt.Errorf("memerasure: %w: "+format, append([]any{sentinel}, args...)...)}
}

// fieldErr is the error of op about an argument or field.
func fieldErr(op, field string, sentinel error, detail string) error {
	return &erasure.Error{Op: op, Field: field, Err: fmt.Errorf("memerasure: %w: %s", sentinel, detail)}
}

// show quotes a value only when it looks like a key (errs.Show), so an
// error never echoes a value that may be personal data.
func show(s string) string { return errs.Show(s) }
