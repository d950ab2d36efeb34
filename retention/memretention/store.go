package memretention

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

// Store is an in-memory retention.Store, and so a gdpr.LegalHolds. The
// zero value is not usable; call New. A Store is safe for concurrent use
// by many goroutines: one sync.Mutex makes every method atomic, so of
// concurrent PlaceHolds of one ID with different contents exactly one
// stores, and of concurrent AcquireSweeps of one name exactly one wins.
//
// Everything a Store returns is a deep copy, and nothing it keeps
// aliases its caller's input.
type Store struct {
	mu sync.Mutex
	// holds are the holds as stored (see storedHold), sorted by ID in
	// byte order; byID indexes them.
	holds []*retention.Hold
	byID  map[string]*retention.Hold
	// leases are the live or lapsed sweep leases by sweep name; a
	// released lease is deleted.
	leases map[string]retention.Lease
	// sweeps are the checkpoints by sweep name, as stored (see
	// storedSweep).
	sweeps map[string]retention.Sweep
}

var (
	_ retention.Store = (*Store)(nil)
	_ gdpr.LegalHolds = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{
		byID:   make(map[string]*retention.Hold),
		leases: make(map[string]retention.Lease),
		sweeps: make(map[string]retention.Sweep),
	}
}

// Format implements fmt.Formatter so that no verb prints what a Store
// holds (subject IDs, reasons): every verb prints "memretention.Store",
// %q quoted, and %#v "&memretention.Store{…}".
func (s *Store) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, s.GoString())
	case verb == 'q':
		io.WriteString(f, `"memretention.Store"`)
	default:
		io.WriteString(f, "memretention.Store")
	}
}

// GoString returns "&memretention.Store{…}", for %#v.
func (s *Store) GoString() string { return "&memretention.Store{…}" }

// PlaceHold implements retention.Store. It refuses with an error
// wrapping retention.ErrInvalid a hold that fails Hold.Validate (the
// error's Field names the field, as Validate's does) or has no Placed
// ("placed"). A retry is a hold of a stored ID whose placement is the
// same: Subject, Categories in order, Reason, PlacedBy, Placed and Until
// (times to the microsecond), whether or not the stored hold was
// released since.
func (s *Store) PlaceHold(ctx context.Context, h retention.Hold) error {
	const op = "PlaceHold"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := h.Validate(); err != nil {
		var re *retention.Error
		if errors.As(err, &re) {
			return &retention.Error{Op: prefix + op, Field: re.Field, Err: re.Err}
		}
		return &retention.Error{Op: prefix + op, Err: err}
	}
	if h.Placed.IsZero() {
		return fieldErr(op, "placed", "a stored hold has Placed set")
	}
	h = storedHold(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byID[h.ID]; ok {
		if samePlacement(old, &h) {
			return nil
		}
		return condErr(op, retention.ErrExists, "a hold of that ID exists with other contents")
	}
	i, _ := slices.BinarySearchFunc(s.holds, h.ID, func(e *retention.Hold, id string) int { return strings.Compare(e.ID, id) })
	s.holds = slices.Insert(s.holds, i, &h)
	s.byID[h.ID] = &h
	return nil
}

// samePlacement reports whether a and b, both as stored, were placed
// alike.
func samePlacement(a, b *retention.Hold) bool {
	return a.ID == b.ID && a.Subject == b.Subject && slices.Equal(a.Categories, b.Categories) &&
		a.Reason == b.Reason && a.PlacedBy == b.PlacedBy && a.Placed.Equal(b.Placed) && a.Until.Equal(b.Until)
}

// ReleaseHold implements retention.Store. It refuses with an error
// wrapping retention.ErrInvalid an empty or oversize id ("id"), a zero
// at ("at") and a zero or invalid actor ("by").
func (s *Store) ReleaseHold(ctx context.Context, id string, at time.Time, by gdpr.Actor) (retention.Hold, error) {
	const op = "ReleaseHold"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Hold{}, err
	}
	if err := checkKey(op, "id", id); err != nil {
		return retention.Hold{}, err
	}
	if at.IsZero() {
		return retention.Hold{}, fieldErr(op, "at", "a release needs its time")
	}
	if by.IsZero() || by.Validate() != nil {
		return retention.Hold{}, fieldErr(op, "by", "a release needs a valid actor")
	}
	at = norm(at)
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.byID[id]
	if !ok {
		return retention.Hold{}, condErr(op, retention.ErrNotFound, "no hold of that ID")
	}
	if h.Released.IsZero() && (h.Until.IsZero() || h.Until.After(at)) {
		h.Released, h.ReleasedBy = at, by
	}
	return copyHold(h), nil
}

