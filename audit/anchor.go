package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Anchor keeps copies of signed checkpoints somewhere an attacker with
// access to the log's database cannot reach: another host's file system, a
// write-once bucket, a transparency witness, a ticket in another system.
// A checkpoint held there is what makes a rewritten or truncated log
// detectable: the log can no longer prove that it extends it.
//
// Implementations must be safe for concurrent use by many goroutines.
// FileAnchor ships with this package.
type Anchor interface {
	// Publish stores the signed checkpoint c.Note. Publishing a checkpoint
	// that is already stored succeeds; publishing a different checkpoint
	// of a size already stored fails with an error wrapping ErrTampered.
	Publish(ctx context.Context, c Checkpoint) error
	// Latest returns the stored checkpoint note with the greatest size,
	// or an error wrapping ErrNotFound if there is none.
	Latest(ctx context.Context) ([]byte, error)
}

// FileAnchor is an Anchor that writes each checkpoint to its own file in
// Dir, named by its size (00000000000000001234.checkpoint), durably: the
// file is written under a temporary name, synced, then linked in place, and
// the directory synced. Several processes can share Dir. Mount Dir from
// storage the database's administrators cannot write, or copy it there.
type FileAnchor struct {
	// Dir is the directory; it must exist, and must be set: an empty
	// Dir is refused (by WithAnchor and by every method), not read as
	// the working or the temporary directory.
	Dir string
	// Keep is how many of the newest checkpoints to keep; older files are
	// deleted after each Publish. Zero keeps them all; a negative Keep is
	// refused.
	Keep int
}

const anchorExt = ".checkpoint"

// Publish writes c.Note to Dir, unless a file for its size exists: then it
// succeeds if that file holds the same note, and fails with an error
// wrapping ErrTampered if not. Its errors are *Error with Op "anchor
// publish"; a nil ctx, an unsigned checkpoint and an empty Dir are refused
// with ErrInvalid.
func (a *FileAnchor) Publish(ctx context.Context, c Checkpoint) error {
	return wrap("anchor publish", a.publish(ctx, c))
}

func (a *FileAnchor) publish(ctx context.Context, c Checkpoint) error {
	if ctx == nil {
		return &Error{Field: "ctx", Err: errNilContext}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if field, err := a.check(); err != nil {
		return &Error{Field: field, Err: err}
	}
	if len(c.Note) == 0 {
		return invalid("Note", "an unsigned checkpoint")
	}
	name := filepath.Join(a.Dir, fmt.Sprintf("%020d%s", c.Size, anchorExt))
	tmp, err := os.CreateTemp(a.Dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(c.Note)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// Link, unlike Rename, never replaces a file another process wrote.
	if err := os.Link(tmp.Name(), name); errors.Is(err, fs.ErrExist) {
		// The same checkpoint again is fine; another one of the same
		// size is a fork of the log, shown to two parties.
		prev, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if !bytes.Equal(prev, c.Note) {
			return fmt.Errorf("%w: another checkpoint of size %d is anchored already", ErrTampered, c.Size)
		}
	} else if err != nil {
		return err
	}
	if err := syncDir(a.Dir); err != nil {
		return err
	}
	if a.Keep > 0 {
		names, err := a.list()
		if err != nil {
			return err
		}
		for _, n := range names[:max(0, len(names)-a.Keep)] {
			os.Remove(filepath.Join(a.Dir, n))
		}
	}
	return nil
}

// Latest returns the checkpoint file with the greatest size, or an error
// wrapping ErrNotFound if Dir holds none. Its errors are *Error with Op
// "anchor latest"; a nil ctx and an empty Dir are refused with ErrInvalid.
func (a *FileAnchor) Latest(ctx context.Context) ([]byte, error) {
	b, err := a.latest(ctx)
	return b, wrap("anchor latest", err)
}

func (a *FileAnchor) latest(ctx context.Context) ([]byte, error) {
	if ctx == nil {
		return nil, &Error{Field: "ctx", Err: errNilContext}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if field, err := a.check(); err != nil {
		return nil, &Error{Field: field, Err: err}
	}
	names, err := a.list()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: no anchored checkpoint", ErrNotFound)
	}
	b, err := os.ReadFile(filepath.Join(a.Dir, names[len(names)-1]))
	if errors.Is(err, fs.ErrNotExist) {
		// Pruned by another process between the listing and the read:
		// a newer one exists now.
		return a.latest(ctx)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

// check reports whether a is usable (not nil, a Dir, a Keep of 0 or
// more), and if not, the field at fault.
func (a *FileAnchor) check() (field string, err error) {
	switch {
	case a == nil:
		return "FileAnchor", fmt.Errorf("%w: nil FileAnchor", ErrInvalid)
	case a.Dir == "":
		return "Dir", fmt.Errorf("%w: a FileAnchor needs a Dir", ErrInvalid)
	case a.Keep < 0:
		return "Keep", fmt.Errorf("%w: a FileAnchor's Keep is 0 or more", ErrInvalid)
	}
	return "", nil
}

// list returns the checkpoint files in increasing size order (their names
// have a fixed width).
func (a *FileAnchor) list() ([]string, error) {
	ents, err := os.ReadDir(a.Dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); len(n) == 20+len(anchorExt) && strings.HasSuffix(n, anchorExt) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
