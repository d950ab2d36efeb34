package export

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"runtime"
	"sync"
)

// dirNamePattern is the shape of a blob name DirBlobs accepts.
const dirNamePattern = "^[a-z0-9-]{1,128}$"

// DirBlobs returns Blobs that keep each blob as a file of its name in
// dir, a directory that must exist. Every access goes through an
// os.Root on dir, so no name, and no symbolic link planted in dir, can
// reach a file outside it; and a name must match ^[a-z0-9-]{1,128}$
// (the names the Deliverer makes), anything else is ErrInvalid.
//
// Create writes to a temporary file in dir, .<name>.part, created 0600
// (less the umask) and never shared with another writer: a second
// Create of a name whose blob is still being written is ErrConflict. Close
// syncs the file to disk, renames it to the blob's name and syncs the
// directory, so a blob exists only whole, after a crash too; a Create of
// a name that exists already replaces it on Close, atomically. A writer
// refuses to write or close once the context given to Create is done, and
// a failed Close removes the temporary file. Remove(name) removes the
// temporary file as well as the blob: it is how a failed or abandoned
// blob is cleaned up, and a writer still open when its name is removed
// fails on Close. A temporary file left behind by a crash stays until
// Remove of its name; its name starts with a dot, which no blob's does.
//
// Open returns the file, or ErrNotFound; a reader keeps reading the blob
// it opened even if the blob is removed or replaced meanwhile (on
// Unix). The returned Blobs keep dir open for as long as they are
// reachable, and are safe for concurrent use. Errors name no blob and no
// path: a *Error whose Op is "create blob", "write blob", "close blob",
// "open blob" or "remove blob", wrapping ErrInvalid, ErrNotFound,
// ErrConflict, the context's error or the operating system's (without
// its path).
func DirBlobs(dir string) (Blobs, error) {
	const op = "dir blobs"
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, &Error{Op: op, Field: "dir", Err: because(ErrInvalid, "the directory does not exist", nil)}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &Error{Op: op, Field: "dir", Err: pathless(err)}
	}
	return &dirBlobs{root: root}, nil
}

type dirBlobs struct {
	root *os.Root
}

// dirTemp is the temporary file of the blob name while it is written.
func dirTemp(name string) string { return "." + name + ".part" }

// dirCheck checks a call's context and blob name.
func dirCheck(op string, ctx context.Context, name string) error {
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &Error{Op: op, Err: err}
	}
	if !ValidBlobName(name) {
		return &Error{Op: op, Field: "name", Err: because(ErrInvalid, "a blob name must match "+dirNamePattern, nil)}
	}
	return nil
}

// pathless returns err without the path an *fs.PathError or
// *os.LinkError carries: the blob name, and the host's directory.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

func (b *dirBlobs) Create(ctx context.Context, name string) (io.WriteCloser, error) {
	const op = "create blob"
	if err := dirCheck(op, ctx, name); err != nil {
		return nil, err
	}
	tmp := dirTemp(name)
	f, err := b.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, &Error{Op: op, Err: because(ErrConflict, "the blob is being written by another writer, or a write of it was abandoned", nil)}
	}
	if err != nil {
		return nil, &Error{Op: op, Err: pathless(err)}
	}
	return &dirWriter{ctx: ctx, b: b, f: f, name: name, tmp: tmp}, nil
}

// dirWriter writes one blob. Like an *os.File, it is not for concurrent
// Writes; Close may be called once.
type dirWriter struct {
	ctx       context.Context
	b         *dirBlobs
	mu        sync.Mutex
	f         *os.File
	name, tmp string
	closed    bool
}

var (
	errBlobClosed = errors.New("the blob writer is closed")
	errRemoved    = because(ErrNotFound, "the blob was removed before Close", nil)
)

func (w *dirWriter) Write(p []byte) (int, error) {
	const op = "write blob"
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, &Error{Op: op, Err: errBlobClosed}
	}
	if err := w.ctx.Err(); err != nil {
		return 0, &Error{Op: op, Err: err}
	}
	n, err := w.f.Write(p)
	if err != nil {
		return n, &Error{Op: op, Err: pathless(err)}
	}
	return n, nil
}

func (w *dirWriter) Close() error {
	const op = "close blob"
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return &Error{Op: op, Err: errBlobClosed}
	}
	w.closed = true
	err := w.ctx.Err()
	if err == nil {
		err = w.f.Sync()
	}
	var mine fs.FileInfo
	if err == nil {
		mine, err = w.f.Stat()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The temporary file must still be this writer's: not removed,
		// nor removed and made again by a later Create of the name.
		if cur, serr := w.b.root.Lstat(w.tmp); serr != nil || !os.SameFile(mine, cur) {
			err = errRemoved
		}
	}
	if err == nil {
		err = w.b.root.Rename(w.tmp, w.name)
		if errors.Is(err, fs.ErrNotExist) {
			err = errRemoved
		}
	}
	if errors.Is(err, errRemoved) {
		// Not this writer's file to remove.
		return &Error{Op: op, Err: err}
	}
	if err == nil {
		err = w.b.syncDir()
	}
	if err != nil {
		w.b.root.Remove(w.tmp)
		return &Error{Op: op, Err: pathless(err)}
	}
	return nil
}

// syncDir makes the directory's entries durable (a rename, a removal).
// Where a directory cannot be opened for syncing (Windows), it does
// nothing.
func (b *dirBlobs) syncDir() error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := b.root.Open(".")
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

func (b *dirBlobs) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	const op = "open blob"
	if err := dirCheck(op, ctx, name); err != nil {
		return nil, err
	}
	f, err := b.root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{Op: op, Err: ErrNotFound}
	}
	if err != nil {
		return nil, &Error{Op: op, Err: pathless(err)}
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, &Error{Op: op, Err: pathless(err)}
		}
		return nil, &Error{Op: op, Err: ErrNotFound}
	}
	return f, nil
}

func (b *dirBlobs) Remove(ctx context.Context, name string) error {
	const op = "remove blob"
	if err := dirCheck(op, ctx, name); err != nil {
		return err
	}
	// The temporary file first: a writer renaming it in between has
	// then made the blob, which the second Remove takes.
	for _, n := range []string{dirTemp(name), name} {
		if err := b.root.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return &Error{Op: op, Err: pathless(err)}
		}
	}
	return nil
}
