package export

import (
	"archive/zip"
	"bufio"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// maxDatasets bounds the datasets of one bundle: each holds two spools,
// an open file and about 40 KiB of buffers each.
const maxDatasets = 256

// maxRecordLine bounds one record as JSON, the reader's default
// WithMaxRecord.
const maxRecordLine = 64 << 20

// Write writes the bundle answering r (an access or portability request
// of r.Subject; r.ID, if set, is named in the manifest) to w as one ZIP
// archive, and returns its manifest.
//
// Every source is read first, into the spool (WithSpoolDir); nothing is
// written to w until every source has succeeded, so a source that fails
// leaves w untouched and the error names it (ErrSource). The archive
// then holds, in this order: for each dataset in byte order of its name
// data/<dataset>.json and data/<dataset>.csv, then information.json (the
// Art. 15 information, access bundles only), index.html and, last,
// manifest.json, signed. The same records, Register and clock give the
// same bytes.
//
// An access bundle holds every record of every source. A portability
// bundle holds only the records the subject provided (Record.Provided)
// whose activity (Record.Activity) the Register has on consent, explicit
// consent or a contract (Art. 20(1)); the manifest counts the others as
// Omitted.
func (b *Builder) Write(ctx context.Context, w io.Writer, r gdpr.Request) (*Manifest, error) {
	if w == nil {
		return nil, &Error{Op: "write", Field: "w", Err: because(ErrInvalid, "nil writer", nil)}
	}
	first := true
	return b.write(ctx, "write", r, math.MaxInt64, func(part int) (io.WriteCloser, error) {
		if !first {
			return nil, errors.New("a second part of a single archive")
		}
		first = false
		return nopCloser{w}, nil
	})
}

// WriteParts writes the bundle answering r as Write does, split into
// parts of about WithPartSize bytes: next is called with 1, 2, … for the
// writer of each part, and each is closed when its part is complete. A
// dataset too large for one part is continued under the same path in
// the next; the manifest, in the last part, lists every part before it
// with its size and SHA-256, and every file with its part. On error the
// part being written is not closed: its owner discards it, with the
// parts before it.
func (b *Builder) WriteParts(ctx context.Context, r gdpr.Request, next func(part int) (io.WriteCloser, error)) (*Manifest, error) {
	if next == nil {
		return nil, &Error{Op: "write_parts", Field: "next", Err: because(ErrInvalid, "nil next", nil)}
	}
	return b.write(ctx, "write_parts", r, b.partSize, next)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (b *Builder) write(ctx context.Context, op string, r gdpr.Request, partSize int64, next func(int) (io.WriteCloser, error)) (*Manifest, error) {
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	// The subject asked for their data: where ctx claims no allowance,
	// the sources and the record of disclosures are asked with
	// gdpr.AllowConsent, so that a restriction (Art. 18) does not keep
	// the data from the subject, processing "with the data subject's
	// consent" (Art. 18(2)).
	if gdpr.AllowanceFrom(ctx) == gdpr.AllowNone {
		ctx = gdpr.WithAllowance(ctx, gdpr.AllowConsent)
	}
	if r.Kind != gdpr.KindAccess && r.Kind != gdpr.KindPortability {
		return nil, &Error{Op: op, Field: "kind", Err: because(ErrInvalid, "a bundle answers an access or a portability request, not "+show(string(r.Kind)), nil)}
	}
	if err := r.Subject.Validate(); err != nil {
		return nil, wrap(op, invalid("subject", err))
	}
	if r.ID != "" && (len(r.ID) > 128 || !utf8.ValidString(r.ID)) {
		return nil, &Error{Op: op, Field: "id", Err: because(ErrInvalid, "a request ID over 128 bytes or not UTF-8", nil)}
	}
	sp, err := newSpooler(b.spoolDir)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	bw := &bundleWriter{b: b, req: r, sp: sp, sets: map[string]*dataset{}, counts: map[string]int64{}}
	defer bw.close()
	if err := bw.read(ctx); err != nil {
		return nil, wrap(op, err)
	}
	m, err := bw.assemble(ctx, partSize, next)
	if err != nil {
		return nil, wrap(op, err)
	}
	return m, nil
}

// dataset is one dataset's spools while a bundle is written.
type dataset struct {
	name      string
	json, csv *spool
	records   int64
	cols      columns
}

type bundleWriter struct {
	b        *Builder
	req      gdpr.Request
	sp       *spooler
	sets     map[string]*dataset
	counts   map[string]int64 // records by activity ID
	omitted  int64
	total    int64
	untagged int64 // records that name no activity of the register

	enc encoder
	row rowEncoder
}

func (bw *bundleWriter) close() {
	for _, d := range bw.sets {
		if d.json != nil {
			d.json.close()
		}
		if d.csv != nil {
			d.csv.close()
		}
	}
}

// read asks every source in turn for the subject's records, each through
// a writer of its own that refuses to be used once its source returned.
func (bw *bundleWriter) read(ctx context.Context) error {
	for _, s := range bw.b.sources {
		sw := &sourceWriter{bw: bw, name: s.Name, redact: s.Redact}
		err := s.Exporter.ExportSubject(ctx, bw.req.Subject, sw)
		sw.mu.Lock()
		sw.done = true
		if err == nil {
			err = sw.err // a source that swallowed the writer's error
		}
		sw.mu.Unlock()
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			detail := "source " + show(s.Name) + " failed"
			var own *writerError
			if errors.As(err, &own) {
				detail = "source " + show(s.Name) + " wrote a record the bundle cannot hold: " + errs.StripInvalid(own.err, "export")
			}
			return errs.At(s.Name, because(ErrSource, detail, err))
		}
	}
	for _, d := range bw.sets {
		if err := d.json.finish(); err != nil {
			return err
		}
		if err := d.csv.finish(); err != nil {
			return err
		}
	}
	return nil
}

// sourceWriter is the gdpr.RecordWriter one source writes to. It
// serialises the source's writes, and refuses any after the source
// returned: a late record would escape its source's Redact, and the
// bundle being assembled.
type sourceWriter struct {
	bw     *bundleWriter
	name   string
	redact func(context.Context, gdpr.Record) (gdpr.Record, bool, error)
	mu     sync.Mutex
	done   bool
	err    error // the first error WriteRecord returned
}

// writerError marks an error of the bundle's own checks, whose text
// names only keys, so the source's failure may repeat it.
type writerError struct{ err error }

func (e *writerError) Error() string { return e.err.Error() }
func (e *writerError) Unwrap() error { return e.err }

var errLate = because(ErrInvalid, "a record written after its source returned", nil)

// WriteRecord takes one record of the source.
func (sw *sourceWriter) WriteRecord(ctx context.Context, r gdpr.Record) error {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.done {
		return &writerError{errLate}
	}
	if sw.err != nil {
		return sw.err
	}
	err := sw.bw.writeRecord(ctx, sw.redact, sw.name, r)
	if err != nil {
		var own *writerError
		if !errors.As(err, &own) && errors.Is(err, ErrInvalid) {
			err = &writerError{err}
		}
		sw.err = err
	}
	return err
}

func (bw *bundleWriter) writeRecord(ctx context.Context, redact func(context.Context, gdpr.Record) (gdpr.Record, bool, error), source string, r gdpr.Record) error {
	if ctx != nil && bw.total&1023 == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if redact != nil {
		out, keep, err := redact(ctx, r)
		if err != nil {
			return because(ErrSource, "the redaction of "+show(source)+" failed", err)
		}
		if !keep {
			return nil
		}
		r = out
	}
	d := bw.sets[r.Dataset] // known datasets have been checked
	if d == nil && !datasetRE.MatchString(r.Dataset) {
		return because(ErrInvalid, "a record whose dataset is not a key of "+datasetPattern, nil)
	}
	if r.ID == "" || len(r.ID) > 1024 || !utf8.ValidString(r.ID) {
		return because(ErrInvalid, "a record of "+show(r.Dataset)+" whose ID is empty, over 1024 bytes or not UTF-8", nil)
	}
	if !utf8.ValidString(r.Category) || !utf8.ValidString(r.Activity) || len(r.Category) > 1024 || len(r.Activity) > 1024 {
		return because(ErrInvalid, "a record of "+show(r.Dataset)+" whose category or activity is over 1024 bytes or not UTF-8", nil)
	}
	if y := r.Time.UTC().Year(); !r.Time.IsZero() && (y < 0 || y > 9999) {
		return because(ErrInvalid, "a record of "+show(r.Dataset)+" dated outside the years 0 to 9999", nil)
	}
	if bw.req.Kind == gdpr.KindPortability && !bw.portable(r) {
		bw.omitted++
		return nil
	}
	bw.enc.buf = bw.enc.buf[:0]
	if err := bw.enc.record(&r); err != nil {
		return because(ErrInvalid, "a record of "+show(r.Dataset)+" with a "+err.Error(), nil)
	}
	if len(bw.enc.buf) > maxRecordLine {
		return because(ErrInvalid, "a record of "+show(r.Dataset)+" over 64 MiB as JSON", nil)
	}
	if d == nil {
		if len(bw.sets) >= maxDatasets {
			return because(ErrInvalid, "more than "+strconv.Itoa(maxDatasets)+" datasets", nil)
		}
		var err error
		d = &dataset{name: r.Dataset, cols: columns{index: map[string]int{}}}
		bw.sets[r.Dataset] = d
		if d.json, err = bw.sp.create("json/" + r.Dataset); err != nil {
			return err
		}
		if d.csv, err = bw.sp.create("csv/" + r.Dataset); err != nil {
			return err
		}
	}
	bw.row.cols, bw.row.buf = &d.cols, bw.row.buf[:0]
	if err := bw.row.row(&r); err != nil {
		return because(ErrInvalid, "a record of "+show(r.Dataset)+" with a "+err.Error(), nil)
	}
	bw.enc.buf = append(bw.enc.buf, '\n')
	if _, err := d.json.w.Write(bw.enc.buf); err != nil {
		return err
	}
	if _, err := d.csv.w.Write(bw.row.buf); err != nil {
		return err
	}
	d.records++
	bw.total++
	// Counted by activity only what the register knows: the counts say
	// which activities the information names, and an unknown name is
	// not kept (it would grow the map with every record).
	if _, ok := bw.activity(r.Activity); ok {
		bw.counts[r.Activity]++
	} else {
		bw.untagged++
	}
	return nil
}

// portable reports whether r belongs in a portability bundle: provided
// by the subject, under an activity on consent or a contract.
func (bw *bundleWriter) portable(r gdpr.Record) bool {
	if !r.Provided {
		return false
	}
	a, ok := bw.activity(r.Activity)
	return ok && (a.Basis.IsConsent() || a.Basis == gdpr.Contract)
}

// activity returns the register's activity of the ID.
func (bw *bundleWriter) activity(id string) (gdpr.Activity, bool) {
	if id == "" || bw.b.register == nil {
		return gdpr.Activity{}, false
	}
	for _, a := range bw.b.register.Activities {
		if a.ID == id {
			return a, true
		}
	}
	return gdpr.Activity{}, false
}

// assemble writes the archive(s) from the spools.
func (bw *bundleWriter) assemble(ctx context.Context, partSize int64, next func(int) (io.WriteCloser, error)) (*Manifest, error) {
	b := bw.b
	gen := b.now().UTC()
	m := &Manifest{
		Format: FormatVersion, Kind: bw.req.Kind, Request: bw.req.ID, Generated: gen,
		Sources: make([]string, 0, len(b.sources)), Files: []FileEntry{}, Omitted: bw.omitted,
	}
	if b.register != nil {
		m.Controller = b.register.Controller.Name
	}
	for _, s := range b.sources {
		m.Sources = append(m.Sources, s.Name)
	}
	var info *Information
	if bw.req.Kind == gdpr.KindAccess {
		i, err := b.information(ctx, bw.req.Subject, bw.counts, bw.untagged > 0)
		if err != nil {
			return nil, err
		}
		info = &i
	}
	// The event comes before the bundle is complete: without it, no
	// manifest is written.
	if err := b.rec.Record(ctx, gdpr.Event{
		Time: gen, Actor: gdpr.System("export"), Action: "export.written",
		Subject: bw.req.Subject, Resource: "export/" + bw.req.ID, Outcome: gdpr.Success,
		Attrs: map[string]string{
			"kind": string(bw.req.Kind), "records": strconv.FormatInt(bw.total, 10),
			"datasets": strconv.Itoa(len(bw.sets)), "omitted": strconv.FormatInt(bw.omitted, 10),
		},
	}); err != nil {
		return nil, because(ErrSource, "the audit event was not recorded", err)
	}
	names := make([]string, 0, len(bw.sets))
	for n := range bw.sets {
		names = append(names, n)
	}
	slices.Sort(names)

	ps := &partSink{next: next, limit: partSize, level: b.level, modified: gen.Truncate(time.Second)}
	if err := ps.open(); err != nil {
		return nil, err
	}
	page := &htmlPage{Kind: bw.req.Kind, Request: bw.req.ID, Generated: gen, Info: info, Controller: m.Controller, Omitted: bw.omitted}
	for _, n := range names {
		d := bw.sets[n]
		a := bw.compressAhead(ctx, ps, d)
		jf, err := bw.writeJSON(ctx, ps, d)
		if err != nil {
			a.discard()
			return nil, err
		}
		cf, header, err := bw.writeCSVAhead(ctx, ps, d, a)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, jf...)
		m.Files = append(m.Files, cf...)
		hd := htmlDataset{Name: n, Records: d.records, Shown: min(d.records, int64(b.htmlRows)), Columns: header}
		for _, f := range append(jf, cf...) {
			if !slices.Contains(hd.Files, f.Path) {
				hd.Files = append(hd.Files, f.Path)
			}
		}
		hd.Rows = bw.htmlRows(d, int(hd.Shown))
		page.Datasets = append(page.Datasets, hd)
	}
	if info != nil {
		raw, err := json.MarshalIndent(info, "", "  ")
		if err != nil {
			return nil, err
		}
		raw = append(raw, '\n')
		f, err := ps.file(InformationPath, "", 0, func(w io.Writer) error { _, err := w.Write(raw); return err })
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, f)
	}
	var shown int64
	for _, d := range page.Datasets {
		shown += d.Shown
	}
	f, err := ps.file(HTMLPath, "", shown, func(w io.Writer) error { return writeHTML(w, page) })
	if err != nil {
		return nil, err
	}
	m.Files = append(m.Files, f)
	m.Parts = ps.n
	m.Earlier = ps.earlier
	raw, err := sign(m, b.signer, b.pub)
	if err != nil {
		return nil, because(ErrInvalid, "the signer failed", err)
	}
	if _, err := ps.file(ManifestPath, "", 0, func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
		return nil, err
	}
	if err := ps.closePart(); err != nil {
		return nil, err
	}
	return m, nil
}

