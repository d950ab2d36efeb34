package gdprtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
)

// EraserFixture is one fresh component under test for the Eraser suite,
// with the two hooks the suite needs to put a subject's data in and to see
// whether it is still there. Each check of the suite builds its own.
type EraserFixture struct {
	// Eraser is the component under test. It holds no data about the
	// suite's subjects when the fixture is made (the suite's subject IDs
	// are random, so a shared database may hold other data). Required.
	Eraser gdpr.Eraser

	// Seed stores data about subject in the component, as the host's
	// application would: a consent given, a field encrypted, an event
	// recorded, a row inserted. The data must be of a kind the component
	// erases, not data it keeps back under an exemption, so that
	// EraseSubject afterwards counts at least one record. Where the
	// component holds free text, Seed plants canary in it (a name, a
	// plaintext, a note): a value that looks like personal data and that
	// the suite then looks for in every error and report. Seed is called
	// once per subject, from one goroutine at a time. Required.
	Seed func(ctx context.Context, subject gdpr.SubjectID, canary string) error

	// Present reports whether the component still holds data about
	// subject that can be read and linked to them. It is asked only about
	// subjects the suite seeded. An error fails the check.
	//
	// If Present is nil, the Eraser must also be a gdpr.Exporter, and the
	// subject's data is present while ExportSubject writes a record for
	// them.
	Present func(ctx context.Context, subject gdpr.SubjectID) (bool, error)
}

// eraserChecks are the behaviours RunEraserTests and TestEraser check, in
// order; each name is a subtest.
var eraserChecks = []struct {
	name string
	run  func(*eraserRun)
}{
	{"ErasesSeededSubject", (*eraserRun).erasesSeeded},
	{"Idempotent", (*eraserRun).idempotent},
	{"UnknownSubject", (*eraserRun).unknownSubject},
	{"OtherSubjectsUntouched", (*eraserRun).otherSubjects},
	{"SimilarSubjectsUntouched", (*eraserRun).similarSubjects},
	{"InvalidSubjects", (*eraserRun).invalidSubjects},
	{"NoPersonalDataInErrors", (*eraserRun).noPersonalData},
	{"ExemptionsValid", (*eraserRun).exemptionsValid},
	{"CancelledContext", (*eraserRun).cancelledContext},
	{"ConcurrentSubjects", (*eraserRun).concurrent},
}

// RunEraserTests checks that the gdpr.Eraser newFixture makes meets the
// contract of gdpr.Eraser, as a host's own store should before it is
// added to the erasure workflow's targets. It runs one subtest per
// behaviour, each with a fresh fixture from newFixture (called with the
// subtest's t, so it may use t.Cleanup and t.Fatal):
//
//   - ErasesSeededSubject: after EraseSubject the seeded data is gone
//     and the report counts at least one record erased.
//   - Idempotent: erasing an already erased subject succeeds and reports
//     nothing more erased.
//   - UnknownSubject: erasing a subject the component never held
//     succeeds with a zero report, and touches no one else.
//   - OtherSubjectsUntouched: erasing one subject leaves every other
//     subject's data in place.
//   - SimilarSubjectsUntouched: nor does it touch subjects whose IDs
//     extend it, are a prefix of it, or differ from it only in case or by
//     a trailing space (prefix matches, LIKE patterns, case-insensitive
//     or PAD SPACE collations).
//   - InvalidSubjects: an empty, over-long, non-UTF-8 or control-character
//     subject ID is refused or treated as unknown, and matches no one's
//     data.
//   - NoPersonalDataInErrors: no error, under %v or %+v, and no report
//     holds a subject ID or the canary Seed planted. Every error and
//     report of every other check is searched as well.
//   - ExemptionsValid: every Exemption of every report passes Validate
//     (a category, a ground of Art. 17(3), no negative count).
//   - CancelledContext: with a cancelled context EraseSubject returns an
//     error or completes, never panics, and if it reports success the
//     data is gone; the subject can be erased afterwards.
//   - ConcurrentSubjects: different subjects erased from concurrent
//     goroutines are each erased, and bystanders are not (run the tests
//     with -race).
//
// A panic in the component fails its subtest, not the test binary.
func RunEraserTests(t *testing.T, newFixture func(t *testing.T) EraserFixture) {
	t.Helper()
	for _, c := range eraserChecks {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			runEraserCheck(t, f, c.run)
		})
	}
}

