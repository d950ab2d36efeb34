package gdprtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
)

// ExporterFixture is one fresh component under test for the Exporter
// suite, with the hook the suite needs to put a subject's data in. Each
// check of the suite builds its own.
type ExporterFixture struct {
	// Exporter is the component under test. It holds no data about the
	// suite's subjects when the fixture is made (the suite's subject IDs
	// are random, so a shared database may hold other data). Required.
	Exporter gdpr.Exporter

	// Seed stores data about subject in the component, as the host's
	// application would, such that ExportSubject then writes at least one
	// record for them; two or more let the suite see an exporter stop
	// part-way. Seeding one subject adds nothing to another's export.
	// Where the component holds free text, Seed plants canary in it: the
	// suite looks for it in every error, and in the exports of other
	// subjects. Seed is called once per subject, from one goroutine at a
	// time. Required.
	Seed func(ctx context.Context, subject gdpr.SubjectID, canary string) error
}

// datasetPattern is the shape of a Record's Dataset the Exporter suite
// accepts: a lower-case key that is safe as a file name in an export
// bundle (no leading dot or dash, no slash).
const datasetPattern = `^[a-z0-9_][a-z0-9_.-]{0,63}$`

var datasetRE = regexp.MustCompile(datasetPattern)

// exporterChecks are the behaviours RunExporterTests and TestExporter
// check, in order; each name is a subtest.
var exporterChecks = []struct {
	name string
	run  func(*exporterRun)
}{
	{"ExportsSeededSubject", (*exporterRun).exportsSeeded},
	{"StableOrder", (*exporterRun).stableOrder},
	{"StopsAtWriterError", (*exporterRun).stopsAtWriterError},
	{"UnknownSubject", (*exporterRun).unknownSubject},
	{"OnlyThatSubject", (*exporterRun).onlyThatSubject},
	{"InvalidSubjects", (*exporterRun).invalidSubjects},
	{"RecordShape", (*exporterRun).recordShape},
	{"NoPersonalDataInErrors", (*exporterRun).noPersonalData},
	{"CancelledContext", (*exporterRun).cancelledContext},
	{"Concurrent", (*exporterRun).concurrent},
}

// RunExporterTests checks that the gdpr.Exporter newFixture makes meets
// the contract of gdpr.Exporter, as a host's own store should before it
// is added to the export builder's sources. It runs one subtest per
// behaviour, each with a fresh fixture from newFixture (called with the
// subtest's t, so it may use t.Cleanup and t.Fatal):
//
//   - ExportsSeededSubject: a seeded subject's export succeeds and
//     writes at least one record.
//   - StableOrder: repeated exports of the same data write the same
//     records in the same order.
//   - StopsAtWriterError: when the RecordWriter fails at the first,
//     second or third record, ExportSubject writes nothing more and
//     returns an error that errors.Is the writer's.
//   - UnknownSubject: a subject the component never held gets no record
//     and no error, whether the component is empty or not.
//   - OnlyThatSubject: seeding other subjects, including ones whose IDs
//     extend the subject's, are a prefix of it, or differ from it only in
//     case or by a trailing space, changes nothing in the subject's
//     export, and no other subject's canary appears in it.
//   - InvalidSubjects: an empty, over-long, non-UTF-8 or control-character
//     subject ID is refused or gets no record.
//   - RecordShape: every Record has a Dataset that is a lower-case key
//     safe as a file name, ^[a-z0-9_][a-z0-9_.-]{0,63}$, a non-empty ID
//     unique within its dataset, and Fields that encoding/json can
//     marshal.
//   - NoPersonalDataInErrors: no error, under %v or %+v, holds a subject
//     ID or the canary Seed planted. Every error of every other check is
//     searched as well.
//   - CancelledContext: with a cancelled context ExportSubject returns an
//     error or completes, never panics, and if it reports success it
//     wrote every record.
//   - Concurrent: exports of two subjects from concurrent goroutines
//     each write that subject's records (run the tests with -race).
//
// A panic in the component fails its subtest, not the test binary.
func RunExporterTests(t *testing.T, newFixture func(t *testing.T) ExporterFixture) {
	t.Helper()
	for _, c := range exporterChecks {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			runExporterCheck(t, f, c.run)
		})
	}
}