// entryBuffer is the size of the buffer in front of each data file's
// entry, so that the hashes and the compressor see large writes.
const entryBuffer = 64 << 10

// writeJSON writes d's data/<name>.json, split across parts as needed.
func (bw *bundleWriter) writeJSON(ctx context.Context, ps *partSink, d *dataset) ([]FileEntry, error) {
	rd, err := d.json.reader()
	if err != nil {
		return nil, err
	}
	path := DataDir + d.name + ".json"
	var files []FileEntry
	var long []byte // a line longer than rd's buffer
	if err := ps.startFile(); err != nil {
		return nil, err
	}
	e, err := ps.entry(path)
	if err != nil {
		return nil, err
	}
	out := ps.buffer(e)
	var n int64
	out.WriteString("[\n")
	for {
		line, err := rd.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = rd.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err == io.EOF && len(line) == 0 {
			break
		}
		if err != nil {
			return nil, errSpool
		}
		line = line[:len(line)-1]
		if n > 0 {
			if ps.full(out.Buffered()) {
				out.WriteString("\n]\n")
				if err := out.Flush(); err != nil {
					return nil, err
				}
				files = append(files, e.done(d.name, n))
				if err := ps.nextPart(); err != nil {
					return nil, err
				}
				if e, err = ps.entry(path); err != nil {
					return nil, err
				}
				out.Reset(e)
				out.WriteString("[\n")
				n = 0
			} else {
				out.WriteString(",\n")
			}
		}
		out.Write(line)
		n++
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if e.err != nil {
			return nil, e.err
		}
	}
	if n > 0 {
		out.WriteString("\n")
	}
	out.WriteString("]\n")
	if err := out.Flush(); err != nil {
		return nil, err
	}
	return append(files, e.done(d.name, n)), nil
}

