package export

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Bundle is a bundle opened by Open or OpenParts: its signature, its
// manifest, every file's size and hash and the parts' have been checked.
// Its methods read the files again, and check them again as they go. It
// is safe for concurrent use if its parts' ReaderAts are.
type Bundle struct {
	m     *Manifest
	parts []*zip.Reader
	files map[string]*zip.File // by part/path
	cfg   readConfig
}

// Part is one part of a bundle to open: its bytes and their length.
type Part struct {
	R    io.ReaderAt
	Size int64
}

// ReadOption configures Open and OpenParts.
type ReadOption interface{ applyRead(*readConfig) error }

type readOption struct {
	name string
	fn   func(*readConfig) error
}

func (o readOption) applyRead(c *readConfig) error {
	if err := o.fn(c); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

type readConfig struct {
	keys      []ed25519.PublicKey
	maxSize   int64
	maxRatio  int64
	maxFiles  int
	maxRecord int
}

// WithKeys trusts more keys beside the one Open is given, e.g. a
// controller's previous key after a rotation. A key not 32 bytes long is
// an error.
func WithKeys(keys ...ed25519.PublicKey) ReadOption {
	return readOption{"WithKeys", func(c *readConfig) error {
		for _, k := range keys {
			if len(k) != ed25519.PublicKeySize {
				return because(ErrInvalid, "a key that is not an Ed25519 public key", nil)
			}
			c.keys = append(c.keys, k)
		}
		return nil
	}}
}

// WithMaxSize sets the most uncompressed bytes all the files of a bundle
// may hold together. Default: 16 GiB. Under 1 MiB is an error.
func WithMaxSize(n int64) ReadOption {
	return readOption{"WithMaxSize", func(c *readConfig) error {
		if n < 1<<20 {
			return because(ErrInvalid, "a size limit under 1 MiB", nil)
		}
		c.maxSize = n
		return nil
	}}
}

// WithMaxRatio sets the highest ratio of uncompressed to compressed size
// a file over 1 MiB may have, against decompression bombs. Default: 200
// (deflate's best is about 1032; JSON records compress 5 to 20 times).
// Under 2 is an error.
func WithMaxRatio(r int) ReadOption {
	return readOption{"WithMaxRatio", func(c *readConfig) error {
		if r < 2 {
			return because(ErrInvalid, "a ratio limit under 2", nil)
		}
		c.maxRatio = int64(r)
		return nil
	}}
}

// WithMaxRecord sets the longest record line a data file may hold.
// Default: 64 MiB. Under 1 KiB is an error.
func WithMaxRecord(n int) ReadOption {
	return readOption{"WithMaxRecord", func(c *readConfig) error {
		if n < 1<<10 {
			return because(ErrInvalid, "a record limit under 1 KiB", nil)
		}
		c.maxRecord = n
		return nil
	}}
}

// maxFilesPerPart bounds the entries of one part's archive.
const maxFilesPerPart = 4096

// ratioFloor is the size under which a file's compression ratio is not
// checked: a small file of one repeated byte is no bomb.
const ratioFloor = 1 << 20

// Open opens a bundle of one part, r of size bytes, whose manifest must
// verify under key (or a key of WithKeys). It checks everything a
// receiving controller must before it trusts the bundle (Art. 20(2)):
// the archive is well-formed; it holds manifest.json and every file the
// manifest lists, and nothing else; no path leaves the archive; the
// signature verifies; every file has the size and SHA-256 the manifest
// gives; and no file is over the size or compression ratio limits. Any
// failure is an *Error wrapping ErrBundle (ErrSignature, ErrTooLarge),
// saying what was wrong and never a value.
func Open(r io.ReaderAt, size int64, key ed25519.PublicKey, opts ...ReadOption) (*Bundle, error) {
	return OpenParts([]Part{{r, size}}, key, opts...)
}

// OpenParts opens a bundle of several parts, in order, as Open does one;
// it checks too that each part before the last has the size and SHA-256
// the manifest gives.
func OpenParts(parts []Part, key ed25519.PublicKey, opts ...ReadOption) (*Bundle, error) {
	const op = "open"
	cfg := readConfig{maxSize: 16 << 30, maxRatio: 200, maxFiles: maxFilesPerPart, maxRecord: 64 << 20}
	if len(key) != ed25519.PublicKeySize {
		return nil, &Error{Op: op, Field: "key", Err: because(ErrInvalid, "not an Ed25519 public key", nil)}
	}
	cfg.keys = append(cfg.keys, key)
	for _, o := range opts {
		if o == nil {
			return nil, &Error{Op: op, Err: because(ErrInvalid, "nil option", nil)}
		}
		if err := o.applyRead(&cfg); err != nil {
			return nil, wrap(op, err)
		}
	}
	if len(parts) == 0 || len(parts) > maxParts {
		return nil, &Error{Op: op, Field: "parts", Err: because(ErrInvalid, "no parts, or too many", nil)}
	}
	b, err := openParts(parts, cfg)
	if err != nil {
		return nil, wrap(op, err)
	}
	return b, nil
}

func openParts(parts []Part, cfg readConfig) (*Bundle, error) {
	b := &Bundle{files: map[string]*zip.File{}, cfg: cfg}
	var manifest *zip.File
	var total int64
	for i, p := range parts {
		n := i + 1
		where := "part " + strconv.Itoa(n)
		if p.R == nil || p.Size <= 0 {
			return nil, bundleErr(where, "empty")
		}
		zr, err := zip.NewReader(p.R, p.Size)
		if err != nil {
			if errors.Is(err, zip.ErrInsecurePath) {
				return nil, bundleErr(where, "a path that leaves the archive")
			}
			return nil, bundleErr(where, "not a ZIP archive")
		}
		if len(zr.File) > cfg.maxFiles {
			return nil, errs.At(where, because(ErrTooLarge, "more than "+strconv.Itoa(cfg.maxFiles)+" files", nil))
		}
		for _, f := range zr.File {
			if err := checkEntry(f, cfg); err != nil {
				return nil, errs.At(where, err)
			}
			total += int64(f.UncompressedSize64)
			if total > cfg.maxSize || total < 0 {
				return nil, errs.At(where, because(ErrTooLarge, "over the size limit", nil))
			}
			key := strconv.Itoa(n) + "/" + f.Name
			if b.files[key] != nil {
				return nil, bundleErr(where, "a path twice in the archive")
			}
			if f.Name == ManifestPath {
				if n != len(parts) {
					return nil, bundleErr(where, "a manifest in a part that is not the last")
				}
				manifest = f
				continue
			}
			b.files[key] = f
		}
		b.parts = append(b.parts, zr)
	}
	if manifest == nil {
		return nil, bundleErr(ManifestPath, "missing")
	}
	data, err := readAllLimited(manifest, maxManifest)
	if err != nil {
		return nil, bundleErr(ManifestPath, "unreadable")
	}
	m, err := parseManifest(data)
	if err != nil {
		return nil, err
	}
	if err := m.verify(cfg.keys); err != nil {
		return nil, err
	}
	b.m = m
	if m.Parts != len(parts) {
		return nil, bundleErr(ManifestPath, "lists %d parts, %d given", m.Parts, len(parts))
	}
	for i, pe := range m.Earlier {
		p := parts[i]
		if p.Size != pe.Size {
			return nil, bundleErr("part "+strconv.Itoa(i+1), "size differs from the manifest's")
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(p.R, 0, p.Size)); err != nil {
			return nil, bundleErr("part "+strconv.Itoa(i+1), "unreadable")
		}
		if hex.EncodeToString(h.Sum(nil)) != pe.SHA256 {
			return nil, bundleErr("part "+strconv.Itoa(i+1), "SHA-256 differs from the manifest's")
		}
	}
	listed := make(map[string]bool, len(m.Files))
	for _, fe := range m.Files {
		key := strconv.Itoa(fe.Part) + "/" + fe.Path
		listed[key] = true
		f := b.files[key]
		if f == nil {
			return nil, bundleErr(fe.Path, "listed in the manifest, missing from part %d", fe.Part)
		}
		if int64(f.UncompressedSize64) != fe.Size {
			return nil, bundleErr(fe.Path, "size differs from the manifest's")
		}
		if err := b.check(f, fe); err != nil {
			return nil, err
		}
	}
	for key, f := range b.files {
		if !listed[key] {
			return nil, bundleErr(f.Name, "in the archive, not in the manifest")
		}
	}
	return b, nil
}

// checkEntry rejects an entry that is not a plain, unencrypted, stored or
// deflated file of a path a bundle holds, or over the limits.
func checkEntry(f *zip.File, cfg readConfig) error {
	name := f.Name
	if !isLocal(name) {
		return bundleErr("", "a path that leaves the archive")
	}
	if name != ManifestPath && name != InformationPath && name != HTMLPath {
		ds, ok := strings.CutPrefix(name, DataDir)
		if ok {
			ds, ok = strings.CutSuffix(ds, ".json")
			if !ok {
				ds, ok = strings.CutSuffix(strings.TrimPrefix(name, DataDir), ".csv")
			}
		}
		if !ok || !datasetRE.MatchString(ds) {
			return bundleErr("", "a file that is not a bundle's: %s", show(name))
		}
	}
	if f.Flags&0x1 != 0 {
		return bundleErr(name, "encrypted")
	}
	if f.Method != zip.Store && f.Method != zip.Deflate {
		return bundleErr(name, "compressed by method %d", f.Method)
	}
	if !f.Mode().IsRegular() {
		return bundleErr(name, "not a regular file")
	}
	if int64(f.UncompressedSize64) < 0 || int64(f.UncompressedSize64) > cfg.maxSize {
		return errs.At(name, because(ErrTooLarge, "over the size limit", nil))
	}
	if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(cfg.maxRatio) {
		return errs.At(name, because(ErrTooLarge, "compressed more than the ratio limit allows", nil))
	}
	return nil
}

// isLocal reports whether name is a relative, slash-separated path that
// stays within the archive.
func isLocal(name string) bool {
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, `\:`) || strings.ContainsRune(name, 0) {
		return false
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." {
			return false
		}
	}
	return true
}

