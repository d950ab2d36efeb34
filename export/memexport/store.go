package memexport

import (
	"bytes"
	"cmp"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/gdprkit/gdpr/export"
)

// Store is an in-memory export.Store. The zero value is not usable; call
// New. A Store is safe for concurrent use by many goroutines: one
// sync.Mutex makes every method atomic, so of concurrent Claims of one
// part exactly one succeeds, and of concurrent Creates of one ID or one
// token hash exactly one stores.
//
// Everything a Store returns is a deep copy, and nothing it keeps aliases
// its caller's input.
type Store struct {
	mu sync.Mutex
	// byID holds every delivery, as stored (see stored).
	byID map[string]*export.Delivery
	// hashes counts the parts holding each token hash: at most one. It
	// serves Create's uniqueness check; Claim does not look tokens up in
	// it, it compares every stored hash in constant time.
	hashes map[string]string // token hash → delivery ID
}

var _ export.Store = (*Store)(nil)

// New returns an empty Store.
func New() *Store {
	return &Store{byID: make(map[string]*export.Delivery), hashes: make(map[string]string)}
}

// Format implements fmt.Formatter so that no verb prints what a Store
// holds (subject IDs, token hashes): every verb prints
// "memexport.Store", %q quoted, and %#v "&memexport.Store{…}".
func (s *Store) Format(f fmt.State, verb rune) { format(f, verb, "Store") }

// GoString returns "&memexport.Store{…}", for %#v.
func (s *Store) GoString() string { return "&memexport.Store{…}" }

func format(f fmt.State, verb rune, typ string) {
	switch {
	case verb == 'v' && f.Flag('#'):
		io.WriteString(f, "&memexport."+typ+"{…}")
	case verb == 'q':
		io.WriteString(f, `"memexport.`+typ+`"`)
	default:
		io.WriteString(f, "memexport."+typ)
	}
}

