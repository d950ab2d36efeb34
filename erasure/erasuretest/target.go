package erasuretest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/gdprtest"
)

// TargetFixture is one fresh erasure target under test for
// RunTargetTests: a host's store, or a component of this module, that the
// Engine's erasure fans out to.
type TargetFixture struct {
	// EraserFixture is the target (a gdpr.Eraser) with the Seed and
	// Present hooks of gdprtest's Eraser suite, which RunTargetTests runs
	// on it. Required.
	gdprtest.EraserFixture

	// SeedRetained, if set, stores data about subject that the target
	// keeps back when the subject is erased, on a ground of Art. 17(3):
	// an invoice a tax law obliges the controller to keep, a record under
	// a legal hold. Leave it nil for a target that erases everything; the
	// Retained checks then skip. It is called once per subject, from one
	// goroutine at a time.
	SeedRetained func(ctx context.Context, subject gdpr.SubjectID) error
}

// RunTargetTests checks that the erasure target newFixture makes meets
// what the Engine relies on when it erases a subject through it, one
// subtest per behaviour, each with a fresh fixture (newFixture is called
// with the subtest's t, so it may use t.Cleanup and t.Fatal).
//
// The Engine persists every step's outcome and, after a crash or a
// failure, runs the step again; it erases different subjects from many
// workers at once; and it writes a target's error text and report into
// the request's record. So a target must be idempotent, isolated and
// concurrent, and say nothing personal, which is the contract of
// gdpr.Eraser: RunTargetTests runs gdprtest.RunEraserTests under
// "Eraser" for all of that (erasure of a seeded subject, idempotence,
// unknown, other and similar subjects untouched, invalid IDs, no
// personal data in errors or reports, valid exemptions, a cancelled
// context, concurrent subjects) rather than repeat it, and adds what is
// particular to a target of the Engine:
//
//   - Retained/Named, when SeedRetained is set: erasing a subject that
//     has both data the target erases and data it keeps back succeeds,
//     counts the erased records, and names what it kept in valid
//     Exemptions counting at least one record, so the Step's outcome is
//     retained and the reply to the subject can name the ground
//     (Art. 12(4), 17(3)).
//   - Retained/Again: erasing that subject again succeeds with nothing
//     more erased (it may name the exemptions again: the data is still
//     kept).
//   - Retained/Only: a subject with only retained data is erased with a
//     report that erases nothing or names an exemption, never an error.
//   - Retained/Isolated: erasing a subject with retained data leaves
//     another subject's data in place.
//   - Retained/NoSubjectInErrorsOrReports: neither errors nor reports of
//     the Retained checks hold the subject ID.
//   - Latency, when the target implements gdpr.ErasureLatency: the
//     latency is not negative and the same on every call, so the Engine
//     can compute SettleUntil from it.
func RunTargetTests(t *testing.T, newFixture func(t *testing.T) TargetFixture) {
	t.Helper()
	t.Run("Eraser", func(t *testing.T) {
		gdprtest.RunEraserTests(t, func(t *testing.T) gdprtest.EraserFixture { return newFixture(t).EraserFixture })
	})
	t.Run("Retained", func(t *testing.T) {
		for _, c := range []struct {
			name string
			run  func(*testing.T, TargetFixture)
		}{
			{"Named", testRetainedNamed},
			{"Again", testRetainedAgain},
			{"Only", testRetainedOnly},
			{"Isolated", testRetainedIsolated},
			{"NoSubjectInErrorsOrReports", testRetainedNoSubject},
		} {
			t.Run(c.name, func(t *testing.T) {
				f := newFixture(t)
				if f.Eraser == nil || f.Seed == nil {
					t.Fatal("TargetFixture.Eraser and TargetFixture.Seed are required")
				}
				if f.SeedRetained == nil {
					t.Skip("TargetFixture.SeedRetained is nil: the target keeps nothing back")
				}
				c.run(t, f)
			})
		}
	})
	t.Run("Latency", func(t *testing.T) {
		f := newFixture(t)
		l, ok := f.Eraser.(gdpr.ErasureLatency)
		if !ok {
			t.Skipf("the target (%T) does not implement gdpr.ErasureLatency: its erasure is visible everywhere at once", f.Eraser)
		}
		d := l.ErasureLatency()
		if d < 0 {
			t.Errorf("ErasureLatency() = %s; want zero or more: the Engine waits that long after the last step", d)
		}
		if again := l.ErasureLatency(); again != d {
			t.Errorf("ErasureLatency() = %s, then %s; want the same on every call: the Engine computes SettleUntil from it", d, again)
		}
	})
}

// The contract of a target that keeps data back, quoted in failures.
const retainedContract = "an erasure that keeps data back on a ground of Art. 17(3) succeeds and names what it kept in the report's Exemptions"

// targetSubject returns a random subject ID for role, so a fixture over a
// shared database meets none of an earlier run's data.
func targetSubject(role string) gdpr.SubjectID {
	var b [6]byte
	rand.Read(b[:])
	return gdpr.SubjectID("erasuretest-" + hex.EncodeToString(b[:]) + "-" + role)
}

// canary is the value that looks like personal data which the Retained
// checks give Seed for s, and then look for in errors and reports.
func canary(s gdpr.SubjectID) string {
	return "ada.lovelace." + strings.ReplaceAll(string(s), "erasuretest-", "") + "@example.com"
}

