package memexport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/gdprkit/gdpr/export"
)

// Blobs is an in-memory export.Blobs, behaving as export.DirBlobs does:
// names must match ^[a-z0-9-]{1,128}$ (anything else is
// export.ErrInvalid); a blob exists only once its writer's Close returns
// nil, and replaces one of its name then; a second Create of a name
// whose blob is still being written is export.ErrConflict; Remove
// removes a blob being written too, and that writer's Close then fails
// with export.ErrNotFound; a writer whose Create context is done
// refuses to write or close. The zero value is not usable; call
// NewBlobs. It is safe for concurrent use by many goroutines.
type Blobs struct {
	mu      sync.Mutex
	blobs   map[string][]byte      // never changed once stored
	pending map[string]*blobWriter // writers not yet closed, by name
}

var _ export.Blobs = (*Blobs)(nil)

// NewBlobs returns an empty Blobs.
func NewBlobs() *Blobs {
	return &Blobs{blobs: make(map[string][]byte), pending: make(map[string]*blobWriter)}
}

// Format implements fmt.Formatter: every verb prints "memexport.Blobs"
// (%#v "&memexport.Blobs{…}"), never a blob's bytes or name.
func (b *Blobs) Format(f fmt.State, verb rune) { format(f, verb, "Blobs") }

// GoString returns "&memexport.Blobs{…}", for %#v.
func (b *Blobs) GoString() string { return "&memexport.Blobs{…}" }

// Len returns the number of blobs stored, not counting those being
// written: for tests that check nothing is left behind.
func (b *Blobs) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.blobs)
}

// Pending returns the number of blobs being written: created, neither
// closed nor removed.
func (b *Blobs) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

func checkName(op string, ctx context.Context, name string) error {
	if err := check(op, ctx); err != nil {
		return err
	}
	if !export.ValidBlobName(name) {
		return fieldErr(op, "name", "a blob name must match ^[a-z0-9-]{1,128}$")
	}
	return nil
}

// Create implements export.Blobs.
func (b *Blobs) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	const op = "create blob"
	if err := checkName(op, ctx, name); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.pending[name]; ok {
		return nil, errorf(op, export.ErrConflict, "the blob is being written by another writer")
	}
	w := &blobWriter{ctx: ctx, b: b, name: name}
	b.pending[name] = w
	return w, nil
}

type blobWriter struct {
	ctx    context.Context
	b      *Blobs
	name   string
	mu     sync.Mutex
	buf    bytes.Buffer
	closed bool
}

var errClosed = errors.New("memexport: the blob writer is closed")

func (w *blobWriter) Write(p []byte) (int, error) {
	const op = "write blob"
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, &export.Error{Op: op, Err: errClosed}
	}
	if err := w.ctx.Err(); err != nil {
		return 0, &export.Error{Op: op, Err: err}
	}
	return w.buf.Write(p)
}

func (w *blobWriter) Close() error {
	const op = "close blob"
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return &export.Error{Op: op, Err: errClosed}
	}
	w.closed = true
	b := w.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pending[w.name] != w {
		return errorf(op, export.ErrNotFound, "the blob was removed before Close")
	}
	delete(b.pending, w.name)
	if err := w.ctx.Err(); err != nil {
		return &export.Error{Op: op, Err: err}
	}
	b.blobs[w.name] = bytes.Clone(w.buf.Bytes())
	w.buf = bytes.Buffer{}
	return nil
}

// Open implements export.Blobs. The reader reads the blob as it was when
// opened, whatever Remove or Create do meanwhile.
func (b *Blobs) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	const op = "open blob"
	if err := checkName(op, ctx, name); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	data, ok := b.blobs[name]
	if !ok {
		return nil, errorf(op, export.ErrNotFound, "no blob of that name")
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// Remove implements export.Blobs.
func (b *Blobs) Remove(ctx context.Context, name string) error {
	const op = "remove blob"
	if err := checkName(op, ctx, name); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.blobs, name)
	delete(b.pending, name)
	return nil
}