// writeCSV writes d's data/<name>.csv, split across parts as needed,
// each part's file with the header.
func (bw *bundleWriter) writeCSV(ctx context.Context, ps *partSink, d *dataset) ([]FileEntry, []string, error) {
	rd, err := d.csv.reader()
	if err != nil {
		return nil, nil, err
	}
	names, pos := d.cols.header()
	rr := newRowReader(rd, names, pos)
	path := DataDir + d.name + ".csv"
	var files []FileEntry
	if err := ps.startFile(); err != nil {
		return nil, nil, err
	}
	var out *bufio.Writer
	start := func() (*entryWriter, *csvWriter, error) {
		e, err := ps.entry(path)
		if err != nil {
			return nil, nil, err
		}
		if out == nil {
			out = ps.buffer(e)
		} else {
			out.Reset(e)
		}
		cw := newCSVWriter(out)
		return e, cw, cw.header(names)
	}
	e, cw, err := start()
	if err != nil {
		return nil, nil, err
	}
	var n int64
	for {
		err := rr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if n > 0 && ps.full(out.Buffered()) {
			if err := out.Flush(); err != nil {
				return nil, nil, err
			}
			files = append(files, e.done(d.name, n))
			if err := ps.nextPart(); err != nil {
				return nil, nil, err
			}
			if e, cw, err = start(); err != nil {
				return nil, nil, err
			}
			n = 0
		}
		if err := cw.row(rr.cells, rr.text); err != nil {
			return nil, nil, err
		}
		n++
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := out.Flush(); err != nil {
		return nil, nil, err
	}
	if e.err != nil {
		return nil, nil, e.err
	}
	return append(files, e.done(d.name, n)), names, nil
}

// ahead is a dataset's CSV file compressed, into a spool of its own,
// while its JSON file is written: with two CPUs or more, the two deflate
// streams, most of a bundle's work, then run side by side. The
// compressed file is then copied into the archive as it is, with the
// entry header the streaming path would have written, so the bytes of
// the archive are the same either way.
type ahead struct {
	cancel  context.CancelFunc
	done    chan struct{}
	sp      *spool // the deflate stream, encrypted like every spool
	crc     uint32
	size    int64 // uncompressed
	csize   int64 // compressed
	sum     []byte
	records int64
	names   []string
	err     error
}

// compressAhead starts compressing d's CSV file; nil if entries are
// stored, or there is one CPU.
func (bw *bundleWriter) compressAhead(ctx context.Context, ps *partSink, d *dataset) *ahead {
	if ps.level == flate.NoCompression || runtime.GOMAXPROCS(0) < 2 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	a := &ahead{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		a.err = bw.compressCSV(ctx, ps.level, d, a)
	}()
	return a
}

// discard stops a and removes its spool.
func (a *ahead) discard() {
	if a == nil {
		return
	}
	a.cancel()
	<-a.done
	if a.sp != nil {
		a.sp.close()
		a.sp = nil
	}
}

// compressCSV writes d's whole CSV file, deflated at level, to a new
// spool.
func (bw *bundleWriter) compressCSV(ctx context.Context, level int, d *dataset, a *ahead) error {
	rd, err := d.csv.reader()
	if err != nil {
		return err
	}
	names, pos := d.cols.header()
	rr := newRowReader(rd, names, pos)
	if a.sp, err = bw.sp.create("csv.deflated/" + d.name); err != nil {
		return err
	}
	comp := &countWriter{w: a.sp.w}
	fw, err := newFlate(comp, level)
	if err != nil {
		return err
	}
	h := &hashWriter{w: fw, sha: sha256.New(), crc: crc32.NewIEEE()}
	out := bufio.NewWriterSize(h, entryBuffer)
	cw := newCSVWriter(out)
	if err := cw.header(names); err != nil {
		return err
	}
	var n int64
	for {
		err := rr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if err := cw.row(rr.cells, rr.text); err != nil {
			return err
		}
		n++
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return err
	}
	if err := a.sp.finish(); err != nil {
		return err
	}
	if comp.err != nil {
		return comp.err
	}
	a.crc, a.size, a.csize, a.sum, a.records, a.names = h.crc.Sum32(), h.n, comp.n, h.sha.Sum(nil), n, names
	return nil
}

// hashWriter counts and hashes (SHA-256 and the ZIP's CRC-32) what it
// writes to w.
type hashWriter struct {
	w   io.Writer
	sha hash.Hash
	crc hash.Hash32
	n   int64
}

func (h *hashWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.sha.Write(p[:n])
	h.crc.Write(p[:n])
	h.n += int64(n)
	return n, err
}

// writeCSVAhead writes d's CSV file from a, if a is not nil and the
// file fits in the part whole; otherwise as writeCSV does.
func (bw *bundleWriter) writeCSVAhead(ctx context.Context, ps *partSink, d *dataset, a *ahead) ([]FileEntry, []string, error) {
	if a == nil {
		return bw.writeCSV(ctx, ps, d)
	}
	<-a.done
	defer a.discard()
	if a.err != nil {
		return nil, nil, a.err
	}
	if err := ps.startFile(); err != nil { // as writeCSV begins
		return nil, nil, err
	}
	path := DataDir + d.name + ".csv"
	// The streaming path splits the file when the part, as counted
	// under the ZIP writer's buffer, reaches its limit: the file fits if
	// the part's end, with that buffer, the local header and the data
	// descriptor, stays below the limit.
	const slack = 4096 + 30 + 9 + 24
	if ps.cw.n+slack+int64(len(path))+a.csize >= ps.limit {
		return bw.writeCSV(ctx, ps, d)
	}
	f, err := ps.rawEntry(path, d.name, a)
	if err != nil {
		return nil, nil, err
	}
	return []FileEntry{f}, a.names, nil
}

// rawEntry copies a's compressed file into the archive as path.
func (ps *partSink) rawEntry(path, dataset string, a *ahead) (FileEntry, error) {
	// The header as CreateHeader makes it (flags, versions, the DOS and
	// the extended time), from a scratch writer, so that the entry is
	// the one the streaming path writes.
	fh := &zip.FileHeader{Name: path, Method: zip.Deflate, Modified: ps.modified}
	scratch := zip.NewWriter(io.Discard)
	scratch.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return nopCloser{w}, nil })
	if _, err := scratch.CreateHeader(fh); err != nil {
		return FileEntry{}, err
	}
	fh.CRC32, fh.CompressedSize64, fh.UncompressedSize64 = a.crc, uint64(a.csize), uint64(a.size)
	w, err := ps.zw.CreateRaw(fh)
	if err != nil {
		return FileEntry{}, err
	}
	if fh.CompressedSize64 >= math.MaxUint32 || fh.UncompressedSize64 >= math.MaxUint32 {
		// as the streaming path sets it, once the sizes are known, for
		// the central directory
		fh.ReaderVersion = 45
	}
	rd, err := a.sp.reader()
	if err != nil {
		return FileEntry{}, err
	}
	n, err := rd.WriteTo(w)
	if err != nil {
		if ps.cw.err != nil {
			return FileEntry{}, ps.cw.err
		}
		return FileEntry{}, errSpool
	}
	if n != a.csize {
		return FileEntry{}, errSpool
	}
	return FileEntry{Path: path, Part: ps.n, Dataset: dataset, Records: a.records, Size: a.size, SHA256: hex.EncodeToString(a.sum)}, nil
}

