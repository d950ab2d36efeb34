package gdprtest_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/gdprtest"
)

// The suites pass on a correct component, run the way a package test
// runs them.
func TestSuitesPassOnNotes(t *testing.T) {
	t.Run("Eraser/PresentFromExport", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			n := newNotes()
			return gdprtest.EraserFixture{Eraser: n, Seed: n.seed}
		})
	})
	t.Run("Eraser/PresentFunc", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			n := newNotes()
			return gdprtest.EraserFixture{Eraser: gdpr.EraserFunc(n.EraseSubject), Seed: n.seed, Present: n.present}
		})
	})
	t.Run("Exporter", func(t *testing.T) {
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			n := newNotes()
			return gdprtest.ExporterFixture{Exporter: n, Seed: n.seed}
		})
	})
}

func (n *notes) present(_ context.Context, s gdpr.SubjectID) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.bySubj[s]) > 0, nil
}

// failed returns the names of the checks err reports, as "Suite/Check".
func failed(err error) []string {
	if err == nil {
		return nil
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []string
	for _, e := range errs {
		name, _, _ := strings.Cut(e.Error(), ":")
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// eraserOver builds a fixture whose Eraser is erase, over the data of a
// notes component, observed directly.
func eraserOver(erase func(n *notes) gdpr.EraserFunc) func() (gdprtest.EraserFixture, error) {
	return func() (gdprtest.EraserFixture, error) {
		n := newNotes()
		return gdprtest.EraserFixture{Eraser: erase(n), Seed: n.seed, Present: n.present}, nil
	}
}

// eraseWhere deletes the notes of every stored subject match accepts.
func (n *notes) eraseWhere(match func(stored gdpr.SubjectID) bool) gdpr.ErasureReport {
	n.mu.Lock()
	defer n.mu.Unlock()
	var rep gdpr.ErasureReport
	for s, ns := range n.bySubj {
		if match(s) {
			rep.Erased += int64(len(ns))
			delete(n.bySubj, s)
		}
	}
	return rep
}

func TestEraserSuiteCatches(t *testing.T) {
	for _, tc := range []struct {
		name  string
		erase func(n *notes) gdpr.EraserFunc
		want  []string // the checks that must fail, and only those
	}{
		{"not idempotent: ErrNotFound the second time", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				rep, err := n.EraseSubject(ctx, s)
				if err == nil && rep.Erased == 0 {
					return rep, gdpr.ErrNotFound
				}
				return rep, err
			}
		}, []string{"CancelledContext", "ConcurrentSubjects", "Idempotent", "SimilarSubjectsUntouched", "UnknownSubject"}},
		{"not idempotent: counts again", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				rep, err := n.EraseSubject(ctx, s)
				rep.Erased = max(rep.Erased, 1)
				return rep, err
			}
		}, []string{"ConcurrentSubjects", "Idempotent", "SimilarSubjectsUntouched", "UnknownSubject"}},
		{"erases nothing", func(n *notes) gdpr.EraserFunc {
			return func(context.Context, gdpr.SubjectID) (gdpr.ErasureReport, error) { return gdpr.ErasureReport{}, nil }
		}, []string{"CancelledContext", "ConcurrentSubjects", "ErasesSeededSubject", "Idempotent", "OtherSubjectsUntouched", "SimilarSubjectsUntouched"}},
		{"erases everyone", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if err := s.Validate(); err != nil {
					return gdpr.ErasureReport{}, errBadSubject
				}
				return n.eraseWhere(func(gdpr.SubjectID) bool { return true }), nil
			}
		}, []string{"ConcurrentSubjects", "OtherSubjectsUntouched", "SimilarSubjectsUntouched", "UnknownSubject"}},
		{"prefix match, as LIKE 'id%'", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if err := s.Validate(); err != nil {
					return gdpr.ErasureReport{}, errBadSubject
				}
				return n.eraseWhere(func(stored gdpr.SubjectID) bool { return strings.HasPrefix(string(stored), string(s)) }), nil
			}
		}, []string{"SimilarSubjectsUntouched"}},
		{"case-insensitive collation", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if err := s.Validate(); err != nil {
					return gdpr.ErasureReport{}, errBadSubject
				}
				return n.eraseWhere(func(stored gdpr.SubjectID) bool { return strings.EqualFold(string(stored), string(s)) }), nil
			}
		}, []string{"SimilarSubjectsUntouched"}},
		{"PAD SPACE collation", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if err := s.Validate(); err != nil {
					return gdpr.ErasureReport{}, errBadSubject
				}
				trim := func(x gdpr.SubjectID) string { return strings.TrimRight(string(x), " ") }
				return n.eraseWhere(func(stored gdpr.SubjectID) bool { return trim(stored) == trim(s) }), nil
			}
		}, []string{"SimilarSubjectsUntouched"}},
		{"the empty ID matches everyone", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if s == "" {
					return n.eraseWhere(func(gdpr.SubjectID) bool { return true }), nil
				}
				return n.EraseSubject(ctx, s)
			}
		}, []string{"InvalidSubjects"}},
		{"subject ID in the error for an invalid ID", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if err := s.Validate(); err != nil {
					return gdpr.ErasureReport{}, fmt.Errorf("notes: bad subject ID %q: %w", string(s), err)
				}
				return n.EraseSubject(ctx, s)
			}
		}, []string{"InvalidSubjects", "NoPersonalDataInErrors"}},
		{"subject ID in the error for a cancelled context", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if err := ctx.Err(); err != nil {
					return gdpr.ErasureReport{}, fmt.Errorf("notes: erasing %s: %w", string(s), err)
				}
				return n.EraseSubject(ctx, s)
			}
		}, []string{"CancelledContext", "NoPersonalDataInErrors"}},
		{"canary in the error", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if err := ctx.Err(); err != nil {
					n.mu.Lock()
					defer n.mu.Unlock()
					return gdpr.ErasureReport{}, fmt.Errorf("notes: erasing note %q: %w", n.bySubj[s][len(n.bySubj[s])-1].text, err)
				}
				return n.EraseSubject(ctx, s)
			}
		}, []string{"CancelledContext", "NoPersonalDataInErrors"}},
		{"invalid exemption", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				rep, err := n.EraseSubject(ctx, s)
				if rep.Erased > 0 {
					rep.Exemptions = []gdpr.Exemption{{Category: "invoices", Records: 1, Ground: "tax_law"}}
				}
				return rep, err
			}
		}, []string{"CancelledContext", "ConcurrentSubjects", "ErasesSeededSubject", "ExemptionsValid", "Idempotent", "NoPersonalDataInErrors", "OtherSubjectsUntouched", "SimilarSubjectsUntouched"}},
		{"subject ID in an exemption's reason", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				rep, err := n.EraseSubject(ctx, s)
				if rep.Erased > 0 {
					rep.Exemptions = []gdpr.Exemption{{Category: "invoices", Records: 1, Ground: gdpr.GroundLegalObligation,
						Reason: "invoices of " + string(s) + " kept for 10 years (HGB § 257)"}}
				}
				return rep, err
			}
		}, []string{"CancelledContext", "ConcurrentSubjects", "ErasesSeededSubject", "ExemptionsValid", "Idempotent", "NoPersonalDataInErrors", "OtherSubjectsUntouched", "SimilarSubjectsUntouched"}},
		{"panics on a cancelled context", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if ctx.Err() != nil {
					panic("context cancelled")
				}
				return n.EraseSubject(ctx, s)
			}
		}, []string{"CancelledContext", "NoPersonalDataInErrors"}},
		{"claims success on a cancelled context", func(n *notes) gdpr.EraserFunc {
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if ctx.Err() != nil {
					return gdpr.ErasureReport{}, nil
				}
				return n.EraseSubject(ctx, s)
			}
		}, []string{"CancelledContext"}},
		{"unsafe for concurrent use", func(n *notes) gdpr.EraserFunc {
			var busy atomic.Int32
			return func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if busy.Add(1) > 1 {
					busy.Add(-1)
					return gdpr.ErasureReport{}, errors.New("notes: concurrent call")
				}
				defer busy.Add(-1)
				runtimeYield()
				return n.EraseSubject(ctx, s)
			}
		}, []string{"ConcurrentSubjects"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := gdprtest.TestEraser(eraserOver(tc.erase))
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = "Eraser/" + w
			}
			if got := failed(err); !slices.Equal(got, want) {
				t.Errorf("failing checks %v, want %v; the failures:\n%v", got, want, err)
			}
		})
	}
}

