package exporttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/internal/suite"
)

// RunBlobsTests runs the conformance suite of export.Blobs against the
// blob stores newBlobs makes, one subtest per behaviour (see the
// package documentation for the list). newBlobs is called once per
// subtest with that subtest's t and returns a fresh, empty store that no
// other subtest uses, registering any cleanup with t.Cleanup:
//
//	exporttest.RunBlobsTests(t, func(t *testing.T) export.Blobs {
//		b, err := export.DirBlobs(t.TempDir())
//		if err != nil {
//			t.Fatal(err)
//		}
//		return b
//	})
func RunBlobsTests(t *testing.T, newBlobs func(t *testing.T) export.Blobs) {
	tests := []suite.Test[export.Blobs]{
		{"RoundTrip", suite.One(testBlobRoundTrip)},
		{"Empty", suite.One(testBlobEmpty)},
		{"NotThereBeforeClose", suite.One(testBlobNotBeforeClose)},
		{"WriteDoesNotRetainBuffer", suite.One(testBlobWriteCopies)},
		{"OpenUnknown", suite.One(testBlobOpenUnknown)},
		{"Remove", suite.One(testBlobRemove)},
		{"RemoveAbandoned", suite.One(testBlobRemoveAbandoned)},
		{"CreateReplaces", suite.One(testBlobReplace)},
		{"Names", suite.One(testBlobNames)},
		{"NamesOutsideTheAlphabet", suite.One(testBlobBadNames)},
		{"CanceledContext", suite.One(testBlobCanceled)},
		{"ConcurrentBlobs", suite.One(testBlobConcurrent)},
		{"ConcurrentReaders", suite.One(testBlobReaders)},
	}
	suite.Run(t, "export.Blobs", func(t *testing.T) (b, other export.Blobs) {
		b = newBlobs(t)
		return b, b
	}, tests)
}

const blobContract = "a blob exists once Close returns nil, with the bytes written"

// payload returns n pseudo-random bytes of seed.
func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// writeBlob writes data to a new blob name in chunks of varying sizes.
func writeBlob(t *testing.T, b export.Blobs, name string, data []byte) {
	t.Helper()
	w, err := b.Create(t.Context(), name)
	if err != nil {
		t.Fatalf("Create(%q): %v; want a writer", name, err)
	}
	for off, step := 0, 1; off < len(data); step = step*3 + 1 {
		end := min(off+step, len(data))
		n, err := w.Write(data[off:end])
		if err != nil || n != end-off {
			t.Fatalf("Write of %d bytes: %d, %v; want all written", end-off, n, err)
		}
		off = end
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close of blob %q: %v; want nil", name, err)
	}
}

func readBlob(t *testing.T, b export.Blobs, name string) ([]byte, error) {
	t.Helper()
	r, err := b.Open(t.Context(), name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading blob %q: %v", name, err)
	}
	return data, nil
}

func wantBlob(t *testing.T, b export.Blobs, call, name string, want []byte) {
	t.Helper()
	got, err := readBlob(t, b, name)
	if err != nil {
		t.Errorf("%s: Open(%q): %v; want the blob (%s)", call, name, err, blobContract)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: blob %q holds %d bytes that differ from the %d written (%s)", call, name, len(got), len(want), blobContract)
	}
}

func wantNoBlob(t *testing.T, b export.Blobs, call, name string) {
	t.Helper()
	if _, err := readBlob(t, b, name); !isNotFound(err) {
		t.Errorf("%s: Open(%q) = %v; want an error wrapping export.ErrNotFound and gdpr.ErrNotFound", call, name, err)
	}
}

func testBlobRoundTrip(t *testing.T, b export.Blobs) {
	data := payload(1, 1<<20+7)
	writeBlob(t, b, "part-0", data)
	wantBlob(t, b, "Open after Close", "part-0", data)
	wantBlob(t, b, "a second Open", "part-0", data)
	small := payload(2, 10)
	writeBlob(t, b, "part-1", small)
	wantBlob(t, b, "Open of another blob", "part-1", small)
	wantBlob(t, b, "Open of the first blob after another was written", "part-0", data)
}