// TestEraser runs the checks of RunEraserTests without a *testing.T, each
// with a fresh fixture from newFixture, and returns every failure joined
// with errors.Join, each prefixed with "Eraser/<check>:", or nil when the
// component passes. It is for Examples and programs; tests should call
// RunEraserTests, which reports each check as its own subtest.
func TestEraser(newFixture func() (EraserFixture, error)) error {
	names := make([]string, len(eraserChecks))
	for i, c := range eraserChecks {
		names[i] = c.name
	}
	return collect("Eraser", names, func(r reporter, i int) {
		f, err := newFixture()
		if err != nil {
			r.Fatalf("making the fixture: %v", err)
		}
		runEraserCheck(r, f, eraserChecks[i].run)
	})
}

func runEraserCheck(r reporter, f EraserFixture, check func(*eraserRun)) {
	r.Helper()
	switch {
	case f.Eraser == nil:
		r.Fatalf("EraserFixture.Eraser is nil")
	case f.Seed == nil:
		r.Fatalf("EraserFixture.Seed is nil")
	case f.Present == nil:
		if _, ok := f.Eraser.(gdpr.Exporter); !ok {
			r.Fatalf("EraserFixture.Present is nil and the Eraser (%T) is not a gdpr.Exporter: the suite cannot see whether data is gone", f.Eraser)
		}
	}
	check(&eraserRun{r: r, f: f, ctx: r.Context(), n: newNames()})
}

// eraserRun is one check's state.
type eraserRun struct {
	r   reporter
	f   EraserFixture
	ctx context.Context
	n   *names
}

// The contract, quoted in failure messages.
const (
	eraseContract      = "gdpr.Eraser erases everything a component holds about the subject, or makes it permanently unreadable"
	idempotentContract = "gdpr.Eraser must be idempotent: erasing a subject that is already erased succeeds with a zero report, so that a workflow that crashed half-way can run every step again"
	unknownContract    = "gdpr.Eraser: erasing a subject that is unknown succeeds with a zero report"
	othersContract     = "gdpr.Eraser erases one data subject's data and no one else's"
	noPDContract       = "gdpr.Eraser: errors it returns carry no personal data"
	concurrentContract = "gdpr.Eraser is safe for concurrent use for different subjects"
)

func (e *eraserRun) seed(role string) gdpr.SubjectID {
	e.r.Helper()
	s := e.n.subject(role)
	e.seedID(role, s)
	return s
}

func (e *eraserRun) seedID(role string, s gdpr.SubjectID) {
	e.r.Helper()
	if err := e.f.Seed(e.ctx, s, e.n.canary()); err != nil {
		e.r.Fatalf("Seed(%s): %v", role, err)
	}
}

// present reports whether the fixture still finds s's data.
func (e *eraserRun) present(role string, s gdpr.SubjectID) bool {
	e.r.Helper()
	var ok bool
	var err error
	if safely(e.r, fmt.Sprintf("Present(%s)", role), func() { ok, err = presentIn(e.ctx, e.f, s) }) {
		e.r.Fatalf("Present(%s) panicked", role)
	}
	if err != nil {
		e.r.Fatalf("Present(%s): %v", role, err)
	}
	return ok
}

// errStopPresence stops an export once it has shown that data is present.
var errStopPresence = errors.New("gdprtest: presence shown")

func presentIn(ctx context.Context, f EraserFixture, s gdpr.SubjectID) (bool, error) {
	if f.Present != nil {
		return f.Present(ctx, s)
	}
	return ExportsAny(f.Eraser.(gdpr.Exporter))(ctx, s)
}

