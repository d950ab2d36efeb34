package sqlerasure

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/gdprkit/gdpr/internal/sqlbase"
)

// body is what the body column holds: the request's fields that no
// query selects on, as JSON. The subject is not among them, nor a
// correction's Value (erasure.Correction encodes its sealed form only).
type body struct {
	Channel     string               `json:"channel,omitempty"`
	Params      map[string]string    `json:"params,omitempty"`
	Ask         erasure.Ask          `json:"ask,omitzero"`
	Deadline    gdpr.Deadline        `json:"deadline"`
	Rejection   erasure.RejectReason `json:"rejection,omitempty"`
	Steps       []erasure.Step       `json:"steps,omitempty"`
	History     []erasure.Transition `json:"history,omitempty"`
	SettleUntil time.Time            `json:"settle_until,omitzero"`
}

// written is one request as a write binds it.
type written struct {
	stored  erasure.Request // the request as it is stored and read back
	openKey any             // kind:subject_ref, or nil once closed
	body    []byte
}

// utc returns t as the stores keep it: to the microsecond, in UTC; the
// zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// micros returns t as a nullable column: NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqlbase.Micros(t)
}

// normalize returns a deep copy of r with every time as the Store returns
// it: to the microsecond, in UTC, but the Deadline's LastDay and Due,
// which stay in its Location, and without what the body does not encode
// (a correction's Value). A closed request keeps no subject, no sealed
// correction and no recipient's reference for the subject, as the Engine
// writes it (nothing personal outlives the request).
func normalize(r erasure.Request) erasure.Request {
	r = r.Clone()
	closed := !r.State.Open()
	for i := range r.Ask.Corrections {
		c := &r.Ask.Corrections[i]
		c.Value = ""
		if closed {
			c.Sealed = nil
		}
	}
	r.Received = utc(r.Received)
	d := r.Deadline
	d.Received = utc(d.Received)
	d.LastDay = d.LastDay.Truncate(time.Microsecond)
	d.Due = d.Due.Truncate(time.Microsecond)
	r.Deadline = d
	for i := range r.Steps {
		r.Steps[i].At = utc(r.Steps[i].At)
		for j := range r.Steps[i].Exemptions {
			r.Steps[i].Exemptions[j].Until = utc(r.Steps[i].Exemptions[j].Until)
		}
		if rc := r.Steps[i].Recipient; rc != nil {
			rc.At = utc(rc.At)
			if closed {
				rc.Reference = ""
			}
		}
	}
	for i := range r.History {
		r.History[i].At = utc(r.History[i].At)
	}
	r.NextAt, r.SettleUntil, r.Closed = utc(r.NextAt), utc(r.SettleUntil), utc(r.Closed)
	if closed {
		r.Subject = ""
	}
	return r
}

func encodeRequest(op string, r erasure.Request) (written, error) {
	for _, c := range []struct {
		field, v string
		max      int
	}{
		{"id", r.ID, MaxIDLen}, {"subject_ref", r.SubjectRef, MaxIDLen}, {"subject", string(r.Subject), MaxIDLen},
		{"kind", string(r.Kind), MaxKeyLen}, {"state", string(r.State), MaxKeyLen},
	} {
		if err := checkLen(op, c.field, c.v, c.max); err != nil {
			return written{}, err
		}
	}
	n := normalize(r)
	b, err := json.Marshal(body{
		Channel: n.Channel, Params: n.Params, Ask: n.Ask, Deadline: n.Deadline, Rejection: n.Rejection,
		Steps: n.Steps, History: n.History, SettleUntil: n.SettleUntil,
	})
	if err != nil {
		// The Deadline's time zone does not load by its name, or the
		// like; the text quotes no value but a zone name shaped as one.
		return written{}, &erasure.Error{Op: "sqlerasure." + op, Field: "request", Err: fmt.Errorf("%w: cannot encode the request: %s", erasure.ErrInvalid, errs.StripInvalid(unwrapJSON(err), "gdpr"))}
	}
	w := written{stored: n, body: b}
	if n.State.Open() {
		w.openKey = string(n.Kind) + ":" + n.SubjectRef
	}
	return w, nil
}

