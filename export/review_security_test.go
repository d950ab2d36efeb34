package export_test

// Security review regression tests. Each test states the defect it
// pins; a failing test is an open defect.

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/memexport"
	"github.com/gdprkit/gdpr/gdprtest"
)

var reviewNow = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

// reviewBuilder returns a Builder over the given sources, with the
// example register, and its key pair.
func reviewBuilder(t *testing.T, opts []export.Option, sources ...export.Source) (*export.Builder, ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]export.Option{export.WithRegister(register), export.WithClock(func() time.Time { return reviewNow })}, opts...)
	if len(sources) > 0 {
		all = append(all, export.WithSources(sources...))
	}
	b, err := export.New(key, all...)
	if err != nil {
		t.Fatal(err)
	}
	return b, pub, key
}

func recordsSource(recs ...gdpr.Record) gdpr.Exporter {
	return gdpr.ExporterFunc(func(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
		for _, r := range recs {
			if err := w.WriteRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// reviewBundle writes a small, valid access bundle and returns its bytes.
func reviewBundle(t *testing.T) ([]byte, ed25519.PublicKey) {
	t.Helper()
	b, pub, _ := reviewBuilder(t, nil, export.Source{Name: "crm", Exporter: recordsSource(
		gdpr.Record{Dataset: "profile", ID: "1", Activity: "shop", Provided: true, Fields: map[string]any{"name": canary}},
	)})
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "req-1", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := export.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), pub); err != nil {
		t.Fatalf("the untouched bundle does not open: %v", err)
	}
	return buf.Bytes(), pub
}

func wantBundleErr(t *testing.T, what string, data []byte, pub ed25519.PublicKey) {
	t.Helper()
	_, err := export.Open(bytes.NewReader(data), int64(len(data)), pub)
	if !errors.Is(err, export.ErrBundle) {
		t.Errorf("%s: Open = %v, want an error wrapping ErrBundle", what, err)
	}
}

// eocd returns the offset of the end-of-central-directory record of a
// ZIP without comment, and the central directory's offset and size.
func eocd(t *testing.T, data []byte) (end int, cdOff, cdSize uint32) {
	t.Helper()
	end = len(data) - 22
	if binary.LittleEndian.Uint32(data[end:]) != 0x06054b50 {
		t.Fatal("no end of central directory record at the end")
	}
	return end, binary.LittleEndian.Uint32(data[end+16:]), binary.LittleEndian.Uint32(data[end+12:])
}

// ---------------------------------------------------------------------
// Secrets in fmt output.

// Defect: Builder keeps the crypto.Signer in an unexported field and
// has no Format method; an ed25519.PrivateKey is a []byte, so printing a
// Builder (a host's debug log of its wiring, %+v of a config struct)
// prints the signing key.
func TestReviewBuilderDoesNotPrintSigningKey(t *testing.T) {
	b, _, key := reviewBuilder(t, nil)
	dec := strings.Trim(fmt.Sprint([]byte(key[:6])), "[]")               // "12 34 56 …"
	hex := strings.Trim(fmt.Sprintf("%#v", []byte(key[:3])), "[]byte{}") // "0x12, 0x34, 0x56"
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{b, *b} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, dec) || strings.Contains(out, hex) {
				t.Errorf("fmt %s of a %T prints the private signing key", verb, v)
			}
		}
	}
	type config struct{ Export *export.Builder }
	if out := fmt.Sprintf("%+v", []any{config{b}, b}); strings.Contains(out, dec) {
		t.Errorf("a Builder inside a slice prints the private signing key")
	}
}

// ---------------------------------------------------------------------
// The reader: what binds the central directory to the bytes.

