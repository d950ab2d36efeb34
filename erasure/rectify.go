package erasure

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"golang.org/x/crypto/hkdf"
)

// Rectifier corrects the data of one place that holds them (Art. 16): the
// host's customer table, a processor's API.
type Rectifier struct {
	// Name identifies the rectifier in corrections and steps; a key,
	// unique among the rectifiers.
	Name string
	// Fields are the fields a subject may have corrected there, as keys
	// ("email", "address"); a correction of any other is refused at
	// intake.
	Fields []string
	// Rectify applies one correction: c.Value is the value the subject
	// supplies (for a Supplement, their statement). It is called again
	// after a crash, so it must be idempotent, and its error must not
	// carry the value (the Engine cuts it from the text it keeps, as it
	// does the subject ID).
	Rectify func(ctx context.Context, subject gdpr.SubjectID, c Correction) error
}

// MaxCorrectionLen bounds the value of one Correction, in bytes.
const MaxCorrectionLen = 4096

// sealer encrypts corrected values at rest: AES-256-GCM (Tink's subtle
// AEAD) under a key derived from the subject key with HKDF-SHA256, bound
// by associated data to the request, the correction's place and index.
type sealer struct{ aead *subtle.AESGCM }

func newSealer(subjectKey []byte) (*sealer, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, subjectKey, nil, []byte("gdprkit erasure seal v1")), key); err != nil {
		return nil, err
	}
	a, err := subtle.NewAESGCM(key)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: a}, nil
}

func sealAD(id, target, field string) []byte {
	return []byte("gdprkit erasure correction\x00" + id + "\x00" + target + "\x00" + field)
}

func (s *sealer) seal(id, target, field, value string) ([]byte, error) {
	return s.aead.Encrypt([]byte(value), sealAD(id, target, field))
}

func (s *sealer) open(id, target, field string, sealed []byte) (string, error) {
	b, err := s.aead.Decrypt(sealed, sealAD(id, target, field))
	if err != nil {
		return "", errors.New("a sealed value did not open")
	}
	return string(b), nil
}

func (e *Engine) rectifier(name string) (Rectifier, bool) {
	for _, r := range e.rectifiers {
		if r.Name == name {
			return r, true
		}
	}
	return Rectifier{}, false
}

// checkCorrections validates a rectification's corrections at intake.
func (e *Engine) checkCorrections(cs []Correction) error {
	if len(cs) == 0 {
		return invalidf("corrections", "a rectification needs at least one correction")
	}
	if len(cs) > 64 {
		return invalidf("corrections", "more than 64 corrections")
	}
	seen := map[string]bool{}
	for _, c := range cs {
		rc, ok := e.rectifier(c.Target)
		if !ok {
			return refuse(ErrUnknownField, "corrections", "no rectifier named "+show(c.Target))
		}
		known := false
		for _, f := range rc.Fields {
			known = known || f == c.Field
		}
		if !known {
			return refuse(ErrUnknownField, "corrections", "rectifier "+rc.Name+" has no field "+show(c.Field))
		}
		if seen[c.Target+"."+c.Field] {
			return invalidf("corrections", "two corrections of %s.%s", rc.Name, c.Field)
		}
		seen[c.Target+"."+c.Field] = true
		if c.Value == "" || len(c.Value) > MaxCorrectionLen || !utf8.ValidString(c.Value) {
			return invalidf("corrections", "the value for %s.%s must be 1 to %d bytes of UTF-8", rc.Name, c.Field, MaxCorrectionLen)
		}
	}
	return nil
}

// correctionIndex returns the index of the correction step st applies.
func correctionIndex(r Request, st Step) int {
	for i, c := range r.Ask.Corrections {
		if c.Target == st.Target && c.Field == st.Field {
			return i
		}
	}
	return -1
}