// TestExporter runs the checks of RunExporterTests without a *testing.T,
// each with a fresh fixture from newFixture, and returns every failure
// joined with errors.Join, each prefixed with "Exporter/<check>:", or nil
// when the component passes. It is for Examples and programs; tests should
// call RunExporterTests, which reports each check as its own subtest.
func TestExporter(newFixture func() (ExporterFixture, error)) error {
	names := make([]string, len(exporterChecks))
	for i, c := range exporterChecks {
		names[i] = c.name
	}
	return collect("Exporter", names, func(r reporter, i int) {
		f, err := newFixture()
		if err != nil {
			r.Fatalf("making the fixture: %v", err)
		}
		runExporterCheck(r, f, exporterChecks[i].run)
	})
}

func runExporterCheck(r reporter, f ExporterFixture, check func(*exporterRun)) {
	r.Helper()
	switch {
	case f.Exporter == nil:
		r.Fatalf("ExporterFixture.Exporter is nil")
	case f.Seed == nil:
		r.Fatalf("ExporterFixture.Seed is nil")
	}
	check(&exporterRun{r: r, f: f, ctx: r.Context(), n: newNames(), canaries: map[gdpr.SubjectID]string{}})
}

// exporterRun is one check's state.
type exporterRun struct {
	r        reporter
	f        ExporterFixture
	ctx      context.Context
	n        *names
	canaries map[gdpr.SubjectID]string
}

// The contract, quoted in failure messages.
const (
	orderContract        = "gdpr.Exporter calls WriteRecord once per record, in a stable order"
	stopContract         = "gdpr.Exporter stops at the first error the RecordWriter returns, and returns it"
	exUnknownContract    = "gdpr.Exporter: a subject with no data is not an error, and no record is written"
	onlyContract         = "gdpr.Exporter streams what the component holds about the one subject asked for"
	exNoPDContract       = "no error of this module carries personal data: IDs and field names only"
	exConcurrentContract = "gdpr.Exporter is safe for concurrent use"
)

func (x *exporterRun) seed(role string) gdpr.SubjectID {
	x.r.Helper()
	s := x.n.subject(role)
	x.seedID(role, s)
	return s
}

func (x *exporterRun) seedID(role string, s gdpr.SubjectID) {
	x.r.Helper()
	c := x.n.canary()
	x.canaries[s] = c
	if err := x.f.Seed(x.ctx, s, c); err != nil {
		x.r.Fatalf("Seed(%s): %v", role, err)
	}
}

// export runs ExportSubject into a collecting writer that fails at write
// number failAt (none if 0), and checks what every call must meet: no
// panic, no personal data in the error.
func (x *exporterRun) export(ctx context.Context, role string, s gdpr.SubjectID, failAt int, failWith error) (recs []gdpr.Record, ok bool, err error) {
	x.r.Helper()
	call := fmt.Sprintf("ExportSubject(%s)", role)
	w := gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
		recs = append(recs, r)
		if len(recs) == failAt {
			return failWith
		}
		return nil
	})
	if safely(x.r, call, func() { err = x.f.Exporter.ExportSubject(ctx, s, w) }) {
		return recs, false, err
	}
	if l := x.n.errLeak(err); l != "" {
		x.r.Errorf("%s: %s: %s", call, l, exNoPDContract)
	}
	return recs, true, err
}

// mustExport exports s and fails the check unless it succeeded.
func (x *exporterRun) mustExport(role string, s gdpr.SubjectID) []gdpr.Record {
	x.r.Helper()
	recs, ok, err := x.export(x.ctx, role, s, 0, nil)
	if !ok {
		x.r.Fatalf("ExportSubject(%s) panicked", role)
	}
	if err != nil {
		x.r.Fatalf("ExportSubject(%s): %v", role, err)
	}
	return recs
}

// mustExportSeeded exports a seeded subject and fails the check if no
// record comes out.
func (x *exporterRun) mustExportSeeded(role string, s gdpr.SubjectID) []gdpr.Record {
	x.r.Helper()
	recs := x.mustExport(role, s)
	if len(recs) == 0 {
		x.r.Fatalf("ExportSubject(%s) wrote no record after Seed: the fixture's Seed must store data the Exporter exports", role)
	}
	return recs
}

// key is a record's identity and content, for comparing exports.
func key(r gdpr.Record) string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprintf("%s/%s (not JSON: %v)", r.Dataset, r.ID, err)
	}
	return string(b)
}