// Defect: openParts stores every entry in b.files after a duplicate
// check, except manifest.json, which it takes with `manifest = f;
// continue` before the check ever sees it twice. An archive with two
// manifest.json entries opens, and the last one wins, where other ZIP
// tools (and a streaming reader) take the first.
func TestReviewReaderRejectsTwoManifests(t *testing.T) {
	data, pub := reviewBundle(t)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	var manifest *zip.File
	for _, f := range zr.File {
		if f.Name == export.ManifestPath {
			manifest = f
		}
	}
	// A first manifest.json that a first-entry-wins tool would read,
	// then the archive as it was.
	if err := zw.Copy(manifest); err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	wantBundleErr(t, "two manifest.json entries", out.Bytes(), pub)
}

// Defect: archive/zip reads the central directory only, and uses a local
// header just for its length fields. Open never compares the local
// header's name with the central directory's, so a bundle whose local
// header names "../../../evil.exe" opens as verified, while every
// streaming extractor (unzip -, Java's ZipInputStream, Python's
// stream-unzip, a browser's) writes the file outside its folder.
func TestReviewReaderComparesLocalHeaders(t *testing.T) {
	data, pub := reviewBundle(t)
	name := []byte("data/profile.json")
	evil := []byte("../../../evil.exe") // same length, so no offset moves
	found := false
	for i := 0; i+30+len(name) <= len(data); i++ {
		if binary.LittleEndian.Uint32(data[i:]) == 0x04034b50 && bytes.Equal(data[i+30:i+30+len(name)], name) {
			copy(data[i+30:], evil)
			found = true
			break
		}
	}
	if !found {
		t.Fatal("no local header of data/profile.json")
	}
	wantBundleErr(t, "a local header naming ../../../evil.exe", data, pub)
}

// Defect: bytes before the first local header, between entries, or after
// the end-of-central-directory record are not covered by any check: the
// manifest hashes the files, Earlier hashes the parts before the last,
// and nothing hashes or bounds the last part's archive. Go's reader
// skips a prefix (baseOffset) and ignores a suffix, so a verified bundle
// can be a polyglot (an HTML page, a script, an executable stub), and a
// local entry hidden before the central directory, which no Go reader
// lists, is extracted by every streaming tool: "nothing extra" holds for
// Open only.
func TestReviewReaderRejectsBytesOutsideEntries(t *testing.T) {
	data, pub := reviewBundle(t)
	junk := []byte("<!doctype html><script>alert(document.domain)</script>\n")

	wantBundleErr(t, "data before the first entry", append(append([]byte(nil), junk...), data...), pub)
	wantBundleErr(t, "data after the end of the central directory", append(append([]byte(nil), data...), junk...), pub)

	// A stored local entry "evil.html" between the last entry and the
	// central directory; the EOCD's directory offset moves past it.
	var hidden bytes.Buffer
	zw := zip.NewWriter(&hidden)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "evil.html", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(junk)
	zw.Close()
	_, hOff, _ := eocd(t, hidden.Bytes())
	entry := hidden.Bytes()[:hOff] // local header, data, data descriptor
	end, cdOff, _ := eocd(t, data)
	var smuggled []byte
	smuggled = append(smuggled, data[:cdOff]...)
	smuggled = append(smuggled, entry...)
	smuggled = append(smuggled, data[cdOff:]...)
	binary.LittleEndian.PutUint32(smuggled[end+len(entry)+16:], cdOff+uint32(len(entry)))
	if zr, err := zip.NewReader(bytes.NewReader(smuggled), int64(len(smuggled))); err != nil || len(zr.File) != len(mustZip(t, data).File) {
		t.Fatalf("the smuggled archive does not read as the original: %v", err)
	}
	wantBundleErr(t, "a local entry the central directory does not list", smuggled, pub)
}

func mustZip(t *testing.T, data []byte) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// repetitive is a bundle whose data files compress about 1000:1, as a
// record with a long run of one character does (a blank scan's base64,
// padding, a log of identical lines).
func repetitive(t *testing.T) ([]byte, ed25519.PublicKey) {
	t.Helper()
	b, pub, _ := reviewBuilder(t, nil, export.Source{Name: "crm", Exporter: recordsSource(
		gdpr.Record{Dataset: "scan", ID: "1", Activity: "shop", Provided: true, Fields: map[string]any{"page": make([]byte, 3<<20)}},
	)})
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "req-1", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), pub
}