// GetHold implements retention.Store. It refuses an empty or oversize
// id with an error wrapping retention.ErrInvalid ("id").
func (s *Store) GetHold(ctx context.Context, id string) (retention.Hold, error) {
	const op = "GetHold"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Hold{}, err
	}
	if err := checkKey(op, "id", id); err != nil {
		return retention.Hold{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.byID[id]
	if !ok {
		return retention.Hold{}, condErr(op, retention.ErrNotFound, "no hold of that ID")
	}
	return copyHold(h), nil
}

// ListHolds implements retention.Store: it scans the holds after
// f.After in ID order until it has f.Limit. A Limit below 0 or above
// retention.MaxLimit is an error wrapping retention.ErrInvalid
// ("limit").
func (s *Store) ListHolds(ctx context.Context, f retention.HoldFilter) ([]retention.Hold, error) {
	const op = "ListHolds"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = retention.DefaultLimit
	case limit < 0 || limit > retention.MaxLimit:
		return nil, fieldErr(op, "limit", "a limit is 0 (the default) to 1000")
	}
	f.InForce = norm(f.InForce)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, found := slices.BinarySearchFunc(s.holds, f.After, func(e *retention.Hold, id string) int { return strings.Compare(e.ID, id) })
	if found {
		i++
	}
	out := []retention.Hold{}
	for _, h := range s.holds[i:] {
		if len(out) == limit {
			break
		}
		if f.Match(*h) {
			out = append(out, copyHold(h))
		}
	}
	return out, nil
}

// PurgeHolds implements retention.Store. A zero before is an error
// wrapping retention.ErrInvalid ("before").
func (s *Store) PurgeHolds(ctx context.Context, before time.Time) (int64, error) {
	const op = "PurgeHolds"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	if before.IsZero() {
		return 0, fieldErr(op, "before", "a purge needs its cut-off")
	}
	before = norm(before)
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	kept := s.holds[:0]
	for _, h := range s.holds {
		if end := ended(h); !end.IsZero() && end.Before(before) {
			delete(s.byID, h.ID)
			n++
			continue
		}
		kept = append(kept, h)
	}
	clear(s.holds[len(kept):])
	s.holds = kept
	return n, nil
}

// ended returns when h ended: its release, or else its Until; zero
// while its end is not known.
func ended(h *retention.Hold) time.Time {
	switch {
	case !h.Released.IsZero() && (h.Until.IsZero() || h.Released.Before(h.Until)):
		return h.Released
	default:
		return h.Until
	}
}