// runtimeYield gives concurrent callers time to overlap.
func runtimeYield() {
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {})
	}
	wg.Wait()
}

// exporterOver builds a fixture whose Exporter is export, over the data of
// a notes component.
func exporterOver(export func(n *notes) gdpr.ExporterFunc) func() (gdprtest.ExporterFixture, error) {
	return func() (gdprtest.ExporterFixture, error) {
		n := newNotes()
		seed := func(ctx context.Context, s gdpr.SubjectID, canary string) error {
			for _, text := range []string{"first", "second", canary} {
				if err := n.Add(ctx, s, text); err != nil {
					return err
				}
			}
			return nil
		}
		return gdprtest.ExporterFixture{Exporter: export(n), Seed: seed}, nil
	}
}

// records returns the records of the notes of every stored subject match
// accepts, in the order of their IDs.
func (n *notes) records(match func(stored gdpr.SubjectID) bool) []gdpr.Record {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []gdpr.Record
	for s, ns := range n.bySubj {
		if match(s) {
			for _, x := range ns {
				out = append(out, gdpr.Record{Dataset: "notes", ID: x.id, Fields: map[string]any{"text": x.text}})
			}
		}
	}
	slices.SortFunc(out, func(a, b gdpr.Record) int { return cmp.Compare(atoi(a.ID), atoi(b.ID)) })
	return out
}

