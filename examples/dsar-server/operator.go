package main

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/retention"
)

// The operator's side: the requests by state, overdue and due soon, a
// retry of a failed one, the audit trail's latest signed checkpoint and
// a verification, the retention sweeps' last report. The pages take the
// operator token once, at sign-in, and keep an operator session cookie;
// the JSON API takes it as a bearer token on every call. Operators act as
// gdpr.Staff("operator") in the audit trail.

var operatorActor = gdpr.Staff("operator")

// staff requires an operator session (pages) for a form.
func (a *app) staff(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !a.operatorSession(r) {
			a.fail(w, r, &userError{http.StatusUnauthorized, "Operators sign in first."})
			return
		}
		h(w, r.WithContext(gdpr.WithActor(r.Context(), operatorActor)))
	}
}

// operatorSession reports whether r carries an operator's session made
// with the current operator token.
func (a *app) operatorSession(r *http.Request) bool {
	ss, err := a.sessions.read(r, operatorCookie, "operator", time.Now())
	return err == nil && subtle.ConstantTimeCompare([]byte(ss.subject), []byte(a.operatorTag)) == 1
}

func (a *app) operatorSignin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	if !a.operatorOK(r.PostForm.Get("token")) {
		a.fail(w, r, &userError{http.StatusUnauthorized, "That is not the operator token."})
		return
	}
	a.sessions.setCookie(w, operatorCookie, session{kind: "operator", subject: a.operatorTag, expires: time.Now().Add(operatorTTL)})
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

func (a *app) operatorSignout(w http.ResponseWriter, r *http.Request) {
	a.sessions.setCookie(w, operatorCookie, session{})
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// dashboard is what the operator page and GET /api/v1/dashboard show.
type dashboard struct {
	Stats      erasure.Stats     `json:"stats"`
	Overdue    []erasure.Request `json:"overdue"`
	DueSoon    []erasure.Request `json:"due_soon"`
	Failed     []erasure.Request `json:"failed"`
	Checkpoint *checkpointView   `json:"checkpoint,omitempty"`
	Sweep      *retention.Sweep  `json:"last_sweep,omitempty"`
	Verified   *audit.Report     `json:"verified,omitempty"`
	Open       []erasure.Request `json:"-"`
	States     []erasure.State   `json:"-"`
}

type checkpointView struct {
	Origin string `json:"origin"`
	Size   int64  `json:"size"`
	Note   string `json:"note"`
}

const dueSoon = 72 * time.Hour

func (a *app) dashboard(r *http.Request) (dashboard, error) {
	ctx := r.Context()
	e := a.kit.Engine()
	var d dashboard
	var err error
	if d.Stats, err = e.Counts(ctx, erasure.Filter{}, dueSoon); err != nil {
		return d, err
	}
	if d.Overdue, err = e.Overdue(ctx, erasure.Filter{Limit: 50}); err != nil {
		return d, err
	}
	if d.DueSoon, err = e.DueWithin(ctx, dueSoon, erasure.Filter{Limit: 50}); err != nil {
		return d, err
	}
	if d.Failed, err = e.List(ctx, erasure.Filter{States: []erasure.State{erasure.StateFailed}, Limit: 50}); err != nil {
		return d, err
	}
	if d.Open, err = e.List(ctx, erasure.Filter{States: erasure.OpenStates(), Limit: 100}); err != nil {
		return d, err
	}
	if cp, err := a.kit.Trail().Checkpoint(ctx); err == nil {
		d.Checkpoint = &checkpointView{Origin: cp.Origin, Size: cp.Size, Note: string(cp.Note)}
	} else if !errors.Is(err, gdpr.ErrNotFound) {
		return d, err
	}
	if sw, err := a.kit.Sweeper().LastSweep(ctx); err == nil {
		d.Sweep = &sw
	} else if !errors.Is(err, gdpr.ErrNotFound) {
		return d, err
	}
	return d, nil
}

func (a *app) operatorPage(w http.ResponseWriter, r *http.Request) {
	if !a.operatorSession(r) {
		a.render(w, r, http.StatusOK, "operator_signin", page{Title: "Operator sign-in"})
		return
	}
	d, err := a.dashboard(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "operator", page{Title: "Operator", Operator: true, Data: d})
}

// verify checks the whole audit trail. A trail that does not verify is a
// report of its problems, not a failure of the call: ErrTampered comes
// with the report, which the operator must see.
func (a *app) verify(r *http.Request) (*audit.Report, error) {
	rep, err := a.kit.Trail().Verify(r.Context(), audit.VerifyOptions{})
	if errors.Is(err, audit.ErrTampered) && rep != nil {
		a.log.ErrorContext(r.Context(), "the audit trail does not verify", "problems", len(rep.Problems))
		return rep, nil
	}
	return rep, err
}

func (a *app) retryForm(w http.ResponseWriter, r *http.Request) {
	if _, err := a.retry(r); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// verifyForm runs the verification on the POST (a GET changes nothing
// and costs nothing) and shows the dashboard with its report.
func (a *app) verifyForm(w http.ResponseWriter, r *http.Request) {
	d, err := a.dashboard(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if d.Verified, err = a.verify(r); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "operator", page{Title: "Operator", Operator: true, Data: d})
}

func (a *app) extendForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	months, _ := strconv.Atoi(r.PostForm.Get("months"))
	if _, err := a.extend(r, months, r.PostForm.Get("reason")); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

func (a *app) rejectForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	if _, err := a.reject(r, erasure.RejectReason(r.PostForm.Get("reason")), r.PostForm.Get("note")); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

// extend extends the request's deadline by months (1 or 2) under
// Art. 12(3); the subject is told why, with the new deadline.
func (a *app) extend(r *http.Request, months int, reason string) (erasure.Request, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return erasure.Request{}, &userError{http.StatusNotFound, "No such request."}
	}
	if months != 1 && months != 2 {
		return erasure.Request{}, badRequest("An extension is of one or two months.")
	}
	q, err := a.kit.Engine().Extend(r.Context(), id, months, reason)
	return q, operatorErr(err)
}

// reject refuses the request for reason, with note saying why (Art.
// 12(4)); the subject is told, with their rights to complain.
func (a *app) reject(r *http.Request, reason erasure.RejectReason, note string) (erasure.Request, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return erasure.Request{}, &userError{http.StatusNotFound, "No such request."}
	}
	if !reason.Valid() {
		return erasure.Request{}, badRequest("Unknown reason.")
	}
	q, err := a.kit.Engine().Reject(r.Context(), id, reason, note)
	return q, operatorErr(err)
}