// ExportsAny returns a Present function for an EraserFixture that asks x:
// a subject's data is present while x exports at least one record of
// theirs. Give it an Exporter other than the Eraser under test (another
// instance over the same storage, say) to check that an erasure holds for
// everyone who reads the data.
func ExportsAny(x gdpr.Exporter) func(ctx context.Context, subject gdpr.SubjectID) (bool, error) {
	return func(ctx context.Context, subject gdpr.SubjectID) (bool, error) {
		n := 0
		err := x.ExportSubject(ctx, subject, gdpr.RecordWriterFunc(func(context.Context, gdpr.Record) error {
			n++
			return errStopPresence
		}))
		if n > 0 {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("ExportSubject, used to observe the data: %w", err)
		}
		return false, nil
	}
}

// mustBeSeeded fails the check if Seed left nothing Present can see.
func (e *eraserRun) mustBeSeeded(role string, s gdpr.SubjectID) {
	e.r.Helper()
	if !e.present(role, s) {
		e.r.Fatalf("after Seed(%s), Present reports no data: the fixture cannot show whether EraseSubject works", role)
	}
}

// erase calls EraseSubject and checks what every call must meet: no
// panic, no personal data in the error or the report, a valid report.
func (e *eraserRun) erase(ctx context.Context, role string, s gdpr.SubjectID) (rep gdpr.ErasureReport, ok bool, err error) {
	e.r.Helper()
	call := fmt.Sprintf("EraseSubject(%s)", role)
	if safely(e.r, call, func() { rep, err = e.f.Eraser.EraseSubject(ctx, s) }) {
		return rep, false, err
	}
	e.checkResult(call, rep, err)
	return rep, true, err
}

func (e *eraserRun) checkResult(call string, rep gdpr.ErasureReport, err error) {
	e.r.Helper()
	if l := e.n.errLeak(err); l != "" {
		e.r.Errorf("%s: %s: %s", call, l, noPDContract)
	}
	if rep.Erased < 0 {
		e.r.Errorf("%s reports %d records erased: ErasureReport.Erased counts records and cannot be negative", call, rep.Erased)
	}
	for i, x := range rep.Exemptions {
		if verr := x.Validate(); verr != nil {
			e.r.Errorf("%s: Exemptions[%d] is invalid: %v: an exemption names a category, a ground of Art. 17(3) and a non-negative count", call, i, verr)
		}
		for _, text := range []string{x.Category, x.Reason, string(x.Ground)} {
			if p := e.n.leak(text); p != "" {
				e.r.Errorf("%s: Exemptions[%d] holds the personal data %q: the report goes into the reply to the subject and the request's record, and carries no personal data", call, i, p)
			}
		}
	}
}

// mustErase erases s and fails the check unless it succeeded.
func (e *eraserRun) mustErase(role string, s gdpr.SubjectID) gdpr.ErasureReport {
	e.r.Helper()
	rep, ok, err := e.erase(e.ctx, role, s)
	if !ok {
		e.r.Fatalf("EraseSubject(%s) panicked", role)
	}
	if err != nil {
		e.r.Fatalf("EraseSubject(%s): %v", role, err)
	}
	return rep
}

func (e *eraserRun) erasesSeeded() {
	a := e.seed("a")
	e.mustBeSeeded("a", a)
	rep := e.mustErase("a", a)
	if rep.Erased < 1 {
		e.r.Errorf("EraseSubject(seeded subject) reports %d records erased, want at least 1: Seed stored data, and ErasureReport.Erased counts the records removed or made unreadable", rep.Erased)
	}
	if e.present("a", a) {
		e.r.Errorf("after EraseSubject the seeded subject's data is still present: %s", eraseContract)
	}
}

func (e *eraserRun) idempotent() {
	a := e.seed("a")
	e.mustBeSeeded("a", a)
	e.mustErase("a", a)
	for _, attempt := range []string{"second", "third"} {
		rep, ok, err := e.erase(e.ctx, "a", a)
		if !ok {
			return
		}
		if err != nil {
			e.r.Fatalf("%s EraseSubject of the same subject failed: %v: %s", attempt, err, idempotentContract)
		}
		// Exemptions may be named again: what was kept back is still kept,
		// and a workflow that lost the first report needs them for the reply.
		if rep.Erased != 0 {
			e.r.Errorf("%s EraseSubject of the same subject reports %d records erased, want 0: %s", attempt, rep.Erased, idempotentContract)
		}
	}
	if e.present("a", a) {
		e.r.Errorf("after erasing the subject three times its data is present: %s", eraseContract)
	}
}