func atoi(s string) int {
	i, _ := strconv.Atoi(s)
	return i
}

func (n *notes) recordsOf(s gdpr.SubjectID) []gdpr.Record {
	return n.records(func(stored gdpr.SubjectID) bool { return stored == s })
}

// writeAll writes recs, stopping at the writer's first error.
func writeAll(ctx context.Context, w gdpr.RecordWriter, recs []gdpr.Record) error {
	for _, r := range recs {
		if err := w.WriteRecord(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func TestExporterSuiteCatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		export func(n *notes) gdpr.ExporterFunc
		want   []string // the checks that must fail, and only those
	}{
		{"ignores the writer's error", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				for _, r := range n.recordsOf(s) {
					_ = w.WriteRecord(ctx, r)
				}
				return nil
			}
		}, []string{"StopsAtWriterError"}},
		{"goes on writing after the writer's error", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				var first error
				for _, r := range n.recordsOf(s) {
					if err := w.WriteRecord(ctx, r); err != nil && first == nil {
						first = err
					}
				}
				return first
			}
		}, []string{"StopsAtWriterError"}},
		{"loses the writer's error from the chain", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				if err := writeAll(ctx, w, n.recordsOf(s)); err != nil {
					return fmt.Errorf("notes: export: %v", err)
				}
				return nil
			}
		}, []string{"StopsAtWriterError"}},
		{"subject ID in the writer's error", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				if err := writeAll(ctx, w, n.recordsOf(s)); err != nil {
					return fmt.Errorf("notes: export of %s: %w", string(s), err)
				}
				return nil
			}
		}, []string{"NoPersonalDataInErrors", "StopsAtWriterError"}},
		{"subject ID in the error for an invalid ID", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				if err := s.Validate(); err != nil {
					return fmt.Errorf("notes: no subject %q", string(s))
				}
				return writeAll(ctx, w, n.recordsOf(s))
			}
		}, []string{"InvalidSubjects", "NoPersonalDataInErrors"}},
		{"unstable order", func(n *notes) gdpr.ExporterFunc {
			var calls atomic.Int64
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				recs := n.recordsOf(s)
				if len(recs) > 0 {
					k := int(calls.Add(1)) % len(recs)
					recs = append(recs[k:], recs[:k]...)
				}
				return writeAll(ctx, w, recs)
			}
		}, []string{"CancelledContext", "Concurrent", "OnlyThatSubject", "StableOrder"}},
		{"map order", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				byID := map[string]gdpr.Record{}
				for _, r := range n.recordsOf(s) {
					byID[r.ID] = r
				}
				for _, r := range byID {
					if err := w.WriteRecord(ctx, r); err != nil {
						return err
					}
				}
				return nil
			}
		}, nil}, // which checks see the shuffle is luck; StableOrder must be one
		{"a placeholder record for an unknown subject", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				recs := n.recordsOf(s)
				if len(recs) == 0 {
					recs = []gdpr.Record{{Dataset: "notes", ID: "none", Fields: map[string]any{"text": "no notes"}}}
				}
				return writeAll(ctx, w, recs)
			}
		}, []string{"InvalidSubjects", "OnlyThatSubject", "UnknownSubject"}},
		{"everyone's records", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				return writeAll(ctx, w, n.records(func(gdpr.SubjectID) bool { return true }))
			}
		}, []string{"InvalidSubjects", "OnlyThatSubject", "UnknownSubject"}},
		{"case-insensitive collation", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				return writeAll(ctx, w, n.records(func(stored gdpr.SubjectID) bool { return strings.EqualFold(string(stored), string(s)) }))
			}
		}, []string{"OnlyThatSubject"}},
		{"the empty ID matches everyone", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				return writeAll(ctx, w, n.records(func(stored gdpr.SubjectID) bool { return s == "" || stored == s }))
			}
		}, []string{"InvalidSubjects"}},
		{"a dataset that is no key", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				recs := n.recordsOf(s)
				for i := range recs {
					recs[i].Dataset = "../Notes"
				}
				return writeAll(ctx, w, recs)
			}
		}, []string{"RecordShape"}},
		{"an empty ID", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				recs := n.recordsOf(s)
				for i := range recs {
					recs[i].ID = ""
				}
				return writeAll(ctx, w, recs)
			}
		}, []string{"RecordShape"}},
		{"fields that are not JSON", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				recs := n.recordsOf(s)
				for i := range recs {
					recs[i].Fields["callback"] = func() {}
				}
				return writeAll(ctx, w, recs)
			}
		}, []string{"RecordShape"}},
		{"panics on a cancelled context", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				if ctx.Err() != nil {
					panic("context cancelled")
				}
				return writeAll(ctx, w, n.recordsOf(s))
			}
		}, []string{"CancelledContext", "NoPersonalDataInErrors"}},
		{"claims success on a cancelled context", func(n *notes) gdpr.ExporterFunc {
			return func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				if ctx.Err() != nil {
					return nil
				}
				return writeAll(ctx, w, n.recordsOf(s))
			}
		}, []string{"CancelledContext"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := gdprtest.TestExporter(exporterOver(tc.export))
			got := failed(err)
			if tc.want == nil {
				if !slices.Contains(got, "Exporter/StableOrder") {
					t.Errorf("failing checks %v, want Exporter/StableOrder among them; the failures:\n%v", got, err)
				}
				return
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = "Exporter/" + w
			}
			if !slices.Equal(got, want) {
				t.Errorf("failing checks %v, want %v; the failures:\n%v", got, want, err)
			}
		})
	}
}