// rectify is one step of a rectification: the sealed value is opened and
// handed to its Rectifier; a supplementary statement is also kept, sealed
// again under its own ID. The step's write drops the sealed value.
func (e *Engine) rectify(ctx context.Context, r Request, st Step) (Step, error) {
	k := correctionIndex(r, st)
	if k < 0 {
		return st, errors.New("the step has no correction")
	}
	c := r.Ask.Corrections[k]
	rc, ok := e.rectifier(c.Target)
	if !ok {
		return st, fmt.Errorf("rectifier %s is not registered with this Engine", show(c.Target))
	}
	if c.Sealed == nil {
		return st, errors.New("the correction's value is gone")
	}
	v, err := e.sealer.open(r.ID, c.Target, c.Field, c.Sealed)
	if err != nil {
		return st, err
	}
	c.Value, c.Sealed = v, nil
	if err := rc.Rectify(ctx, r.Subject, c); err != nil {
		return st, &valueError{err: err, value: v}
	}
	if c.Supplement {
		id := fmt.Sprintf("%s/%d", r.ID, k)
		sealed, err := e.sealer.seal(id, c.Target, c.Field, v)
		if err != nil {
			return st, err
		}
		if err := e.store.PutStatement(ctx, Statement{ID: id, SubjectRef: r.SubjectRef, Target: c.Target, Field: c.Field,
			Sealed: sealed, At: e.now()}); err != nil {
			return st, err
		}
	}
	if err := e.record(ctx, "erasure.rectified", r, gdpr.Success, map[string]string{"target": c.Target, "field": c.Field,
		"supplement": fmt.Sprint(c.Supplement)}); err != nil {
		return st, err
	}
	st.Outcome, st.Count = OutcomeApplied, 1
	return st, nil
}

// valueError carries a Rectifier's error with the value it must not
// show, for errorText to cut.
type valueError struct {
	err   error
	value string
}

func (v *valueError) Error() string { return v.err.Error() }
func (v *valueError) Unwrap() error { return v.err }

// correctedFields lists the fields r corrected, as "<target>.<field>".
func (r Request) correctedFields() []string {
	if r.Kind != gdpr.KindRectification {
		return nil
	}
	var out []string
	for _, s := range r.Steps {
		if s.Field != "" && s.Outcome == OutcomeApplied {
			out = append(out, s.Target+"."+s.Field)
		}
	}
	return out
}

// placedBy returns the restrictions the request r placed.
func (e *Engine) placedBy(ctx context.Context, r Request) ([]Restriction, error) {
	xs, err := e.allRestrictions(ctx, r.SubjectRef)
	if err != nil {
		return nil, err
	}
	var out []Restriction
	for _, x := range xs {
		if requestOf(x.ID) == r.ID {
			out = append(out, x)
		}
	}
	return out, nil
}

// Statements returns the subject's supplementary statements (Art. 16),
// opened: their texts are personal data, for the subject's export. An
// empty subject is an *Error wrapping ErrInvalid.
func (e *Engine) Statements(ctx context.Context, subject gdpr.SubjectID) ([]OpenStatement, error) {
	const op = "statements"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := subject.Validate(); err != nil {
		return nil, wrap(op, invalid("subject", err))
	}
	out, err := e.statements(ctx, e.SubjectRef(subject))
	return out, wrap(op, err)
}

// OpenStatement is a Statement with its text. It never prints the text
// (Format); the text is the subject's personal data, for their export.
type OpenStatement struct {
	Statement
	// Text is the statement as the subject wrote it.
	Text string
}

// Format prints s without its text under every verb.
func (s OpenStatement) Format(f fmt.State, verb rune) { s.Statement.Format(f, verb) }

func (e *Engine) statements(ctx context.Context, ref string) ([]OpenStatement, error) {
	ss, err := e.store.ListStatements(ctx, ref)
	if err != nil {
		return nil, err
	}
	out := make([]OpenStatement, 0, len(ss))
	for _, s := range ss {
		t, err := e.sealer.open(s.ID, s.Target, s.Field, s.Sealed)
		if err != nil {
			return nil, fmt.Errorf("statement %s: %w", s.ID, err)
		}
		out = append(out, OpenStatement{Statement: s, Text: t})
	}
	return out, nil
}

// isText reports whether s is non-blank text of at most n bytes.
func isText(s string, n int) bool {
	return strings.TrimSpace(s) != "" && len(s) <= n && utf8.ValidString(s)
}