// operatorErr gives an operator the engine's own reason for refusing an
// action (its texts carry no personal data and no input): the deadline
// has passed, the request is closed, a reason is missing.
func operatorErr(err error) error {
	switch {
	case errors.Is(err, gdpr.ErrNotFound):
		return &userError{http.StatusNotFound, "No such request."}
	case errors.Is(err, erasure.ErrIllegalTransition):
		return &userError{http.StatusConflict, err.Error()}
	case errors.Is(err, gdpr.ErrInvalid):
		return &userError{http.StatusBadRequest, err.Error()}
	}
	return err
}

func (a *app) retry(r *http.Request) (erasure.Request, error) {
	id := r.PathValue("id")
	if !isUUID(id) {
		return erasure.Request{}, &userError{http.StatusNotFound, "No such request."}
	}
	q, err := a.kit.Engine().Retry(r.Context(), id)
	if errors.Is(err, gdpr.ErrNotFound) {
		return q, &userError{http.StatusNotFound, "No such request."}
	}
	return q, err
}

// api mounts the operator's JSON API under /api/v1/, each call with the
// operator token as a bearer token (see README.md for curl lines).
func (a *app) api(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/dashboard", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return a.dashboard(r)
	}))
	mux.HandleFunc("GET /api/v1/requests", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		f := erasure.Filter{Limit: 100, After: r.URL.Query().Get("after")}
		if f.After != "" && !isUUID(f.After) {
			return nil, badRequest("after must be a request ID")
		}
		for _, s := range r.URL.Query()["state"] {
			if !knownState(erasure.State(s)) {
				return nil, badRequest("unknown state")
			}
			f.States = append(f.States, erasure.State(s))
		}
		switch r.URL.Query().Get("due") {
		case "":
			return a.kit.Engine().List(r.Context(), f)
		case "overdue":
			return a.kit.Engine().Overdue(r.Context(), f)
		case "soon":
			return a.kit.Engine().DueWithin(r.Context(), dueSoon, f)
		}
		return nil, badRequest("due is overdue or soon")
	}))
	mux.HandleFunc("GET /api/v1/requests/{id}", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		id := r.PathValue("id")
		if !isUUID(id) {
			return nil, &userError{http.StatusNotFound, "no such request"}
		}
		return a.kit.Engine().Get(r.Context(), id)
	}))
	mux.HandleFunc("POST /api/v1/requests/{id}/retry", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return a.retry(r)
	}))
	mux.HandleFunc("POST /api/v1/requests/{id}/extend", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		var body struct {
			Months int    `json:"months"`
			Reason string `json:"reason"`
		}
		if err := decodeJSON(r, &body); err != nil {
			return nil, err
		}
		return a.extend(r, body.Months, body.Reason)
	}))
	mux.HandleFunc("POST /api/v1/requests/{id}/reject", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		var body struct {
			Reason erasure.RejectReason `json:"reason"`
			Note   string               `json:"note"`
		}
		if err := decodeJSON(r, &body); err != nil {
			return nil, err
		}
		return a.reject(r, body.Reason, body.Note)
	}))
	mux.HandleFunc("GET /api/v1/audit/checkpoint", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		cp, err := a.kit.Trail().Checkpoint(r.Context())
		if err != nil {
			return nil, err
		}
		return checkpointView{Origin: cp.Origin, Size: cp.Size, Note: string(cp.Note)}, nil
	}))
	mux.HandleFunc("POST /api/v1/audit/verify", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		rep, err := a.verify(r)
		if err == nil && !rep.OK() {
			return withStatus{http.StatusConflict, rep}, nil // the report says what is wrong
		}
		return rep, err
	}))
	mux.HandleFunc("GET /api/v1/retention/last", a.bearer(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return a.kit.Sweeper().LastSweep(r.Context())
	}))
}