// htmlRows streams the first n rows of d for the HTML page.
func (bw *bundleWriter) htmlRows(d *dataset, n int) func(func([]string) error) error {
	return func(emit func([]string) error) error {
		rd, err := d.csv.reader()
		if err != nil {
			return err
		}
		names, pos := d.cols.header()
		rr := newRowReader(rd, names, pos)
		var cells []string
		for i := 0; i < n; i++ {
			if err := rr.next(); err != nil {
				if err == io.EOF {
					return errSpool
				}
				return err
			}
			cells = rr.strings(cells)
			if err := emit(cells); err != nil {
				return err
			}
		}
		return nil
	}
}

// partSink writes the parts of a bundle: a ZIP archive per part, counted
// and hashed as it is written.
type partSink struct {
	next     func(int) (io.WriteCloser, error)
	limit    int64
	level    int
	modified time.Time

	n       int
	entries int // in the current part
	out     io.WriteCloser
	cw      *countWriter
	zw      *zip.Writer
	earlier []PartEntry
}

type countWriter struct {
	w   io.Writer
	h   hash.Hash // nil: not hashed
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if c.h != nil {
		c.h.Write(p[:n])
	}
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

var flatePool = [flate.BestCompression + 2]sync.Pool{}

type pooledFlate struct {
	*flate.Writer
	level int
}

func (p *pooledFlate) Close() error {
	err := p.Writer.Close()
	flatePool[p.level+1].Put(p)
	return err
}

func (ps *partSink) open() error {
	ps.n++
	if ps.n > maxParts {
		return because(ErrInvalid, "more than "+strconv.Itoa(maxParts)+" parts", nil)
	}
	out, err := ps.next(ps.n)
	if err != nil {
		return err
	}
	if out == nil {
		return because(ErrInvalid, "next returned a nil writer", nil)
	}
	ps.out, ps.entries = out, 0
	ps.cw = &countWriter{w: out}
	if ps.limit != math.MaxInt64 {
		// Only parts before the last are hashed (into the manifest's
		// Earlier); a single archive is not.
		ps.cw.h = sha256.New()
	}
	ps.zw = zip.NewWriter(ps.cw)
	level := ps.level
	ps.zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return newFlate(w, level) })
	return nil
}