// diff describes the first difference between two exports, or "".
func diff(a, b []gdpr.Record) string {
	for i := range min(len(a), len(b)) {
		if ka, kb := key(a[i]), key(b[i]); ka != kb {
			return fmt.Sprintf("record %d is %s/%s in one and %s/%s in the other (%s vs %s)", i, a[i].Dataset, a[i].ID, b[i].Dataset, b[i].ID, ka, kb)
		}
	}
	if len(a) != len(b) {
		return fmt.Sprintf("%d records against %d", len(a), len(b))
	}
	return ""
}

func (x *exporterRun) exportsSeeded() {
	a := x.seed("a")
	x.mustExportSeeded("a", a)
}

const orderRepeats = 32

func (x *exporterRun) stableOrder() {
	a := x.seed("a")
	x.seed("b")
	first := x.mustExportSeeded("a", a)
	for i := 2; i <= orderRepeats; i++ {
		again := x.mustExport("a", a)
		if d := diff(first, again); d != "" {
			x.r.Fatalf("export %d of the same subject differs from the first: %s: %s", i, d, orderContract)
		}
	}
}

// writerError is what the suite's failing writer returns.
type writerError struct{ at int }

func (e *writerError) Error() string {
	return fmt.Sprintf("gdprtest: the writer fails at record %d", e.at)
}

func (x *exporterRun) stopsAtWriterError() {
	a := x.seed("a")
	all := x.mustExportSeeded("a", a)
	for at := 1; at <= min(len(all), 3); at++ {
		werr := &writerError{at: at}
		recs, ok, err := x.export(x.ctx, fmt.Sprintf("a, writer failing at record %d", at), a, at, werr)
		if !ok {
			continue
		}
		if len(recs) != at {
			x.r.Errorf("with a writer failing at record %d, ExportSubject called WriteRecord %d times, want %d: %s", at, len(recs), at, stopContract)
		}
		if !errors.Is(err, werr) {
			x.r.Errorf("with a writer failing at record %d, ExportSubject returned %v, want an error that errors.Is the writer's error: %s", at, err, stopContract)
		}
	}
}

func (x *exporterRun) wantNothing(call string, recs []gdpr.Record, err error, contract string) {
	x.r.Helper()
	if err != nil {
		x.r.Errorf("%s: %v, want no error: %s", call, err, contract)
	}
	if len(recs) != 0 {
		x.r.Errorf("%s wrote %d records (the first %s/%s), want none: %s", call, len(recs), recs[0].Dataset, recs[0].ID, contract)
	}
}

func (x *exporterRun) unknownSubject() {
	u := x.n.subject("unknown")
	if recs, ok, err := x.export(x.ctx, "unknown subject, empty component", u, 0, nil); ok {
		x.wantNothing("ExportSubject(unknown subject) of an empty component", recs, err, exUnknownContract)
	}
	b := x.seed("b")
	x.mustExportSeeded("b", b)
	if recs, ok, err := x.export(x.ctx, "unknown subject", u, 0, nil); ok {
		x.wantNothing("ExportSubject(unknown subject) beside a seeded one", recs, err, exUnknownContract)
	}
}

func (x *exporterRun) onlyThatSubject() {
	a := x.seed("a")
	alone := x.mustExportSeeded("a", a)
	x.seed("b")
	for _, o := range x.n.similar(a) {
		x.seedID(o.what, o.id)
	}
	beside := x.mustExport("a", a)
	if d := diff(alone, beside); d != "" {
		x.r.Errorf("the subject's export changed when other subjects were seeded: %s: %s", d, onlyContract)
	}
	for _, r := range beside {
		k := key(r)
		for s, c := range x.canaries {
			if s != a && c != "" && strings.Contains(k, c) {
				x.r.Errorf("the subject's export holds record %s/%s with another subject's canary: %s", r.Dataset, r.ID, onlyContract)
			}
		}
	}
	wild := x.n.raw(string(a[:len(a)-1]) + "%")
	if recs, ok, err := x.export(x.ctx, "an unknown subject whose ID ends in %", wild, 0, nil); ok {
		x.wantNothing("ExportSubject(unknown subject whose ID ends in %)", recs, err, exUnknownContract)
	}
}