// Holds implements retention.Store and gdpr.LegalHolds: it scans every
// hold, O(n) in the number stored. An empty or invalid subject is an
// error wrapping retention.ErrInvalid ("subject").
func (s *Store) Holds(ctx context.Context, subject gdpr.SubjectID, now time.Time) ([]gdpr.Hold, error) {
	const op = "Holds"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if subject.Validate() != nil {
		return nil, fieldErr(op, "subject", "not a valid subject ID")
	}
	now = norm(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []gdpr.Hold{}
	for _, h := range s.holds {
		if (h.Subject == "" || h.Subject == subject) && h.InForce(now) {
			out = append(out, h.Legal())
		}
	}
	return out, nil
}

// AcquireSweep implements retention.Store. It refuses with an error
// wrapping retention.ErrInvalid an empty or oversize name ("name") or
// owner ("owner"), and a ttl of zero or less ("ttl"). The Token is 32
// hex digits from crypto/rand.
func (s *Store) AcquireSweep(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (retention.Lease, error) {
	const op = "AcquireSweep"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Lease{}, err
	}
	if err := checkKey(op, "name", name); err != nil {
		return retention.Lease{}, err
	}
	if err := checkKey(op, "owner", owner); err != nil {
		return retention.Lease{}, err
	}
	if ttl <= 0 {
		return retention.Lease{}, fieldErr(op, "ttl", "a lease's ttl is more than zero")
	}
	until := norm(now.Add(ttl))
	now = norm(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[name]; ok && l.Until.After(now) {
		return retention.Lease{}, condErr(op, retention.ErrLeased, "the sweep's lease is live")
	}
	l := retention.Lease{Name: name, Owner: owner, Token: newToken(), Until: until}
	s.leases[name] = l
	return l, nil
}

// SaveSweep implements retention.Store. It refuses with an error
// wrapping retention.ErrInvalid an empty or oversize l.Name ("name"), an
// s.Name other than l.Name ("sweep.name"), more than
// retention.MaxTargets targets ("sweep.targets") and a Cursor longer
// than retention.MaxCursorLen ("sweep.targets[i].cursor"). The lease is
// held if the stored lease of l.Name has l.Token and an Until after now;
// l.Until is not read.
func (s *Store) SaveSweep(ctx context.Context, l retention.Lease, sw retention.Sweep, now, until time.Time) error {
	const op = "SaveSweep"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := checkKey(op, "name", l.Name); err != nil {
		return err
	}
	if sw.Name != l.Name {
		return fieldErr(op, "sweep.name", "a checkpoint is of its lease's sweep")
	}
	if len(sw.Targets) > retention.MaxTargets {
		return fieldErr(op, "sweep.targets", "more than 256 targets")
	}
	for i, ts := range sw.Targets {
		if len(ts.Cursor) > retention.MaxCursorLen {
			return fieldErr(op, fmt.Sprintf("sweep.targets[%d].cursor", i), "a cursor is at most 1024 bytes")
		}
	}
	sw = storedSweep(sw)
	now = norm(now)
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.leases[l.Name]
	if !ok || l.Token == "" || held.Token != l.Token || !held.Until.After(now) {
		return condErr(op, retention.ErrLeaseLost, "the sweep's lease is not held")
	}
	held.Until = norm(until)
	s.leases[l.Name] = held
	s.sweeps[l.Name] = sw
	return nil
}

// ReleaseSweep implements retention.Store. It refuses an empty or
// oversize l.Name with an error wrapping retention.ErrInvalid ("name").
func (s *Store) ReleaseSweep(ctx context.Context, l retention.Lease) error {
	const op = "ReleaseSweep"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := checkKey(op, "name", l.Name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if held, ok := s.leases[l.Name]; ok && l.Token != "" && held.Token == l.Token {
		delete(s.leases, l.Name)
	}
	return nil
}

// LastSweep implements retention.Store. It refuses an empty or oversize
// name with an error wrapping retention.ErrInvalid ("name").
func (s *Store) LastSweep(ctx context.Context, name string) (retention.Sweep, error) {
	const op = "LastSweep"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Sweep{}, err
	}
	if err := checkKey(op, "name", name); err != nil {
		return retention.Sweep{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sw, ok := s.sweeps[name]
	if !ok {
		return retention.Sweep{}, condErr(op, retention.ErrNotFound, "no checkpoint of that sweep")
	}
	sw.Targets = slices.Clone(sw.Targets)
	return sw, nil
}

// storedHold returns a deep copy of h as the Store keeps it: every time
// to the microsecond in UTC, as a SQL store gives it back, and no empty
// Categories slice.
func storedHold(h retention.Hold) retention.Hold {
	h.Placed, h.Until, h.Released = norm(h.Placed), norm(h.Until), norm(h.Released)
	if len(h.Categories) == 0 {
		h.Categories = nil
	} else {
		h.Categories = slices.Clone(h.Categories)
	}
	return h
}

// copyHold returns a deep copy of a stored hold.
func copyHold(h *retention.Hold) retention.Hold {
	out := *h
	out.Categories = slices.Clone(h.Categories)
	return out
}

// storedSweep returns a deep copy of sw as the Store keeps it: every time
// to the microsecond in UTC, and no empty Targets slice.
func storedSweep(sw retention.Sweep) retention.Sweep {
	sw.Started, sw.Finished = norm(sw.Started), norm(sw.Finished)
	if len(sw.Targets) == 0 {
		sw.Targets = nil
	} else {
		sw.Targets = slices.Clone(sw.Targets)
	}
	for i := range sw.Targets {
		sw.Targets[i].Cutoff = norm(sw.Targets[i].Cutoff)
	}
	return sw
}

// norm returns t as the Store keeps it: to the microsecond, in UTC; the
// zero time stays zero.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// newToken returns a fresh lease token: 16 bytes of crypto/rand in hex.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails: crypto/rand.Read crashes the program rather than return an error
	return hex.EncodeToString(b)
}

// prefix begins the Op of every error of this package.
const prefix = "memretention."

var errNilContext = fmt.Errorf("%w: nil context", retention.ErrInvalid)

// checkCtx refuses a nil context, and returns the error of one that is
// done before the call starts.
func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &retention.Error{Op: prefix + op, Field: "ctx", Err: errNilContext}
	}
	if err := ctx.Err(); err != nil {
		return &retention.Error{Op: prefix + op, Err: err}
	}
	return nil
}

// checkKey refuses an empty key or one longer than retention.MaxKeyLen.
func checkKey(op, field, v string) error {
	switch {
	case v == "":
		return fieldErr(op, field, "empty")
	case len(v) > retention.MaxKeyLen:
		return fieldErr(op, field, "longer than 255 bytes")
	}
	return nil
}

// condErr is the error of op for a condition of the contract: sentinel
// with a fixed detail that names no subject, reason or ID.
func condErr(op string, sentinel error, detail string) error {
	return &retention.Error{Op: prefix + op, Err: fmt.Errorf("%w: %s", sentinel, detail)}
}

// fieldErr is the error of op about an input field:
// retention.ErrInvalid with a fixed detail.
func fieldErr(op, field, detail string) error {
	return &retention.Error{Op: prefix + op, Field: field, Err: fmt.Errorf("%w: %s", retention.ErrInvalid, detail)}
}