// newFlate returns a deflate writer at level from the pool; Close puts
// it back.
func newFlate(w io.Writer, level int) (*pooledFlate, error) {
	if p, ok := flatePool[level+1].Get().(*pooledFlate); ok {
		p.Reset(w)
		return p, nil
	}
	fw, err := flate.NewWriter(w, level)
	if err != nil {
		return nil, err
	}
	return &pooledFlate{fw, level}, nil
}

// full reports whether the part has reached its size, with pending
// bytes still buffered in front of a stored entry.
func (ps *partSink) full(pending int) bool {
	if ps.level == flate.NoCompression {
		return ps.cw.n+int64(pending) >= ps.limit
	}
	return ps.cw.n >= ps.limit
}

// startFile begins the next part before a data file if this one is full
// and holds a file already.
func (ps *partSink) startFile() error {
	if ps.entries > 0 && ps.full(0) {
		return ps.nextPart()
	}
	return nil
}

// closePart finishes the current part.
func (ps *partSink) closePart() error {
	if err := ps.zw.Close(); err != nil {
		return err
	}
	if err := ps.cw.err; err != nil {
		return err
	}
	out := ps.out
	ps.out = nil
	if err := out.Close(); err != nil {
		return err
	}
	return nil
}

// nextPart finishes the current part and opens the next.
func (ps *partSink) nextPart() error {
	if err := ps.closePart(); err != nil {
		return err
	}
	ps.earlier = append(ps.earlier, PartEntry{Part: ps.n, Size: ps.cw.n, SHA256: hex.EncodeToString(ps.cw.h.Sum(nil))})
	return ps.open()
}

