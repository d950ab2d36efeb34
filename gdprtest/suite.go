package gdprtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
)

// reporter is what a check reports to: the subtest's *testing.T under
// RunEraserTests and RunExporterTests, a collector under TestEraser and
// TestExporter. Fatalf stops the check; Errorf does not. Neither may be
// called from a goroutine other than the check's own.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Context() context.Context
}

var _ reporter = (*testing.T)(nil)

// collector is the reporter of the error-returning forms.
type collector struct {
	suite, check string
	ctx          context.Context
	errs         []error
}

// stopCheck is the panic value with which collector.Fatalf ends a check.
type stopCheck struct{}

func (c *collector) Helper()                  {}
func (c *collector) Context() context.Context { return c.ctx }

func (c *collector) Errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s/%s: %s", c.suite, c.check, fmt.Sprintf(format, args...)))
}

func (c *collector) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	panic(stopCheck{})
}

// collect runs check i of names with a collector of its own, for each i
// in turn, and returns every failure joined, or nil.
func collect(suite string, names []string, run func(r reporter, i int)) error {
	var errs []error
	for i, name := range names {
		ctx, cancel := context.WithCancel(context.Background())
		c := &collector{suite: suite, check: name, ctx: ctx}
		func() {
			defer func() {
				if p := recover(); p != nil {
					if _, ok := p.(stopCheck); !ok {
						c.Errorf("panic: %v\n%s", p, debug.Stack())
					}
				}
			}()
			run(c, i)
		}()
		cancel()
		errs = append(errs, c.errs...)
	}
	return errors.Join(errs...)
}

// names is a run's source of subject IDs and canaries: random, so that
// a fixture over a shared database meets none of an earlier run's data,
// and recorded, so that every error and report can be searched for them.
type names struct {
	base     string
	personal []string // every subject ID and canary handed out
}

func newNames() *names {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand.Read does not fail on supported platforms
	}
	return &names{base: "gdprtest-" + hex.EncodeToString(b[:])}
}

// subject returns the subject ID for role, e.g. "gdprtest-0a1b2c3d4e5f-a".
func (n *names) subject(role string) gdpr.SubjectID {
	return n.raw(n.base + "-" + role)
}

// raw records s as personal data and returns it as a SubjectID.
func (n *names) raw(s string) gdpr.SubjectID {
	n.personal = append(n.personal, s)
	return gdpr.SubjectID(s)
}

// canary returns a value that looks like personal data (an e-mail
// address) for Seed to plant in the component's data.
func (n *names) canary() string {
	var b [4]byte
	rand.Read(b[:])
	c := "ada.lovelace." + hex.EncodeToString(b[:]) + "@example.com"
	n.personal = append(n.personal, c)
	return c
}

// leak returns the first recorded subject ID or canary that text
// contains, or "".
func (n *names) leak(text string) string {
	for _, p := range n.personal {
		if p != "" && strings.Contains(text, p) {
			return p
		}
	}
	return ""
}

// errLeak returns a description of the personal data err's text holds
// under %v or %+v, or "".
func (n *names) errLeak(err error) string {
	if err == nil {
		return ""
	}
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err)} {
		if p := n.leak(text); p != "" {
			return fmt.Sprintf("the error %q holds the personal data %q", text, p)
		}
	}
	return ""
}

// invalidSubjects are IDs that fail gdpr.SubjectID.Validate: a component
// may refuse them or treat them as unknown subjects, but must neither echo
// them in an error nor match another subject's data with them. Each one
// embeds a recorded value that an echo would reveal.
func (n *names) invalidSubjects() []struct {
	what string
	id   gdpr.SubjectID
} {
	core := string(n.subject("invalid"))
	return []struct {
		what string
		id   gdpr.SubjectID
	}{
		{"an empty subject ID", ""},
		{"a subject ID longer than gdpr.MaxIDLen", gdpr.SubjectID(core + strings.Repeat("x", gdpr.MaxIDLen))},
		{"a subject ID with a control character", gdpr.SubjectID(core + "\n")},
		{"a subject ID that is not UTF-8", gdpr.SubjectID(core + "\xff")},
	}
}

// similar returns subject IDs close to target that a careless store
// conflates with it: a longer ID it is a prefix of, a shorter ID that is
// a prefix of it, its upper-case form (case-insensitive collations) and
// its form with a trailing space (PAD SPACE collations). Each is a
// different subject.
func (n *names) similar(target gdpr.SubjectID) []struct {
	what string
	id   gdpr.SubjectID
} {
	t := string(target)
	return []struct {
		what string
		id   gdpr.SubjectID
	}{
		{"a subject whose ID extends the erased one", n.raw(t + "b")},
		{"a subject whose ID is a prefix of the erased one", n.raw(t[:len(t)-1])},
		{"a subject whose ID differs only in case", n.raw(strings.ToUpper(t))},
		{"a subject whose ID differs only by a trailing space", n.raw(t + " ")},
	}
}

// safely calls f and turns a panic into a failure, so that one misbehaving
// call fails its check instead of the whole test binary.
func safely(r reporter, call string, f func()) (panicked bool) {
	r.Helper()
	func() {
		defer func() {
			if p := recover(); p != nil {
				panicked = true
				r.Errorf("%s panicked: %v: a component reports failure with an error, never a panic\n%s", call, p, debug.Stack())
			}
		}()
		f()
	}()
	return panicked
}

// deadlinePassed is a deadline long past.
var deadlinePassed = time.Unix(1, 0)

// cancelled returns a context that is already cancelled.
func cancelled(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	cancel()
	return ctx
}