// check reads f whole and compares it with fe.
func (b *Bundle) check(f *zip.File, fe FileEntry) error {
	rc, err := b.open(f, fe)
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return err
	}
	return nil
}

// verifyingReader reads a file of the archive, at most its manifest size,
// and fails at the end if its size or SHA-256 differ from the manifest's.
type verifyingReader struct {
	rc   io.ReadCloser
	fe   FileEntry
	h    hash.Hash
	n    int64
	done bool
}

func (b *Bundle) open(f *zip.File, fe FileEntry) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, bundleErr(fe.Path, "unreadable")
	}
	return &verifyingReader{rc: rc, fe: fe, h: sha256.New()}, nil
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.done {
		return 0, io.EOF
	}
	if rest := v.fe.Size - v.n + 1; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := v.rc.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if v.n > v.fe.Size {
		return n, errs.At(v.fe.Path, because(ErrTooLarge, "longer than the manifest says", nil))
	}
	if err == io.EOF {
		v.done = true
		if v.n != v.fe.Size {
			return n, bundleErr(v.fe.Path, "size differs from the manifest's")
		}
		if hex.EncodeToString(v.h.Sum(nil)) != v.fe.SHA256 {
			return n, bundleErr(v.fe.Path, "SHA-256 differs from the manifest's")
		}
		return n, io.EOF
	}
	if err != nil {
		return n, bundleErr(v.fe.Path, "corrupt (%s)", zipErrText(err))
	}
	return n, nil
}