// entryWriter is one file of the archive being written, hashed and
// counted.
type entryWriter struct {
	ps   *partSink
	path string
	w    io.Writer
	h    hash.Hash
	n    int64
	err  error
}

func (ps *partSink) entry(path string) (*entryWriter, error) {
	method := zip.Deflate
	if ps.level == flate.NoCompression {
		method = zip.Store
	}
	w, err := ps.zw.CreateHeader(&zip.FileHeader{Name: path, Method: method, Modified: ps.modified})
	if err != nil {
		return nil, err
	}
	ps.entries++
	return &entryWriter{ps: ps, path: path, w: w, h: sha256.New()}, nil
}

func (e *entryWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.h.Write(p[:n])
	e.n += int64(n)
	if err != nil {
		e.err = err
	}
	return n, err
}

func (e *entryWriter) WriteString(s string) { e.Write([]byte(s)) }

// buffer returns a writer of entryBuffer bytes in front of e.
func (ps *partSink) buffer(e *entryWriter) *bufio.Writer { return bufio.NewWriterSize(e, entryBuffer) }

func (e *entryWriter) done(dataset string, records int64) FileEntry {
	return FileEntry{Path: e.path, Part: e.ps.n, Dataset: dataset, Records: records, Size: e.n, SHA256: hex.EncodeToString(e.h.Sum(nil))}
}

// file writes one whole file with fn.
func (ps *partSink) file(path, dataset string, records int64, fn func(io.Writer) error) (FileEntry, error) {
	e, err := ps.entry(path)
	if err != nil {
		return FileEntry{}, err
	}
	bw := bufio.NewWriterSize(e, 32<<10)
	if err := fn(bw); err != nil {
		return FileEntry{}, err
	}
	if err := bw.Flush(); err != nil {
		return FileEntry{}, err
	}
	return e.done(dataset, records), nil
}
