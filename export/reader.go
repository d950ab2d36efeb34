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
	request   string
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
// a file over 1 MiB may have, against decompression bombs. Default: 1000,
// just under deflate's best (about 1032), so that only a file of almost
// nothing but one repeated byte is refused: JSON records compress 5 to 20
// times, and a receiver that expects such files raises it. (The archive's
// layout is checked too, so entries cannot overlap to multiply their
// expansion, and every size is bounded by the signed manifest and by
// WithMaxSize.) Under 2 is an error.
func WithMaxRatio(r int) ReadOption {
	return readOption{"WithMaxRatio", func(c *readConfig) error {
		if r < 2 {
			return because(ErrInvalid, "a ratio limit under 2", nil)
		}
		c.maxRatio = int64(r)
		return nil
	}}
}

// WithRequest requires the bundle to answer the request with the ID, as
// its signed manifest says: a receiving controller that was told which
// request a transfer answers refuses a bundle of another request or
// subject, signed by the same controller. Default: any request.
func WithRequest(id string) ReadOption {
	return readOption{"WithRequest", func(c *readConfig) error {
		if id == "" {
			return because(ErrInvalid, "an empty request ID", nil)
		}
		c.request = id
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
	cfg := readConfig{maxSize: 16 << 30, maxRatio: 1000, maxFiles: maxFilesPerPart, maxRecord: 64 << 20}
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
		if err := checkLayout(p, zr); err != nil {
			return nil, errs.At(where, err)
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
			if b.files[key] != nil || (f.Name == ManifestPath && manifest != nil) {
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
	if cfg.request != "" && m.Request != cfg.request {
		return nil, bundleErr(ManifestPath, "answers another request")
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
		data, err := io.ReadAll(io.LimitReader(rc, maxManifest+1))
		if err != nil {
			return nil, wrap(op, err)
		}
		if len(data) > maxManifest {
			return nil, wrap(op, errs.At(InformationPath, because(ErrTooLarge, "over the limit of an information file", nil)))
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
// does not hold yields nothing. Open checked every hash already, so an
// error here means the bytes under the ReaderAt changed since, which
// they must not; a record is known intact only once the iteration ends
// without error, so a receiver that imports the records does so in one
// transaction and rolls it back on an error.
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

// The signatures and fixed sizes of the ZIP records checkLayout reads
// (APPNOTE.TXT 4.3).
const (
	sigLocal      = 0x04034b50
	sigDescriptor = 0x08074b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50
	localLen      = 30
	endLen        = 22
	locator64Len  = 20
)

// checkLayout checks what archive/zip, which reads only the central
// directory, does not: that the part is nothing but its entries, back to
// back from offset 0, each local header agreeing with its central one
// (name, flags, method) and its data descriptor with its sizes and CRC,
// then the central directory, and the end record with no comment. A
// streaming extractor, which reads local headers, then sees exactly the
// files the manifest lists: no hidden entry, no renamed path, no bytes
// before, between or after, no entries that overlap.
func checkLayout(p Part, zr *zip.Reader) error {
	if zr.Comment != "" {
		return because(ErrBundle, "an archive comment", nil)
	}
	files := slices.Clone(zr.File)
	offsets := make(map[*zip.File]int64, len(files))
	for _, f := range files {
		off, err := f.DataOffset()
		if err != nil {
			return because(ErrBundle, "an entry whose local header is unreadable", nil)
		}
		offsets[f] = off
	}
	slices.SortFunc(files, func(a, b *zip.File) int { return cmpInt(offsets[a], offsets[b]) })
	var pos int64
	var hdr [localLen]byte
	for _, f := range files {
		if _, err := p.R.ReadAt(hdr[:], pos); err != nil {
			return because(ErrBundle, "bytes between entries, or a truncated entry", nil)
		}
		le := leBytes(hdr[:])
		if le.u32(0) != sigLocal {
			return because(ErrBundle, "bytes between entries", nil)
		}
		flags, method := le.u16(6), le.u16(8)
		nameLen, extraLen := int64(le.u16(26)), int64(le.u16(28))
		name := make([]byte, nameLen)
		if _, err := p.R.ReadAt(name, pos+localLen); err != nil {
			return because(ErrBundle, "a truncated local header", nil)
		}
		if string(name) != f.Name || flags != f.Flags || method != f.Method {
			return because(ErrBundle, "a local header that differs from the central directory", nil)
		}
		// Nothing the manifest does not cover: no entry comment, no
		// file mode, no extra field but those archive/zip writes.
		if f.Comment != "" || f.ExternalAttrs != 0 {
			return because(ErrBundle, "an entry with a comment or a file mode", nil)
		}
		extra := make([]byte, extraLen)
		if _, err := p.R.ReadAt(extra, pos+localLen+nameLen); err != nil {
			return because(ErrBundle, "a truncated local header", nil)
		}
		if !knownExtra(extra) || !knownExtra(f.Extra) {
			return because(ErrBundle, "an entry with an extra field this format does not write", nil)
		}
		if pos+localLen+nameLen+extraLen != offsets[f] {
			return because(ErrBundle, "entries that overlap", nil)
		}
		pos = offsets[f] + int64(f.CompressedSize64)
		if pos < 0 || pos > p.Size {
			return because(ErrBundle, "an entry past the end of the archive", nil)
		}
		if flags&0x8 != 0 {
			n, err := checkDescriptor(p, pos, f)
			if err != nil {
				return err
			}
			pos += n
		}
	}
	cdStart, err := centralDirectory(p)
	if err != nil {
		return err
	}
	if pos != cdStart {
		return because(ErrBundle, "bytes between the last entry and the central directory", nil)
	}
	return nil
}

// checkDescriptor checks the data descriptor at pos against f, and
// returns its length: an optional signature, the CRC-32 and the two
// sizes, of 8 bytes each for a ZIP64 entry (as archive/zip writes them).
func checkDescriptor(p Part, pos int64, f *zip.File) (int64, error) {
	var buf [24]byte
	n, _ := p.R.ReadAt(buf[:], pos)
	le := leBytes(buf[:n])
	var off int64
	if n >= 4 && le.u32(0) == sigDescriptor {
		off = 4
	}
	zip64 := f.CompressedSize64 >= 0xffffffff || f.UncompressedSize64 >= 0xffffffff
	size := int64(12)
	if zip64 {
		size = 20
	}
	if int64(n) < off+size {
		return 0, because(ErrBundle, "a truncated data descriptor", nil)
	}
	d := le[off:]
	var csize, usize uint64
	if zip64 {
		csize, usize = d.u64(4), d.u64(12)
	} else {
		csize, usize = uint64(d.u32(4)), uint64(d.u32(8))
	}
	if d.u32(0) != f.CRC32 || csize != f.CompressedSize64 || usize != f.UncompressedSize64 {
		return 0, because(ErrBundle, "a data descriptor that differs from the central directory", nil)
	}
	return off + size, nil
}

// centralDirectory returns where the central directory starts, from the
// end record, which must close the part (no comment), and the ZIP64 end
// record before it if there is one; the directory must end where the
// end records begin.
func centralDirectory(p Part) (int64, error) {
	bad := because(ErrBundle, "a malformed end of the central directory", nil)
	if p.Size < endLen {
		return 0, bad
	}
	var rec [endLen]byte
	if _, err := p.R.ReadAt(rec[:], p.Size-endLen); err != nil {
		return 0, bad
	}
	le := leBytes(rec[:])
	if le.u32(0) != sigEnd || le.u16(20) != 0 {
		return 0, bad
	}
	size, offset := int64(le.u32(12)), int64(le.u32(16))
	end := p.Size - endLen
	if le.u32(16) == 0xffffffff || le.u32(12) == 0xffffffff || le.u16(10) == 0xffff {
		var loc [locator64Len]byte
		if p.Size < endLen+locator64Len {
			return 0, bad
		}
		if _, err := p.R.ReadAt(loc[:], p.Size-endLen-locator64Len); err != nil {
			return 0, bad
		}
		ll := leBytes(loc[:])
		if ll.u32(0) != sigLocator64 {
			return 0, bad
		}
		recOff := int64(ll.u64(8))
		var r64 [56]byte
		if recOff < 0 || recOff+56 > p.Size {
			return 0, bad
		}
		if _, err := p.R.ReadAt(r64[:], recOff); err != nil {
			return 0, bad
		}
		rl := leBytes(r64[:])
		if rl.u32(0) != sigEnd64 || int64(rl.u64(4))+12 != p.Size-endLen-locator64Len-recOff {
			return 0, bad
		}
		size, offset = int64(rl.u64(40)), int64(rl.u64(48))
		end = recOff
	}
	if offset < 0 || size < 0 || offset+size != end {
		return 0, bad
	}
	return offset, nil
}

// knownExtra reports whether an extra field holds only the records
// archive/zip writes: the extended timestamp (0x5455) and ZIP64 (0x0001).
func knownExtra(b []byte) bool {
	for len(b) > 0 {
		if len(b) < 4 {
			return false
		}
		tag, n := leBytes(b).u16(0), int(leBytes(b).u16(2))
		if (tag != 0x5455 && tag != 0x0001) || len(b) < 4+n {
			return false
		}
		b = b[4+n:]
	}
	return true
}

type leBytes []byte

func (b leBytes) u16(i int) uint16 { return uint16(b[i]) | uint16(b[i+1])<<8 }
func (b leBytes) u32(i int) uint32 { return uint32(b.u16(i)) | uint32(b.u16(i+2))<<16 }
func (b leBytes) u64(i int) uint64 { return uint64(b.u32(i)) | uint64(b.u32(i+4))<<32 }

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