func (v *verifyingReader) Close() error { return v.rc.Close() }

func zipErrText(err error) string {
	switch {
	case errors.Is(err, zip.ErrChecksum):
		return "checksum error"
	case errors.Is(err, zip.ErrFormat):
		return "not a valid ZIP entry"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	}
	return "unreadable"
}

func readAllLimited(f *zip.File, limit int64) ([]byte, error) {
	if f.UncompressedSize64 > uint64(limit) {
		return nil, errors.New("too large")
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil || int64(len(data)) > limit {
		return nil, errors.New("unreadable or too large")
	}
	return data, nil
}

// Manifest returns the bundle's manifest. The caller must not modify it.
func (b *Bundle) Manifest() *Manifest { return b.m }

// Datasets returns the names of the bundle's datasets, in byte order.
func (b *Bundle) Datasets() []string {
	var out []string
	for _, f := range b.m.Files {
		if f.Dataset != "" && !slices.Contains(out, f.Dataset) {
			out = append(out, f.Dataset)
		}
	}
	slices.Sort(out)
	return out
}

// File returns a reader of the file at path in the given part (from 1),
// which fails at its end if the file differs from the manifest; the
// error wraps ErrNotFound for a file the bundle does not hold.
func (b *Bundle) File(part int, path string) (io.ReadCloser, error) {
	for _, fe := range b.m.Files {
		if fe.Part == part && fe.Path == path {
			return b.open(b.files[strconv.Itoa(part)+"/"+path], fe)
		}
	}
	return nil, &Error{Op: "file", Field: path, Err: because(ErrNotFound, "no such file in the bundle", nil)}
}

// Information returns the Art. 15 information of an access bundle; the
// error wraps ErrNotFound for a portability bundle, which holds none.
func (b *Bundle) Information() (*Information, error) {
	const op = "information"
	for _, fe := range b.m.Files {
		if fe.Path != InformationPath {
			continue
		}
		rc, err := b.open(b.files[strconv.Itoa(fe.Part)+"/"+fe.Path], fe)
		if err != nil {
			return nil, wrap(op, err)
		}
		defer rc.Close()
		var info Information
		data, err := io.ReadAll(rc)
		if err != nil {
			return nil, wrap(op, err)
		}
		if err := json.Unmarshal(data, &info); err != nil {
			return nil, wrap(op, bundleErr(InformationPath, "malformed"))
		}
		return &info, nil
	}
	return nil, &Error{Op: op, Err: because(ErrNotFound, "the bundle holds no information.json", nil)}
}

// Records iterates over the records of a dataset, across its parts, in
// the order they were written, each as the source wrote it (see the
// format of data files; numbers come back as json.Number). It checks
// every data file's hash and record count again as it reads, and yields
// an error, and then stops, at the first thing amiss: a malformed line,
// a count or hash that differs from the manifest. A dataset the bundle
// does not hold yields nothing.
func (b *Bundle) Records(ctx context.Context, dataset string) iter.Seq2[gdpr.Record, error] {
	return func(yield func(gdpr.Record, error) bool) {
		for _, fe := range b.m.Files {
			if fe.Dataset != dataset || fe.Path != DataDir+dataset+".json" {
				continue
			}
			if err := b.records(ctx, fe, yield); err != nil {
				if !errors.Is(err, errStop) {
					yield(gdpr.Record{}, wrap("records", err))
				}
				return
			}
		}
	}
}

var errStop = errors.New("stop")

func (b *Bundle) records(ctx context.Context, fe FileEntry, yield func(gdpr.Record, error) bool) error {
	rc, err := b.open(b.files[strconv.Itoa(fe.Part)+"/"+fe.Path], fe)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	bad := func(format string, args ...any) error { return bundleErr(fe.Path, format, args...) }
	line, err := b.line(br, nil)
	if err != nil || string(line) != "[" {
		return firstErr(err, bad("does not open with a line \"[\""))
	}
	var n int64
	var buf []byte
	closed := false
	for {
		if ctx != nil {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		buf, err = b.line(br, buf[:0])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if closed {
			return bad("has data after its closing \"]\"")
		}
		if string(buf) == "]" {
			closed = true
			continue
		}
		rec := buf
		last := !bytes.HasSuffix(rec, []byte(","))
		if !last {
			rec = rec[:len(rec)-1]
		}
		r, err := decodeRecord(fe.Dataset, rec)
		if err != nil {
			return bad("record %d: %v", n+1, err)
		}
		n++
		if !yield(r, nil) {
			return errStop
		}
		if last {
			// the next line must close the array
			buf, err = b.line(br, buf[:0])
			if err != nil || string(buf) != "]" {
				return firstErr(ignoreEOF(err), bad("record %d is not followed by \",\" or the closing \"]\"", n))
			}
			closed = true
		}
	}
	if !closed {
		return bad("is not closed by a line \"]\"")
	}
	if n != fe.Records {
		return bad("holds %d records, the manifest says %d", n, fe.Records)
	}
	return nil
}

// line reads one line without its "\n"; a file ends with one.
func (b *Bundle) line(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		s, err := br.ReadSlice('\n')
		buf = append(buf, s...)
		if len(buf) > b.cfg.maxRecord {
			return nil, errs.At("", because(ErrTooLarge, "a record line over the limit", nil))
		}
		switch err {
		case nil:
			return buf[:len(buf)-1], nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return nil, because(ErrBundle, "a data file that does not end with a newline", nil)
		default:
			return nil, err
		}
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func ignoreEOF(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}