// unwrapJSON returns the error a MarshalJSON method returned, without
// encoding/json's wrapper.
func unwrapJSON(err error) error {
	var me *json.MarshalerError
	if errors.As(err, &me) {
		return me.Unwrap()
	}
	return err
}

// args are the values of the columns reqWrite names.
func (w written) args() []any {
	r := w.stored
	var subject any
	if r.Subject != "" {
		subject = string(r.Subject)
	}
	var ready any
	if (r.State == erasure.StateVerified || r.State == erasure.StateInProgress) && !r.NextAt.IsZero() {
		ready = sqlbase.Micros(r.NextAt)
	}
	return []any{r.ID, string(r.Kind), string(r.State), subject, r.SubjectRef, w.openKey,
		sqlbase.Micros(r.Received), sqlbase.Micros(r.Deadline.Due), micros(r.NextAt), ready, micros(r.Closed),
		r.Version, string(w.body)}
}

type scanner interface{ Scan(...any) error }

// scanRequest reads the columns reqSelect names.
func scanRequest(row scanner) (erasure.Request, error) {
	var (
		r            erasure.Request
		kind, state  string
		subject      sql.NullString
		received     int64
		next, closed sql.NullInt64
		raw          []byte
	)
	if err := row.Scan(&r.ID, &kind, &state, &subject, &r.SubjectRef, &received, &next, &closed, &r.Version, &raw); err != nil {
		return erasure.Request{}, err
	}
	var b body
	if err := json.Unmarshal(raw, &b); err != nil {
		// Not the decoder's text: it may quote the stored bytes.
		return erasure.Request{}, fmt.Errorf("decoding the stored body of request %s: malformed", errs.Show(r.ID))
	}
	r.Kind, r.State, r.Subject = gdpr.RequestKind(kind), erasure.State(state), gdpr.SubjectID(subject.String)
	r.Received = sqlbase.FromMicros(received)
	if next.Valid {
		r.NextAt = sqlbase.FromMicros(next.Int64)
	}
	if closed.Valid {
		r.Closed = sqlbase.FromMicros(closed.Int64)
	}
	r.Channel, r.Params, r.Ask, r.Deadline, r.Rejection = b.Channel, b.Params, b.Ask, b.Deadline, b.Rejection
	r.Steps, r.History, r.SettleUntil = b.Steps, b.History, b.SettleUntil
	return r, nil
}

func erasureKind(s string) gdpr.RequestKind { return gdpr.RequestKind(s) }

// Errors. Every error is an *erasure.Error whose Op is
// "sqlerasure.<method>"; the conditions of the contracts wrap the erasure
// sentinels, database errors are redacted to their codes.

func condErr(op string, sentinel error, detail string) error {
	err := sentinel
	if detail != "" {
		err = fmt.Errorf("%w: %s", sentinel, detail)
	}
	return &erasure.Error{Op: "sqlerasure." + op, Err: err}
}

// storeErr wraps a database error, with the server's message withheld
// (dialect.Redact): servers quote bound values in their messages and
// details, and those values are subject IDs and references. An
// *erasure.Error passes unchanged.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ee *erasure.Error
	if errors.As(err, &ee) {
		return err
	}
	return &erasure.Error{Op: "sqlerasure." + op, Err: dialect.Redact(err)}
}

var errNilContext = fmt.Errorf("%w: nil context", erasure.ErrInvalid)

// checkCtx refuses a nil context: database/sql would panic on it.
func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &erasure.Error{Op: "sqlerasure." + op, Field: "ctx", Err: errNilContext}
	}
	return nil
}

// fieldErr is the error of op about an argument or field: erasure.ErrInvalid
// with a fixed detail.
func fieldErr(op, field, detail string) error {
	return &erasure.Error{Op: "sqlerasure." + op, Field: field, Err: fmt.Errorf("%w: %s", erasure.ErrInvalid, detail)}
}

// checkLen refuses a value longer than its column.
func checkLen(op, field, v string, max int) error {
	if len(v) > max {
		return &erasure.Error{Op: "sqlerasure." + op, Field: field, Err: fmt.Errorf("%w: longer than %d bytes", erasure.ErrInvalid, max)}
	}
	return nil
}