func (e *eraserRun) wantZero(call string, rep gdpr.ErasureReport, err error, contract string) {
	e.r.Helper()
	if err != nil {
		e.r.Errorf("%s: %v, want success: %s", call, err, contract)
		return
	}
	if rep.Erased != 0 || len(rep.Exemptions) != 0 {
		e.r.Errorf("%s = %+v, want a zero report: %s", call, rep, contract)
	}
}

func (e *eraserRun) unknownSubject() {
	u := e.n.subject("unknown")
	if rep, ok, err := e.erase(e.ctx, "unknown subject, empty component", u); ok {
		e.wantZero("EraseSubject(unknown subject) of an empty component", rep, err, unknownContract)
	}
	b := e.seed("b")
	e.mustBeSeeded("b", b)
	if rep, ok, err := e.erase(e.ctx, "unknown subject", u); ok {
		e.wantZero("EraseSubject(unknown subject) beside a seeded one", rep, err, unknownContract)
	}
	if !e.present("b", b) {
		e.r.Errorf("erasing an unknown subject removed another subject's data: %s", othersContract)
	}
}

func (e *eraserRun) otherSubjects() {
	a, b, c := e.seed("a"), e.seed("b"), e.seed("c")
	for _, x := range []struct {
		role string
		s    gdpr.SubjectID
	}{{"a", a}, {"b", b}, {"c", c}} {
		e.mustBeSeeded(x.role, x.s)
	}
	e.mustErase("b", b)
	if e.present("b", b) {
		e.r.Errorf("after EraseSubject the subject's data is still present: %s", eraseContract)
	}
	for _, x := range []struct {
		role string
		s    gdpr.SubjectID
	}{{"a", a}, {"c", c}} {
		if !e.present(x.role, x.s) {
			e.r.Errorf("erasing subject b removed the data of subject %s: %s", x.role, othersContract)
			continue
		}
		if rep := e.mustErase(x.role, x.s); rep.Erased < 1 {
			e.r.Errorf("erasing subject %s after subject b reports %d records erased, want at least 1: %s", x.role, rep.Erased, othersContract)
		}
	}
}

func (e *eraserRun) similarSubjects() {
	target := e.n.subject("a")
	others := e.n.similar(target)
	for _, o := range others {
		e.seedID(o.what, o.id)
	}
	e.seedID("target", target)
	for _, o := range others {
		e.mustBeSeeded(o.what, o.id)
	}
	e.mustBeSeeded("target", target)
	e.mustErase("target", target)
	if e.present("target", target) {
		e.r.Errorf("after EraseSubject the subject's data is still present: %s", eraseContract)
	}
	// A pattern that matches every other ID as a LIKE or a glob would.
	wild := e.n.raw(string(target[:len(target)-1]) + "%")
	if rep, ok, err := e.erase(e.ctx, "an unknown subject whose ID ends in %", wild); ok {
		e.wantZero("EraseSubject(unknown subject whose ID ends in %)", rep, err, unknownContract)
	}
	for _, o := range others {
		if !e.present(o.what, o.id) {
			e.r.Errorf("erasing a subject removed the data of %s: %s; subject IDs are compared byte for byte", o.what, othersContract)
		}
	}
}

func (e *eraserRun) invalidSubjects() {
	b := e.seed("b")
	e.mustBeSeeded("b", b)
	for _, x := range e.n.invalidSubjects() {
		rep, ok, err := e.erase(e.ctx, x.what, x.id)
		if !ok || err != nil {
			continue // refusing it is right; checkResult searched the error
		}
		if rep.Erased != 0 || len(rep.Exemptions) != 0 {
			e.r.Errorf("EraseSubject(%s) = %+v: an invalid ID names no one, so it is refused or erases nothing", x.what, rep)
		}
	}
	if !e.present("b", b) {
		e.r.Errorf("erasing invalid subject IDs removed another subject's data: %s", othersContract)
	}
}