// Create implements export.Store. It refuses with an error wrapping
// export.ErrInvalid an empty ID, no parts, a TokenHash that is not 32
// bytes, an empty Blob, a negative Size, and Expires not after Created.
func (s *Store) Create(ctx context.Context, d export.Delivery) error {
	const op = "create"
	if err := check(op, ctx); err != nil {
		return err
	}
	if err := validate(op, d); err != nil {
		return err
	}
	d = stored(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[d.ID]; ok {
		return errorf(op, export.ErrConflict, "a delivery of that ID exists")
	}
	seen := make(map[string]bool, len(d.Parts))
	for _, p := range d.Parts {
		h := string(p.TokenHash)
		if _, ok := s.hashes[h]; ok || seen[h] {
			return errorf(op, export.ErrConflict, "a part's token hash is another part's")
		}
		seen[h] = true
	}
	for h := range seen {
		s.hashes[h] = d.ID
	}
	s.byID[d.ID] = &d
	return nil
}

// validate refuses a delivery no Deliverer makes.
func validate(op string, d export.Delivery) error {
	switch {
	case d.ID == "":
		return fieldErr(op, "id", "empty delivery ID")
	case len(d.Parts) == 0:
		return fieldErr(op, "parts", "a delivery has at least one part")
	case !d.Expires.After(d.Created):
		return fieldErr(op, "expires", "Expires is not after Created")
	}
	for i, p := range d.Parts {
		switch {
		case len(p.TokenHash) != 32:
			return fieldErr(op, "token_hash", fmt.Sprintf("part %d: a token hash is 32 bytes (SHA-256)", i))
		case p.Blob == "":
			return fieldErr(op, "blob", fmt.Sprintf("part %d: empty blob name", i))
		case p.Size < 0:
			return fieldErr(op, "size", fmt.Sprintf("part %d: negative size", i))
		}
	}
	return nil
}

// stored returns a deep copy of d as the Store keeps it: every time to
// the microsecond in UTC, as a SQL store gives it back.
func stored(d export.Delivery) export.Delivery {
	d.Created, d.Expires = norm(d.Created), norm(d.Expires)
	d.Parts = slices.Clone(d.Parts)
	for i := range d.Parts {
		d.Parts[i].TokenHash = bytes.Clone(d.Parts[i].TokenHash)
		d.Parts[i].Downloaded = norm(d.Parts[i].Downloaded)
	}
	return d
}

// copyOf returns a deep copy of a stored delivery.
func copyOf(d *export.Delivery) export.Delivery {
	out := *d
	out.Parts = slices.Clone(d.Parts)
	for i := range out.Parts {
		out.Parts[i].TokenHash = bytes.Clone(out.Parts[i].TokenHash)
	}
	return out
}

// Get implements export.Store.
func (s *Store) Get(ctx context.Context, id string) (export.Delivery, error) {
	const op = "get"
	if err := check(op, ctx); err != nil {
		return export.Delivery{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byID[id]
	if !ok {
		return export.Delivery{}, errorf(op, export.ErrNotFound, "no delivery of that ID")
	}
	return copyOf(d), nil
}

// Claim implements export.Store. It compares tokenHash with every stored
// part's hash, with crypto/subtle.ConstantTimeCompare, and does not stop
// at a match: its time depends on the number of parts stored, not on
// which of them, if any, matches. A tokenHash that is not 32 bytes
// matches nothing.
func (s *Store) Claim(ctx context.Context, tokenHash []byte, now time.Time) (export.Delivery, int, error) {
	const op = "claim"
	if err := check(op, ctx); err != nil {
		return export.Delivery{}, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *export.Delivery
	idx := -1
	if len(tokenHash) == 32 {
		for _, d := range s.byID {
			for i := range d.Parts {
				if subtle.ConstantTimeCompare(d.Parts[i].TokenHash, tokenHash) == 1 {
					found, idx = d, i
				}
			}
		}
	}
	// One error for an unknown, a used and an expired token alike.
	if found == nil || !found.Parts[idx].Downloaded.IsZero() || !found.Expires.After(now) {
		return export.Delivery{}, 0, errorf(op, export.ErrNotFound, "no part to download for this token")
	}
	found.Parts[idx].Downloaded = norm(now)
	return copyOf(found), idx, nil
}

// List implements export.Store: it scans every delivery and sorts what it
// keeps, O(n log n) in the number stored.
func (s *Store) List(ctx context.Context, f export.DeliveryFilter) ([]export.Delivery, error) {
	const op = "list"
	if err := check(op, ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []*export.Delivery
	for _, d := range s.byID {
		if matches(d, &f) {
			keep = append(keep, d)
		}
	}
	slices.SortFunc(keep, func(a, b *export.Delivery) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	keep = keep[:min(len(keep), export.PageSize(f.Limit))]
	out := make([]export.Delivery, len(keep))
	for i, d := range keep {
		out[i] = copyOf(d)
	}
	return out, nil
}

func matches(d *export.Delivery, f *export.DeliveryFilter) bool {
	if f.Request != "" && d.Request != f.Request {
		return false
	}
	if f.Subject != "" && d.Subject != f.Subject {
		return false
	}
	if !f.Finished.IsZero() && d.Expires.After(f.Finished) {
		for _, p := range d.Parts {
			if p.Downloaded.IsZero() || p.Downloaded.After(f.Finished) {
				return false
			}
		}
	}
	return true
}

// Delete implements export.Store. The parts' token hashes are
// overwritten with zeros.
func (s *Store) Delete(ctx context.Context, id string) error {
	const op = "delete"
	if err := check(op, ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byID[id]
	if !ok {
		return nil
	}
	for _, p := range d.Parts {
		delete(s.hashes, string(p.TokenHash))
		clear(p.TokenHash)
	}
	delete(s.byID, id)
	return nil
}

// norm returns t as the Store keeps it: to the microsecond, in UTC; the
// zero time stays zero.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// check refuses a nil context, and returns ctx.Err() for a done one.
func check(op string, ctx context.Context) error {
	if ctx == nil {
		return &export.Error{Op: op, Field: "ctx", Err: fmt.Errorf("memexport: %w: nil context", export.ErrInvalid)}
	}
	if err := ctx.Err(); err != nil {
		return &export.Error{Op: op, Err: err}
	}
	return nil
}

// errorf is the error of op: sentinel with a fixed detail that names no
// subject, token hash or ID.
func errorf(op string, sentinel error, detail string) error {
	return &export.Error{Op: op, Err: fmt.Errorf("memexport: %w: %s", sentinel, detail)}
}

// fieldErr is the error of op about an input field: export.ErrInvalid.
func fieldErr(op, field, detail string) error {
	return &export.Error{Op: op, Field: field, Err: fmt.Errorf("memexport: %w: %s", export.ErrInvalid, detail)}
}