// Defect: checkEntry computes the ratio from the central directory's
// CompressedSize64, which the archive claims and nothing checks against
// the entry's real extent. Claiming a larger compressed size (and
// clearing the data-descriptor flag, so that no descriptor is looked for
// at the claimed end) passes any ratio limit: the limit stops only an
// honest writer (see above), never a bomb.
func TestReviewRatioLimitUsesRealCompressedSize(t *testing.T) {
	data, pub := repetitive(t)
	if _, err := export.Open(bytes.NewReader(data), int64(len(data)), pub, export.WithMaxRatio(100)); !errors.Is(err, export.ErrTooLarge) {
		t.Fatalf("a bundle over the ratio limit: %v, want ErrTooLarge", err)
	}
	_, cdOff, cdSize := eocd(t, data)
	for p := int(cdOff); p < int(cdOff+cdSize); {
		if binary.LittleEndian.Uint32(data[p:]) != 0x02014b50 {
			t.Fatal("malformed central directory")
		}
		usize := binary.LittleEndian.Uint32(data[p+24:])
		if usize > 1<<20 {
			binary.LittleEndian.PutUint16(data[p+8:], binary.LittleEndian.Uint16(data[p+8:])&^0x8) // no data descriptor
			binary.LittleEndian.PutUint32(data[p+20:], usize/100)                                  // claimed compressed size
		}
		p += 46 + int(binary.LittleEndian.Uint16(data[p+28:])) + int(binary.LittleEndian.Uint16(data[p+30:])) + int(binary.LittleEndian.Uint16(data[p+32:]))
	}
	// The layout check finds the entry's real extent disagreeing with
	// the claim, before any ratio is computed from it.
	_, err := export.Open(bytes.NewReader(data), int64(len(data)), pub, export.WithMaxRatio(100))
	if !errors.Is(err, export.ErrBundle) {
		t.Fatalf("the same entries, claiming another compressed size: Open = %v, want ErrBundle", err)
	}
}

// ---------------------------------------------------------------------
// What binds a bundle to its subject.

// ---------------------------------------------------------------------
// Art. 15 information.

var reviewRegister = &gdpr.Register{
	Controller: gdpr.Party{Name: "Example Shop GmbH", Email: "privacy@shop.example"},
	Activities: []gdpr.Activity{
		{
			ID: "shop", Name: "Orders", Basis: gdpr.Contract, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "orders"}},
			Retention:      gdpr.RetentionRule{Description: "10 years"},
		},
		{
			ID: "fraud", Name: "Fraud prevention", Basis: gdpr.LegitimateInterests, LegitimateInterestAssessment: "LIA-7",
			SubjectCategories: []string{"customers"}, DataCategories: []gdpr.Category{{ID: "device"}},
			Retention:        gdpr.RetentionRule{Description: "90 days"},
			JointControllers: []gdpr.Party{{Name: "Payment Partner AG", Email: "dpo@partner.example"}},
		},
	},
}

func reviewInformation(t *testing.T, sources ...export.Source) (*export.Information, []byte) {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(nil)
	b, err := export.New(key, export.WithRegister(reviewRegister), export.WithSources(sources...))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "r", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil {
		t.Fatal(err)
	}
	bd, err := export.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), pub)
	if err != nil {
		t.Fatal(err)
	}
	info, err := bd.Information()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bd.File(1, export.InformationPath)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(rc)
	rc.Close()
	return info, raw
}