// decodeJSON decodes r's body, one JSON object of known fields, into v.
func decodeJSON(r *http.Request, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return &userError{http.StatusUnsupportedMediaType, "send application/json"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("the body is not a JSON object of the documented fields")
	}
	if dec.More() {
		return badRequest("one JSON object, nothing after it")
	}
	return nil
}

func knownState(s erasure.State) bool {
	for _, x := range []erasure.State{erasure.StateReceived, erasure.StateAwaitingIdentity, erasure.StateVerified, erasure.StateInProgress,
		erasure.StateCompleted, erasure.StateCompletedWithExemptions, erasure.StateRejected, erasure.StateCancelled, erasure.StateFailed} {
		if x == s {
			return true
		}
	}
	return false
}

// bearer checks the operator token and writes the call's result as
// JSON, or its error as an RFC 9457 problem.
func (a *app) bearer(h func(w http.ResponseWriter, r *http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || !a.operatorOK(token) {
			if !a.bearerFails.allow(r) {
				w.Header().Set("Retry-After", "60")
				a.problem(w, r, &userError{http.StatusTooManyRequests, "too many calls with a wrong token: try again in a minute"})
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="operator"`)
			a.problem(w, r, &userError{http.StatusUnauthorized, "the operator token is missing or wrong"})
			return
		}
		v, err := h(w, r.WithContext(gdpr.WithActor(r.Context(), operatorActor)))
		if err != nil {
			a.problem(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if ws, ok := v.(withStatus); ok {
			w.WriteHeader(ws.status)
			v = ws.v
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(v)
	}
}

// withStatus is an API result answered with a status other than 200.
type withStatus struct {
	status int
	v      any
}

// problem writes an error as application/problem+json (RFC 9457).
func (a *app) problem(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	p := map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status}
	var ue *userError
	if errors.As(err, &ue) {
		p["detail"] = ue.msg
	}
	if status >= 500 {
		a.log.ErrorContext(r.Context(), "api call failed", "route", r.Pattern, "error", err.Error())
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}