// A fixture without its parts fails every check with a message that says
// what is missing, instead of panicking.
func TestFixtureValidation(t *testing.T) {
	n := newNotes()
	for _, tc := range []struct {
		name string
		f    gdprtest.EraserFixture
		want string
	}{
		{"no Eraser", gdprtest.EraserFixture{Seed: n.seed}, "EraserFixture.Eraser is nil"},
		{"no Seed", gdprtest.EraserFixture{Eraser: n}, "EraserFixture.Seed is nil"},
		{"no Present, no Exporter", gdprtest.EraserFixture{Eraser: gdpr.EraserFunc(n.EraseSubject), Seed: n.seed}, "is not a gdpr.Exporter"},
		{"Seed that stores nothing", gdprtest.EraserFixture{Eraser: n, Seed: func(context.Context, gdpr.SubjectID, string) error { return nil }}, "Present reports no data"},
	} {
		err := gdprtest.TestEraser(func() (gdprtest.EraserFixture, error) { return tc.f, nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want every check to fail with %q", tc.name, err, tc.want)
		}
	}
	err := gdprtest.TestExporter(func() (gdprtest.ExporterFixture, error) { return gdprtest.ExporterFixture{Seed: n.seed}, nil })
	if err == nil || !strings.Contains(err.Error(), "ExporterFixture.Exporter is nil") {
		t.Errorf("no Exporter: %v", err)
	}
	err = gdprtest.TestExporter(func() (gdprtest.ExporterFixture, error) { return gdprtest.ExporterFixture{}, errors.New("no database") })
	if err == nil || !strings.Contains(err.Error(), "making the fixture: no database") {
		t.Errorf("fixture error: %v", err)
	}
}

// helperEnv selects the broken component TestHelperProcess runs the
// suites on.
const helperEnv = "GDPRTEST_HELPER"

// TestHelperProcess is not a test: TestRunFailsBrokenComponents runs the
// test binary again with only this test, to run RunEraserTests and
// RunExporterTests on broken components with a real *testing.T and read
// the verdict the go command would print.
func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("helper process of TestRunFailsBrokenComponents")
	case "eraser":
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture {
			n := newNotes()
			e := gdpr.EraserFunc(func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
				if ctx.Err() != nil {
					panic("context cancelled")
				}
				rep, err := n.EraseSubject(ctx, s)
				if err == nil && rep.Erased == 0 {
					return rep, fmt.Errorf("notes: %w", gdpr.ErrNotFound)
				}
				return rep, err
			})
			return gdprtest.EraserFixture{Eraser: e, Seed: n.seed, Present: n.present}
		})
	case "exporter":
		gdprtest.RunExporterTests(t, func(t *testing.T) gdprtest.ExporterFixture {
			n := newNotes()
			e := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
				for _, r := range n.recordsOf(s) {
					_ = w.WriteRecord(ctx, r)
				}
				return nil
			})
			return gdprtest.ExporterFixture{Exporter: e, Seed: n.seed}
		})
	}
}