// Defect: information() narrows the activities to those the records
// name as soon as one record names one. A source that cannot tag its
// records (the audit log, a legacy table: Activity "") then loses the
// Art. 15(1)(a)-(d) information of the processing its records are under:
// one tagged consent record hides every other purpose.
func TestReviewInformationKeepsActivitiesOfUntaggedRecords(t *testing.T) {
	info, _ := reviewInformation(t,
		export.Source{Name: "orders", Exporter: recordsSource(gdpr.Record{Dataset: "orders", ID: "1", Activity: "shop", Provided: true, Fields: map[string]any{}})},
		export.Source{Name: "devices", Exporter: recordsSource(gdpr.Record{Dataset: "devices", ID: "d1", Fields: map[string]any{"fingerprint": "ab12"}})},
	)
	var ids []string
	for _, a := range info.Activities {
		ids = append(ids, a.ID)
	}
	if len(ids) != 2 {
		t.Fatalf("activities %v: the devices record names no activity, so the information cannot be narrowed to \"shop\"", ids)
	}
}

// Defect: ActivityInfo has no joint controllers. Under Art. 26(3) the
// subject may exercise their rights against each joint controller, and
// Art. 26(2) makes the essence of the arrangement available to them; a
// register that records joint controllers loses them in the access
// bundle.
func TestReviewInformationNamesJointControllers(t *testing.T) {
	_, raw := reviewInformation(t,
		export.Source{Name: "devices", Exporter: recordsSource(gdpr.Record{Dataset: "devices", ID: "d1", Activity: "fraud", Fields: map[string]any{}})},
	)
	if !bytes.Contains(raw, []byte("Payment Partner AG")) {
		t.Fatal("information.json does not name the activity's joint controller")
	}
}

// ---------------------------------------------------------------------
// CSV.

// Defect: rowEncoder.field writes a []byte cell as base64 with text
// false, so inert() never sees it; standard base64 can begin with '+',
// and a subject-supplied file can be chosen so that its cell is a live
// formula: the bytes below encode as "+A1+B1/2", which a spreadsheet
// evaluates (=A1+B1/2).
func TestReviewCSVBytesCellsAreInert(t *testing.T) {
	raw := []byte{0xf8, 0x0d, 0x7e, 0x07, 0x5f, 0xf6} // base64 "+A1+B1/2"
	b, pub, _ := reviewBuilder(t, nil, export.Source{Name: "files", Exporter: recordsSource(
		gdpr.Record{Dataset: "uploads", ID: "1", Activity: "shop", Provided: true, Fields: map[string]any{"content": raw}},
	)})
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "r", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil {
		t.Fatal(err)
	}
	bd, err := export.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), pub)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bd.File(1, "data/uploads.csv")
	if err != nil {
		t.Fatal(err)
	}
	csvText, _ := io.ReadAll(rc)
	rc.Close()
	if bytes.Contains(csvText, []byte(",+A1+B1/2")) {
		t.Fatalf("a []byte cell is a live formula:\n%s", csvText)
	}
}

// ---------------------------------------------------------------------
// Memory.