func testBlobEmpty(t *testing.T, b export.Blobs) {
	writeBlob(t, b, "empty", nil)
	wantBlob(t, b, "Open of a blob closed with nothing written", "empty", []byte{})
}

func testBlobNotBeforeClose(t *testing.T, b export.Blobs) {
	w, err := b.Create(t.Context(), "pending")
	if err != nil {
		t.Fatal(err)
	}
	data := payload(3, 4096)
	if _, err := w.Write(data[:2048]); err != nil {
		t.Fatal(err)
	}
	wantNoBlob(t, b, "Open of a blob being written, before Close (it exists only once Close returns nil)", "pending")
	if _, err := w.Write(data[2048:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantBlob(t, b, "Open after Close", "pending", data)
}

func testBlobWriteCopies(t *testing.T, b export.Blobs) {
	buf := payload(4, 512)
	want := bytes.Clone(buf)
	w, err := b.Create(t.Context(), "copied")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 0
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantBlob(t, b, "Open after the caller reused its buffer (io.Writer: Write must not retain p)", "copied", want)
}

func testBlobOpenUnknown(t *testing.T, b export.Blobs) {
	wantNoBlob(t, b, "a name never created", "never")
	writeBlob(t, b, "there", []byte("x"))
	wantNoBlob(t, b, "a name never created, beside a blob", "there-not")
}

func testBlobRemove(t *testing.T, b export.Blobs) {
	ctx := t.Context()
	writeBlob(t, b, "doomed", payload(5, 100))
	writeBlob(t, b, "kept", payload(6, 100))
	if err := b.Remove(ctx, "doomed"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	wantNoBlob(t, b, "Open after Remove", "doomed")
	wantBlob(t, b, "Open of another blob after a Remove", "kept", payload(6, 100))
	if err := b.Remove(ctx, "doomed"); err != nil {
		t.Errorf("Remove of a blob removed already: %v; want nil (removing one that does not exist succeeds)", err)
	}
	if err := b.Remove(ctx, "never"); err != nil {
		t.Errorf("Remove of a name never created: %v; want nil", err)
	}
	writeBlob(t, b, "doomed", payload(7, 10))
	wantBlob(t, b, "Open of a name created again after Remove", "doomed", payload(7, 10))
}

func testBlobRemoveAbandoned(t *testing.T, b export.Blobs) {
	ctx := t.Context()
	w, err := b.Create(ctx, "abandoned")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload(8, 1000)); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(ctx, "abandoned"); err != nil {
		t.Fatalf("Remove of a blob being written (abandoned): %v; want nil (a failed or abandoned blob is removed by Remove)", err)
	}
	wantNoBlob(t, b, "Open after Remove of an abandoned blob", "abandoned")
	again := payload(9, 300)
	writeBlob(t, b, "abandoned", again)
	wantBlob(t, b, "Open of the name written again after its abandoned blob was removed", "abandoned", again)
	// The abandoned writer is done with: whatever its Close says, it
	// brings back nothing that was removed.
	w.Close()
	wantBlob(t, b, "Open after the removed, abandoned writer was closed late", "abandoned", again)
	if err := b.Remove(ctx, "abandoned"); err != nil {
		t.Fatal(err)
	}
	w2, err := b.Create(ctx, "failed")
	if err != nil {
		t.Fatal(err)
	}
	w2.Write(payload(10, 10))
	if err := b.Remove(ctx, "failed"); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	wantNoBlob(t, b, "Open after a removed, abandoned writer was closed late", "failed")
}

func testBlobReplace(t *testing.T, b export.Blobs) {
	writeBlob(t, b, "twice", payload(11, 2000))
	writeBlob(t, b, "twice", payload(12, 50))
	wantBlob(t, b, "Open after a second Create and Close of one name (the second replaces the first)", "twice", payload(12, 50))
}

func testBlobNames(t *testing.T, b export.Blobs) {
	for i, name := range []string{"0", "-", "a", strings.Repeat("z", 128), "0195a1b2-0000-7000-8000-000000000001-0", "--x--"} {
		data := payload(uint64(20+i), 10+i)
		writeBlob(t, b, name, data)
		wantBlob(t, b, "a name of [a-z0-9-]", name, data)
	}
}

func testBlobBadNames(t *testing.T, b export.Blobs) {
	ctx := t.Context()
	writeBlob(t, b, "real", []byte("x"))
	for _, name := range []string{
		"", "A", "Real", "a/b", "../real", "./real", "/etc/passwd", ".", "..", "a.b", ".real.part", "a b", "a\x00",
		"a\\b", "é", strings.Repeat("z", 129), "real\n",
	} {
		if w, err := b.Create(ctx, name); !isInvalid(err) {
			t.Errorf("Create(%q): %v; want an error wrapping export.ErrInvalid (names are keys of [a-z0-9-])", name, err)
			if err == nil {
				w.Close()
				b.Remove(ctx, name)
			}
		}
		if r, err := b.Open(ctx, name); !isInvalid(err) {
			t.Errorf("Open(%q): %v; want an error wrapping export.ErrInvalid", name, err)
			if err == nil {
				r.Close()
			}
		}
		if err := b.Remove(ctx, name); !isInvalid(err) {
			t.Errorf("Remove(%q): %v; want an error wrapping export.ErrInvalid", name, err)
		}
	}
	wantBlob(t, b, "Open after refused names", "real", []byte("x"))
}

func testBlobCanceled(t *testing.T, b export.Blobs) {
	writeBlob(t, b, "kept", []byte("kept"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w, errCreate := b.Create(ctx, "fresh")
	if errCreate == nil {
		w.Close()
	}
	r, errOpen := b.Open(ctx, "kept")
	if errOpen == nil {
		r.Close()
	}
	errRemove := b.Remove(ctx, "kept")
	for name, err := range map[string]error{"Create": errCreate, "Open": errOpen, "Remove": errRemove} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v; want an error wrapping context.Canceled", name, err)
		}
	}
	wantNoBlob(t, b, "Open of a blob whose Create had a canceled context", "fresh")
	wantBlob(t, b, "Open of a blob after a Remove with a canceled context", "kept", []byte("kept"))
}

func testBlobConcurrent(t *testing.T, b export.Blobs) {
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[g] = func() error {
				ctx := t.Context()
				name := fmt.Sprintf("blob-%02d", g)
				data := payload(uint64(100+g), 64<<10+g)
				w, err := b.Create(ctx, name)
				if err != nil {
					return err
				}
				for off := 0; off < len(data); off += 1000 {
					if _, err := w.Write(data[off:min(off+1000, len(data))]); err != nil {
						return err
					}
				}
				if err := w.Close(); err != nil {
					return err
				}
				r, err := b.Open(ctx, name)
				if err != nil {
					return err
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil {
					return err
				}
				if !bytes.Equal(got, data) {
					return fmt.Errorf("blob %s read back %d bytes that differ from the %d written", name, len(got), len(data))
				}
				if g%2 == 0 {
					return b.Remove(ctx, name)
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d writing, reading and removing its own blob beside %d others: %v; every method may be called concurrently", g, n-1, err)
		}
	}
	for g := range n {
		name := fmt.Sprintf("blob-%02d", g)
		if g%2 == 0 {
			wantNoBlob(t, b, "after the concurrent run", name)
		} else {
			wantBlob(t, b, "after the concurrent run", name, payload(uint64(100+g), 64<<10+g))
		}
	}
}

func testBlobReaders(t *testing.T, b export.Blobs) {
	data := payload(200, 256<<10)
	writeBlob(t, b, "shared", data)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for g := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := b.Open(t.Context(), "shared")
			if err != nil {
				errs[g] = err
				return
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("read %d bytes that differ from the %d written", len(got), len(data))
			}
			errs[g] = err
		}()
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("concurrent reader %d of one blob: %v", g, err)
		}
	}
}