// seedBoth seeds s with data the target erases and data it keeps back.
func seedBoth(t *testing.T, f TargetFixture, s gdpr.SubjectID) {
	t.Helper()
	if err := f.Seed(t.Context(), s, canary(s)); err != nil {
		t.Fatalf("Seed: %v", err)
	}
	if err := f.SeedRetained(t.Context(), s); err != nil {
		t.Fatalf("SeedRetained: %v", err)
	}
}

// leaks reports whether text holds s or its canary.
func leaks(text string, s gdpr.SubjectID) bool {
	return strings.Contains(text, string(s)) || strings.Contains(text, canary(s))
}

// eraseTarget erases s with ctx and checks what every report must meet:
// neither the subject ID nor its canary in the error or report,
// exemptions valid.
func eraseTarget(t *testing.T, f TargetFixture, s gdpr.SubjectID, call string) (gdpr.ErasureReport, error) {
	t.Helper()
	return eraseTargetCtx(t, t.Context(), f, s, call)
}

func eraseTargetCtx(t *testing.T, ctx context.Context, f TargetFixture, s gdpr.SubjectID, call string) (gdpr.ErasureReport, error) {
	t.Helper()
	rep, err := f.Eraser.EraseSubject(ctx, s)
	if err != nil {
		for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err)} {
			if leaks(text, s) {
				t.Errorf("%s: the error %q holds the subject ID or the data seeded: gdpr.Eraser: errors it returns carry no personal data", call, text)
			}
		}
	}
	if rep.Erased < 0 {
		t.Errorf("%s reports %d records erased; want 0 or more", call, rep.Erased)
	}
	for i, x := range rep.Exemptions {
		if verr := x.Validate(); verr != nil {
			t.Errorf("%s: Exemptions[%d] is invalid: %v: an exemption names a category, a ground of Art. 17(3) and a non-negative count", call, i, verr)
		}
		if leaks(x.Category+" "+x.Reason+" "+string(x.Ground), s) {
			t.Errorf("%s: Exemptions[%d] holds the subject ID or the data seeded: the report goes into the request's record and the reply, and carries no personal data", call, i)
		}
	}
	return rep, err
}

func kept(rep gdpr.ErasureReport) int64 {
	var n int64
	for _, x := range rep.Exemptions {
		n += x.Records
	}
	return n
}

func testRetainedNamed(t *testing.T, f TargetFixture) {
	s := targetSubject("a")
	seedBoth(t, f, s)
	rep, err := eraseTarget(t, f, s, "EraseSubject(a subject with erasable and retained data)")
	if err != nil {
		t.Fatalf("EraseSubject of a subject with retained data: %v; want success: %s", err, retainedContract)
	}
	if rep.Erased < 1 {
		t.Errorf("EraseSubject reports %d records erased; want at least 1: Seed stored data the target erases", rep.Erased)
	}
	if len(rep.Exemptions) == 0 || kept(rep) < 1 {
		t.Errorf("EraseSubject reports Exemptions %+v; want at least one counting the records SeedRetained stored: %s", rep.Exemptions, retainedContract)
	}
}

func testRetainedAgain(t *testing.T, f TargetFixture) {
	s := targetSubject("a")
	seedBoth(t, f, s)
	if _, err := eraseTarget(t, f, s, "EraseSubject"); err != nil {
		t.Fatalf("EraseSubject: %v", err)
	}
	for _, attempt := range []string{"second", "third"} {
		rep, err := eraseTarget(t, f, s, attempt+" EraseSubject")
		if err != nil {
			t.Fatalf("%s EraseSubject of a subject with retained data: %v; want success: the Engine runs a step again after a crash", attempt, err)
		}
		if rep.Erased != 0 {
			t.Errorf("%s EraseSubject reports %d records erased; want 0: gdpr.Eraser must be idempotent", attempt, rep.Erased)
		}
	}
}

func testRetainedOnly(t *testing.T, f TargetFixture) {
	s := targetSubject("a")
	if err := f.SeedRetained(t.Context(), s); err != nil {
		t.Fatalf("SeedRetained: %v", err)
	}
	rep, err := eraseTarget(t, f, s, "EraseSubject(a subject with only retained data)")
	if err != nil {
		t.Fatalf("EraseSubject of a subject with only retained data: %v; want success: %s", err, retainedContract)
	}
	if rep.Erased == 0 && kept(rep) < 1 {
		t.Errorf("EraseSubject of a subject with only retained data = %+v; want Exemptions counting the records kept: %s", rep, retainedContract)
	}
}

func testRetainedIsolated(t *testing.T, f TargetFixture) {
	a, b := targetSubject("a"), targetSubject("b")
	seedBoth(t, f, a)
	if err := f.Seed(t.Context(), b, canary(b)); err != nil {
		t.Fatalf("Seed(b): %v", err)
	}
	if _, err := eraseTarget(t, f, a, "EraseSubject(a)"); err != nil {
		t.Fatalf("EraseSubject(a): %v", err)
	}
	rep, err := eraseTarget(t, f, b, "EraseSubject(b) after a")
	if err != nil {
		t.Fatalf("EraseSubject(b): %v", err)
	}
	if rep.Erased < 1 {
		t.Errorf("erasing b after a reports %d records erased; want at least 1: erasing a subject with retained data removed another subject's data", rep.Erased)
	}
}

func testRetainedNoSubject(t *testing.T, f TargetFixture) {
	s := targetSubject("a")
	seedBoth(t, f, s)
	eraseTarget(t, f, s, "EraseSubject")
	eraseTarget(t, f, s, "EraseSubject, again")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	eraseTargetCtx(t, ctx, f, s, "EraseSubject with a cancelled context")
	eraseTarget(t, f, targetSubject("unknown"), "EraseSubject of an unknown subject")
}
