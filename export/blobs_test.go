package export_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/exporttest"
)

func newDirBlobs(t *testing.T) (export.Blobs, string) {
	t.Helper()
	dir := t.TempDir()
	b, err := export.DirBlobs(dir)
	if err != nil {
		t.Fatalf("DirBlobs: %v", err)
	}
	return b, dir
}

func TestDirBlobs(t *testing.T) {
	exporttest.RunBlobsTests(t, func(t *testing.T) export.Blobs {
		b, _ := newDirBlobs(t)
		return b
	})
}

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestDirBlobsFiles: a blob is a file of its name, 0600, and the
// temporary file is gone once it is closed or removed.
func TestDirBlobsFiles(t *testing.T) {
	b, dir := newDirBlobs(t)
	ctx := t.Context()
	w, err := b.Create(ctx, "part-1")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "hello")
	if got := entries(t, dir); len(got) != 1 || got[0] != ".part-1.part" {
		t.Errorf("while written, the directory holds %v; want the temporary file .part-1.part only", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); len(got) != 1 || got[0] != "part-1" {
		t.Errorf("after Close, the directory holds %v; want part-1 only", got)
	}
	data, err := os.ReadFile(filepath.Join(dir, "part-1"))
	if err != nil || string(data) != "hello" {
		t.Fatalf("the blob's file: %q, %v", data, err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(filepath.Join(dir, "part-1"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("the blob's file has mode %v; want 0600 (no access for group or others)", fi.Mode().Perm())
		}
	}

	// Abandoned: Remove takes the temporary file.
	w, err = b.Create(ctx, "part-2")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "half")
	if err := b.Remove(ctx, "part-2"); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); len(got) != 1 || got[0] != "part-1" {
		t.Errorf("after Remove of an abandoned blob, the directory holds %v; want part-1 only", got)
	}
	if err := w.Close(); !errors.Is(err, export.ErrNotFound) {
		t.Errorf("Close of a writer whose blob was removed: %v; want ErrNotFound", err)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("after the late Close, the directory holds %v; want part-1 only", got)
	}

	// Failed: a Close after the context ended removes its file.
	cctx, cancel := context.WithCancel(ctx)
	w, err = b.Create(cctx, "part-3")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "never")
	cancel()
	if _, err := io.WriteString(w, "more"); !errors.Is(err, context.Canceled) {
		t.Errorf("Write after the context ended: %v; want context.Canceled", err)
	}
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after the context ended: %v; want context.Canceled", err)
	}
	if got := entries(t, dir); len(got) != 1 {
		t.Errorf("after a Close that failed, the directory holds %v; want part-1 only", got)
	}
	if err := w.Close(); err == nil {
		t.Error("a second Close succeeded")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after Close succeeded")
	}
}

// TestDirBlobsOneWriter: a second Create of a name being written is
// ErrConflict; the first writer's blob is unharmed.
func TestDirBlobsOneWriter(t *testing.T) {
	b, _ := newDirBlobs(t)
	ctx := t.Context()
	w, err := b.Create(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, "x"); !errors.Is(err, export.ErrConflict) || !errors.Is(err, gdpr.ErrConflict) {
		t.Errorf("a second Create of a blob being written: %v; want ErrConflict", err)
	}
	io.WriteString(w, "first")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := b.Open(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); string(got) != "first" {
		t.Errorf("blob %q", got)
	}
}

// TestDirBlobsStaysInside: a symbolic link planted in the directory does
// not lead Open, Create or Remove outside it.
func TestDirBlobsStaysInside(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	b, dir := newDirBlobs(t)
	ctx := t.Context()
	outside := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(outside, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	if r, err := b.Open(ctx, "link"); err == nil {
		data, _ := io.ReadAll(r)
		r.Close()
		t.Errorf("Open of a link to a file outside the directory read %q; want an error", data)
	}
	if err := b.Remove(ctx, "link"); err != nil {
		t.Fatalf("Remove of the link: %v", err)
	}
	if data, err := os.ReadFile(outside); err != nil || string(data) != "outside" {
		t.Errorf("Remove of a link removed or changed its target: %q, %v", data, err)
	}
	// A temporary file planted as a link outside: Create refuses it
	// (it exists) and writes nothing there.
	if err := os.Symlink(outside, filepath.Join(dir, ".planted.part")); err != nil {
		t.Fatal(err)
	}
	if w, err := b.Create(ctx, "planted"); err == nil {
		io.WriteString(w, "overwritten")
		w.Close()
	}
	if data, err := os.ReadFile(outside); err != nil || string(data) != "outside" {
		t.Errorf("Create over a planted link wrote outside the directory: %q, %v", data, err)
	}
}

func TestDirBlobsDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"missing": filepath.Join(t.TempDir(), "missing"), "a file": file, "empty": ""} {
		_, err := export.DirBlobs(dir)
		var ee *export.Error
		if !errors.Is(err, export.ErrInvalid) || !errors.Is(err, gdpr.ErrInvalid) || !errors.As(err, &ee) || ee.Field != "dir" {
			t.Errorf("DirBlobs of %s: %v; want an *export.Error for dir wrapping ErrInvalid", name, err)
		}
		if err != nil && dir != "" && strings.Contains(err.Error(), dir) {
			t.Errorf("the error %q names the directory", err)
		}
	}
}

// TestDirBlobsErrors: errors name no blob and no path; a nil context is
// ErrInvalid.
func TestDirBlobsErrors(t *testing.T) {
	b, dir := newDirBlobs(t)
	ctx := t.Context()
	w, _ := b.Create(ctx, "busy-blob")
	defer w.Close()
	_, e1 := b.Open(ctx, "missing-blob")
	_, e2 := b.Create(ctx, "busy-blob")
	_, e3 := b.Create(ctx, "Bad/Name")
	for _, err := range []error{e1, e2, e3} {
		if err == nil {
			t.Fatal("a call succeeded")
		}
		for _, s := range []string{"missing-blob", "busy-blob", "Bad/Name", dir} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("the error %q names %q", err, s)
			}
		}
	}
	var nilCtx context.Context
	_, e4 := b.Create(nilCtx, "a")
	_, e5 := b.Open(nilCtx, "a")
	e6 := b.Remove(nilCtx, "a")
	for _, err := range []error{e4, e5, e6} {
		var ee *export.Error
		if !errors.As(err, &ee) || ee.Field != "ctx" || !errors.Is(err, export.ErrInvalid) {
			t.Errorf("a nil context: %v; want an *export.Error for ctx wrapping ErrInvalid", err)
		}
	}
}