func TestRunFailsBrokenComponents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the test binary again")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("cannot find the test binary to run it again: %v", err)
	}
	for _, tc := range []struct {
		suite      string
		fail, pass []string
		say        string
	}{
		{"eraser", []string{"Idempotent", "CancelledContext", "UnknownSubject"}, []string{"ErasesSeededSubject", "OtherSubjectsUntouched", "InvalidSubjects"},
			"gdpr.Eraser must be idempotent"},
		{"exporter", []string{"StopsAtWriterError"}, []string{"ExportsSeededSubject", "StableOrder", "UnknownSubject", "OnlyThatSubject", "RecordShape", "Concurrent"},
			"gdpr.Exporter stops at the first error the RecordWriter returns"},
	} {
		t.Run(tc.suite, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestHelperProcess$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+tc.suite)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite on a broken %s: %v, want a failing test binary; output:\n%s", tc.suite, err, out)
			}
			for _, c := range tc.fail {
				if !strings.Contains(string(out), "--- FAIL: TestHelperProcess/"+c+" ") {
					t.Errorf("subtest %s did not fail; output:\n%s", c, out)
				}
			}
			for _, c := range tc.pass {
				if !strings.Contains(string(out), "--- PASS: TestHelperProcess/"+c+" ") {
					t.Errorf("subtest %s did not pass; output:\n%s", c, out)
				}
			}
			if !strings.Contains(string(out), tc.say) {
				t.Errorf("the failures do not quote the contract %q; output:\n%s", tc.say, out)
			}
		})
	}
}