func (e *eraserRun) noPersonalData() {
	// Every error of this and the other checks is searched by erase; here
	// the component is pushed onto its error paths.
	a := e.seed("a")
	e.mustBeSeeded("a", a)
	e.erase(cancelled(e.ctx), "a, cancelled context", a)
	dl, cancel := context.WithDeadline(e.ctx, deadlinePassed)
	defer cancel()
	e.erase(dl, "a, deadline passed", a)
	for _, x := range e.n.invalidSubjects() {
		e.erase(e.ctx, x.what, x.id)
	}
	e.erase(e.ctx, "a", a)
	e.erase(e.ctx, "a, again", a)
}

func (e *eraserRun) exemptionsValid() {
	// Every report of every check is validated by erase; here several
	// subjects are erased so a component that keeps some data back shows it.
	for _, role := range []string{"a", "b", "c"} {
		s := e.seed(role)
		e.mustErase(role, s)
		e.erase(e.ctx, role+", again", s)
	}
}

func (e *eraserRun) cancelledContext() {
	a := e.seed("a")
	e.mustBeSeeded("a", a)
	_, ok, err := e.erase(cancelled(e.ctx), "a, cancelled context", a)
	if ok && err == nil && e.present("a", a) {
		e.r.Errorf("EraseSubject with a cancelled context returned success but the subject's data is still present: success means erased; %s", eraseContract)
	}
	if _, ok, err := e.erase(e.ctx, "a, after a cancelled call", a); ok && err != nil {
		e.r.Fatalf("EraseSubject after a cancelled EraseSubject failed: %v: a cancelled call leaves the subject erasable; %s", err, idempotentContract)
	}
	if e.present("a", a) {
		e.r.Errorf("after a cancelled EraseSubject and a second one, the subject's data is still present: %s", eraseContract)
	}
}

const concurrentSubjects = 8

func (e *eraserRun) concurrent() {
	subjects := make([]gdpr.SubjectID, concurrentSubjects)
	for i := range subjects {
		subjects[i] = e.seed(fmt.Sprintf("c%d", i))
	}
	bystanders := []gdpr.SubjectID{e.seed("bystander1"), e.seed("bystander2")}
	type result struct {
		first, second gdpr.ErasureReport
		err1, err2    error
		panic         any
	}
	results := make([]result, len(subjects))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range subjects {
		wg.Go(func() {
			defer func() { results[i].panic = recover() }()
			<-start
			results[i].first, results[i].err1 = e.f.Eraser.EraseSubject(e.ctx, s)
			results[i].second, results[i].err2 = e.f.Eraser.EraseSubject(e.ctx, s)
		})
	}
	close(start)
	wg.Wait()
	for i, res := range results {
		call := fmt.Sprintf("concurrent EraseSubject(c%d)", i)
		if res.panic != nil {
			e.r.Errorf("%s panicked: %v: %s", call, res.panic, concurrentContract)
			continue
		}
		e.checkResult(call, res.first, res.err1)
		e.checkResult(call+" again", res.second, res.err2)
		switch {
		case res.err1 != nil:
			e.r.Errorf("%s: %v: %s", call, res.err1, concurrentContract)
		case res.first.Erased < 1:
			e.r.Errorf("%s reports %d records erased, want at least 1: %s", call, res.first.Erased, concurrentContract)
		}
		switch {
		case res.err2 != nil:
			e.r.Errorf("%s, repeated: %v: %s", call, res.err2, idempotentContract)
		case res.second.Erased != 0:
			e.r.Errorf("%s, repeated, reports %d records erased, want 0: %s", call, res.second.Erased, idempotentContract)
		}
	}
	for i, s := range subjects {
		if e.present(fmt.Sprintf("c%d", i), s) {
			e.r.Errorf("after concurrent erasure the data of subject c%d is still present: %s", i, concurrentContract)
		}
	}
	for i, s := range bystanders {
		if !e.present(fmt.Sprintf("bystander%d", i+1), s) {
			e.r.Errorf("concurrent erasure of other subjects removed the data of bystander %d: %s", i+1, othersContract)
		}
	}
}