func heapNow() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// measure returns how much more heap is live at the end of fn's writes
// than at their start, measured inside the source (while the Builder
// holds what it keeps per bundle).
func measure(t *testing.T, write func(ctx context.Context, w gdpr.RecordWriter) error) uint64 {
	t.Helper()
	var grew uint64
	src := gdpr.ExporterFunc(func(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
		before := heapNow()
		if err := write(ctx, w); err != nil {
			return err
		}
		if after := heapNow(); after > before {
			grew = after - before
		}
		return nil
	})
	b, _, _ := reviewBuilder(t, []export.Option{export.WithCompression(0)}, export.Source{Name: "big", Exporter: src})
	if _, err := b.Write(context.Background(), io.Discard, gdpr.Request{ID: "r", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil && !errors.Is(err, export.ErrInvalid) {
		t.Fatal(err)
	}
	return grew
}

// Defect: Record.Activity is checked for UTF-8 only, and every distinct
// value becomes a key of bundleWriter.counts for the whole bundle. A
// source streaming records with distinct long activity strings (a
// free-text column mapped to Activity; or a subject-controlled one) grows
// the heap without bound, although each record is small: "memory stays
// constant" does not hold. (1000 records of 32 KiB keep 32 MiB.)
func TestReviewDistinctActivitiesKeepMemoryBounded(t *testing.T) {
	grew := measure(t, func(ctx context.Context, w gdpr.RecordWriter) error {
		pad := strings.Repeat("x", 32<<10)
		for i := 0; i < 1000; i++ {
			err := w.WriteRecord(ctx, gdpr.Record{Dataset: "events", ID: fmt.Sprint(i), Activity: fmt.Sprint(i) + pad, Fields: map[string]any{}})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if grew > 12<<20 {
		t.Fatalf("the heap grew by %d MiB over 1000 records of 32 KiB", grew>>20)
	}
}

// Defect: field names have no length limit, and the first MaxColumns
// flattened paths of every dataset are kept (columns.index and .names)
// for the whole bundle: 1024 columns × maxDatasets datasets × any
// length. A subject-defined attribute name (a custom-field key, a tag
// map) of 16 KiB in each of 1024 small records keeps 16 MiB per dataset,
// up to 16 GiB over 1000 datasets.
func TestReviewLongFieldNamesKeepMemoryBounded(t *testing.T) {
	grew := measure(t, func(ctx context.Context, w gdpr.RecordWriter) error {
		pad := strings.Repeat("k", 16<<10)
		for ds := 0; ds < 2; ds++ {
			for i := 0; i < 1024; i++ {
				err := w.WriteRecord(ctx, gdpr.Record{Dataset: fmt.Sprint("attrs", ds), ID: fmt.Sprint(i), Fields: map[string]any{fmt.Sprint(i) + pad: "v"}})
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if grew > 12<<20 {
		t.Fatalf("the heap grew by %d MiB over 2048 records of 16 KiB", grew>>20)
	}
}

// ---------------------------------------------------------------------
// Sources.

// Defect: every source writes to the same bundleWriter, whose source and
// redact fields are switched when the next source starts. A source that
// writes after it returned (a goroutine it left behind, a cursor drained
// asynchronously) has its records taken under the next source's name and
// Redact hook: its own Art. 15(4) redaction is skipped, and the third
// party's data it removes are in the bundle. The writer a source gets
// should stop working when it returns (and fail the bundle).
func TestReviewLateWriteIsNotRedactedByAnotherSource(t *testing.T) {
	start, done := make(chan struct{}), make(chan struct{})
	leaky := gdpr.ExporterFunc(func(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
		go func() {
			<-start
			w.WriteRecord(ctx, gdpr.Record{Dataset: "messages", ID: "1", Activity: "shop", Fields: map[string]any{"from": "Max Mustermann (third party)"}})
			close(done)
		}()
		return nil
	})
	dropAll := func(ctx context.Context, r gdpr.Record) (gdpr.Record, bool, error) { return r, false, nil }
	next := gdpr.ExporterFunc(func(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
		close(start)
		<-done
		return nil
	})
	b, pub, _ := reviewBuilder(t, nil,
		export.Source{Name: "chat", Exporter: leaky, Redact: dropAll},
		export.Source{Name: "orders", Exporter: next},
	)
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "r", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil {
		return // refusing the late write and failing the bundle is a fix
	}
	bd, err := export.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), pub)
	if err != nil {
		t.Fatal(err)
	}
	for r, err := range bd.Records(context.Background(), "messages") {
		if err == nil {
			t.Fatalf("a record of source chat, whose Redact drops everything, is in the bundle: %s", r.ID)
		}
	}
}

// ---------------------------------------------------------------------
// Handler.

// Defect: WithRecorder and WithClock are options of NewHandler too
// (forAll), validated and stored in Handler.settings, and never read:
// a host that wires its audit log on the Handler (the request engine's
// entry point) records nothing: no "export.written", no
// "export.delivered", and no download is ever recorded.
func TestReviewHandlerUsesItsRecorder(t *testing.T) {
	b, _, _ := reviewBuilder(t, nil, export.Source{Name: "crm", Exporter: recordsSource(
		gdpr.Record{Dataset: "profile", ID: "1", Activity: "shop", Provided: true, Fields: map[string]any{}})})
	d, err := export.NewDeliverer(memexport.New(), memexport.NewBlobs())
	if err != nil {
		t.Fatal(err)
	}
	// The fix: NewHandler refuses the options it would ignore; the
	// Handler records through its Builder's and Deliverer's.
	rec := &gdprtest.Recorder{}
	send := func(context.Context, gdpr.Request, export.Delivery, []export.Token) error { return nil }
	for _, o := range []export.Option{export.WithRecorder(rec), export.WithClock(time.Now)} {
		if _, err := export.NewHandler(b, d, send, o); !errors.Is(err, export.ErrInvalid) {
			t.Fatalf("NewHandler took an option it does not use: %v", err)
		}
	}
}

// Defect: with WithEncryption, every part is age-encrypted to the
// subject before it is stored, and the Transmitter's open returns the
// stored bytes: the controller of Art. 20(2) is sent a file only the
// subject can decrypt, and its Open fails ("not a ZIP archive"). The
// direct transmission silently never works for a subject who asked for
// an encrypted copy.
func TestReviewTransmitterGetsABundleItCanOpen(t *testing.T) {
	f := newFixture(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	tr := &transmitter{}
	h, err := export.NewHandler(f.b, f.d, func(context.Context, gdpr.Request, export.Delivery, []export.Token) error { return nil },
		export.WithTransmitter(tr),
		export.WithEncryption(func(context.Context, gdpr.Request) ([]age.Recipient, error) {
			return []age.Recipient{id.Recipient()}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.HandleRequest(context.Background(), gdpr.Request{ID: "req-2", Kind: gdpr.KindPortability, Subject: "s-1", Params: map[string]string{"to": "other-controller"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := export.Open(bytes.NewReader(tr.got), int64(len(tr.got)), f.pub); err != nil {
		t.Fatalf("the receiving controller cannot open what it was sent: %v (starts %q)", err, tr.got[:min(len(tr.got), 22)])
	}
}

// ---------------------------------------------------------------------
// The manifest as a file, and reading after Open.

// rezip returns data's archive with manifest.json replaced by edit's
// result; every other entry is copied as it is.
func rezip(t *testing.T, data []byte, edit func([]byte) []byte) []byte {
	t.Helper()
	zr := mustZip(t, data)
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if f.Name != export.ManifestPath {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(rc)
		rc.Close()
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(edit(m))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Defect: the signature is checked over the re-encoding of the decoded
// struct, not over manifest.json, and encoding/json matches member
// names case-insensitively (DisallowUnknownFields too), while Canonical
// finds duplicates case-sensitively. A manifest.json holding
// "request": "req-OTHER" followed by "Request": "req-1" verifies (Go
// keeps the last), and every case-sensitive reader of the file (jq, a
// JavaScript or Python consumer, the subject's own tool) reads
// "req-OTHER": the verified manifest and the file disagree.
func TestReviewManifestFileIsWhatIsSigned(t *testing.T) {
	data, pub := reviewBundle(t)
	forged := rezip(t, data, func(m []byte) []byte {
		if !bytes.Contains(m, []byte(`"request": "req-1"`)) {
			t.Fatalf("manifest without its request:\n%s", m)
		}
		return bytes.Replace(m, []byte(`"request": "req-1"`), []byte(`"request": "req-OTHER", "Request": "req-1"`), 1)
	})
	if bd, err := export.Open(bytes.NewReader(forged), int64(len(forged)), pub); err == nil {
		t.Fatalf("a manifest.json whose \"request\" member is %q opens verified, with Request %q", "req-OTHER", bd.Manifest().Request)
	}
}

// Defect: every dataset gets two spools the moment its first record
// arrives, each an open temporary file with a 64 KiB bufio.Writer over a
// Tink encrypting writer with its own 64 KiB plaintext and ciphertext
// segments. A source spreading one tiny record over each of the
// maxDatasets datasets makes the Builder hold about 250 MiB of heap and
// 2000 open files for a bundle of a few KiB (over the common 1024
// descriptor limit, so the bundle fails on many hosts): a few concurrent
// requests exhaust the process.
func TestReviewManyDatasetsKeepMemoryBounded(t *testing.T) {
	grew := measure(t, func(ctx context.Context, w gdpr.RecordWriter) error {
		for ds := 0; ds < 1000; ds++ {
			if err := w.WriteRecord(ctx, gdpr.Record{Dataset: fmt.Sprint("d", ds), ID: "1", Fields: map[string]any{"a": "b"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if grew > 64<<20 {
		t.Fatalf("the heap grew by %d MiB for 1000 records of a few bytes, one per dataset", grew>>20)
	}
}

// Defect: read() gives the sources a ctx with gdpr.AllowConsent, so that
// a restricted subject (Art. 18) still gets their copy, but assemble()
// asks WithDisclosures' gdpr.Disclosures with the caller's bare ctx. A
// host whose record of disclosures is guarded like its other data (an
// erasure.Check, a Keyring decryption of the references) refuses, and
// the restricted subject's access request fails as a whole ("the record
// of disclosures failed"): the very case the sources' allowance fixed.
func TestReviewDisclosuresAskedWithConsentAllowance(t *testing.T) {
	guarded := gdpr.DisclosuresFunc(func(ctx context.Context, s gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		if gdpr.AllowanceFrom(ctx) == gdpr.AllowNone {
			return nil, gdpr.ErrRestricted
		}
		return []gdpr.Disclosure{{Recipient: "Parcel Service"}}, nil
	})
	b, _, _ := reviewBuilder(t, []export.Option{export.WithDisclosures(guarded)})
	if _, err := b.Write(context.Background(), io.Discard, gdpr.Request{ID: "r", Kind: gdpr.KindAccess, Subject: "s-1"}); err != nil {
		t.Fatalf("the access bundle of a restricted subject: %v", err)
	}
}

// An entry comment, an unknown extra field or a file mode would carry
// bytes no signature covers in the last part: the reader refuses them.
func TestReviewReaderRejectsUnsignedEntryBytes(t *testing.T) {
	data, pub := bundleOf(t, gdpr.KindAccess, gdpr.Record{Dataset: "orders", ID: "1", Fields: map[string]any{"item": "tea"}})
	if _, err := export.Open(bytes.NewReader(data), int64(len(data)), pub); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*zip.FileHeader){
		"entry comment":   func(fh *zip.FileHeader) { fh.Comment = "<script>alert(1)</script>" },
		"unknown extra":   func(fh *zip.FileHeader) { fh.Extra = append(fh.Extra, 0x99, 0x99, 4, 0, 'e', 'v', 'i', 'l') },
		"executable mode": func(fh *zip.FileHeader) { fh.SetMode(0o755) },
	} {
		zr, _ := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		for _, f := range zr.File {
			fh := f.FileHeader
			if f.Name == "data/orders.json" {
				edit(&fh)
			}
			r, _ := f.OpenRaw()
			w, err := zw.CreateRaw(&fh)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(w, r)
		}
		zw.Close()
		if _, err := export.Open(bytes.NewReader(out.Bytes()), int64(out.Len()), pub); !errors.Is(err, export.ErrBundle) {
			t.Errorf("%s: Open = %v, want ErrBundle", name, err)
		}
	}
}