func (x *exporterRun) invalidSubjects() {
	x.seed("b")
	for _, v := range x.n.invalidSubjects() {
		recs, ok, err := x.export(x.ctx, v.what, v.id, 0, nil)
		if !ok || err != nil {
			continue // refusing it is right; export searched the error
		}
		if len(recs) != 0 {
			x.r.Errorf("ExportSubject(%s) wrote %d records (the first %s/%s): an invalid ID names no one, so it is refused or gets nothing; %s", v.what, len(recs), recs[0].Dataset, recs[0].ID, onlyContract)
		}
	}
}

func (x *exporterRun) recordShape() {
	a := x.seed("a")
	x.seed("b")
	seen := map[[2]string]bool{}
	for i, r := range x.mustExportSeeded("a", a) {
		if !datasetRE.MatchString(r.Dataset) {
			x.r.Errorf("record %d has Dataset %q: gdpr.Record.Dataset is a lower-case key (%s) that becomes a file name in an export bundle", i, r.Dataset, datasetPattern)
		}
		if r.ID == "" {
			x.r.Errorf("record %d (dataset %q) has an empty ID: gdpr.Record.ID identifies the record within its dataset", i, r.Dataset)
		} else if id := [2]string{r.Dataset, r.ID}; seen[id] {
			x.r.Errorf("record %d repeats the ID %q of dataset %q: gdpr.Record.ID identifies the record within its dataset", i, r.ID, r.Dataset)
		} else {
			seen[id] = true
		}
		if _, err := json.Marshal(r.Fields); err != nil {
			x.r.Errorf("record %s/%s: its Fields do not encode as JSON: %v: gdpr.Record.Fields values are strings, numbers, booleans, time.Time, nil, and slices or maps of those", r.Dataset, r.ID, err)
		}
	}
}

func (x *exporterRun) noPersonalData() {
	// Every error of this and the other checks is searched by export; here
	// the component is pushed onto its error paths.
	a := x.seed("a")
	x.export(cancelled(x.ctx), "a, cancelled context", a, 0, nil)
	dl, cancel := context.WithDeadline(x.ctx, deadlinePassed)
	defer cancel()
	x.export(dl, "a, deadline passed", a, 0, nil)
	x.export(x.ctx, "a, writer failing", a, 1, errors.New("gdprtest: writer failure"))
	for _, v := range x.n.invalidSubjects() {
		x.export(x.ctx, v.what, v.id, 0, nil)
	}
}

func (x *exporterRun) cancelledContext() {
	a := x.seed("a")
	all := x.mustExportSeeded("a", a)
	recs, ok, err := x.export(cancelled(x.ctx), "a, cancelled context", a, 0, nil)
	if ok && err == nil {
		if d := diff(all, recs); d != "" {
			x.r.Errorf("ExportSubject with a cancelled context returned success with a different export (%s): an export that does not finish returns an error", d)
		}
	}
	if d := diff(all, x.mustExport("a", a)); d != "" {
		x.r.Errorf("after a cancelled ExportSubject, the subject's export changed: %s", d)
	}
}

const concurrentExports = 8

func (x *exporterRun) concurrent() {
	subjects := []gdpr.SubjectID{x.seed("a"), x.seed("b")}
	want := [][]gdpr.Record{x.mustExportSeeded("a", subjects[0]), x.mustExportSeeded("b", subjects[1])}
	type result struct {
		recs  []gdpr.Record
		err   error
		panic any
	}
	results := make([]result, concurrentExports)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range results {
		wg.Go(func() {
			defer func() { results[i].panic = recover() }()
			<-start
			results[i].err = x.f.Exporter.ExportSubject(x.ctx, subjects[i%2], gdpr.RecordWriterFunc(func(_ context.Context, r gdpr.Record) error {
				results[i].recs = append(results[i].recs, r)
				return nil
			}))
		})
	}
	close(start)
	wg.Wait()
	for i, res := range results {
		role := "ab"[i%2 : i%2+1]
		switch {
		case res.panic != nil:
			x.r.Errorf("concurrent ExportSubject(%s) panicked: %v: %s", role, res.panic, exConcurrentContract)
		case res.err != nil:
			x.r.Errorf("concurrent ExportSubject(%s): %v: %s", role, res.err, exConcurrentContract)
			if l := x.n.errLeak(res.err); l != "" {
				x.r.Errorf("concurrent ExportSubject(%s): %s: %s", role, l, exNoPDContract)
			}
		default:
			if d := diff(want[i%2], res.recs); d != "" {
				x.r.Errorf("concurrent ExportSubject(%s) differs from its export alone: %s: %s", role, d, exConcurrentContract)
			}
		}
	}
}
