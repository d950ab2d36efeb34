package erasuretest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
)

// base is the suites' clock: a UTC instant on a whole second.
var base = time.Date(2025, time.March, 3, 9, 30, 0, 0, time.UTC)

// at returns base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// far is after every time the suites use.
var far = base.AddDate(10, 0, 0)

// berlin is the non-UTC zone of the suites' deadlines; loaded once.
var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("erasuretest: the time zone database has no %s: %v (import time/tzdata)", name, err))
	}
	return loc
}

// NewID returns a fresh UUIDv7 in its canonical lower-case form, as the
// Engine assigns to requests.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// Ref returns a SubjectRef for subject shaped as the Engine's are: 64
// lower-case hex characters (a keyed hash; here a plain SHA-256 under a
// fixed prefix, which is no secret: for tests only).
func Ref(subject gdpr.SubjectID) string {
	h := sha256.Sum256([]byte("erasuretest/" + string(subject)))
	return hex.EncodeToString(h[:])
}

// NewRequest returns an open request as the Engine stores it on receipt:
// a fresh UUIDv7 ID, kind, subject and its Ref, received at received
// through the web, StateReceived with the one-month deadline of Art. 12(3)
// counted in UTC, a History of one "submitted" transition by the subject,
// and Version 1. Change fields as a test needs.
func NewRequest(kind gdpr.RequestKind, subject gdpr.SubjectID, received time.Time) erasure.Request {
	return erasure.Request{
		ID:         NewID(),
		Kind:       kind,
		Subject:    subject,
		SubjectRef: Ref(subject),
		Channel:    "web",
		Received:   received,
		Deadline:   gdpr.NewDeadline(received, time.UTC, nil),
		State:      erasure.StateReceived,
		History: []erasure.Transition{
			{To: erasure.StateReceived, At: received, Actor: gdpr.SubjectActor(), Event: "submitted"},
		},
		Version: 1,
	}
}

// dueRequest returns a new request of kind for subject, verified and due
// at nextAt.
func dueRequest(kind gdpr.RequestKind, subject gdpr.SubjectID, nextAt time.Time) erasure.Request {
	r := NewRequest(kind, subject, at(-60))
	r.State = erasure.StateVerified
	r.NextAt = nextAt
	r.History = append(r.History, erasure.Transition{From: erasure.StateReceived, To: erasure.StateVerified,
		At: at(-59), Actor: gdpr.System("erasure"), Event: "verified"})
	return r
}

// fullRequest returns an open erasure request in progress with every field
// set: a Berlin deadline extended, steps erased, retained (with
// exemptions, one with an Until) and failed, a step with a Field and one
// with a Recipient, an Ask with every field (sealed corrections among
// them: a Store keeps what it is given, whatever the Kind), a history
// with the subject, staff and the system as actors, parameters, NextAt
// and SettleUntil.
func fullRequest(subject gdpr.SubjectID) erasure.Request {
	received := time.Date(2025, time.March, 31, 23, 30, 0, 0, time.UTC) // 1 April in Berlin
	d, err := gdpr.NewDeadline(received, berlin, nil).Extend("the request is complex: 14 systems hold data")
	if err != nil {
		panic("erasuretest: extending a fresh deadline: " + err.Error())
	}
	r := erasure.Request{
		ID:         NewID(),
		Kind:       gdpr.KindErasure,
		Subject:    subject,
		SubjectRef: Ref(subject),
		Channel:    "email",
		Params:     map[string]string{"scope": "all", "notify_recipients": "true"},
		Received:   received,
		Deadline:   d,
		State:      erasure.StateInProgress,
		Steps: []erasure.Step{
			{Target: "consent", Outcome: erasure.OutcomeErased, Count: 3, Attempts: 1, At: received.Add(2 * time.Hour)},
			{Target: "invoices", Outcome: erasure.OutcomeRetained, Count: 2, Attempts: 2, At: received.Add(3 * time.Hour),
				Exemptions: []gdpr.Exemption{
					{Category: "billing", Records: 12, Ground: gdpr.GroundLegalObligation,
						Reason: "commercial law: 10 years", Until: time.Date(2035, time.December, 31, 0, 0, 0, 0, time.UTC)},
					{Category: "contracts", Records: 1, Ground: gdpr.GroundLegalClaims},
				}},
			{Target: "crm", Outcome: erasure.OutcomeFailed, Attempts: 3, Error: "crm: status 503", At: received.Add(4 * time.Hour)},
			{Target: "handler", Reference: "bundle-0042"},
			{Target: "search"},
			{Target: "crm", Field: "email", Outcome: erasure.OutcomeApplied, Attempts: 1, At: received.Add(4 * time.Hour)},
			{Target: "recipients", Outcome: erasure.OutcomeApplied, Count: 1, Attempts: 1, At: received.Add(4 * time.Hour)},
			{Target: "recipient", Outcome: erasure.OutcomeNotified, Attempts: 1, At: received.Add(5 * time.Hour),
				Recipient: &gdpr.Disclosure{Recipient: "Mailer GmbH", Kind: gdpr.Processor, Reference: "cust-0042",
					Categories: []string{"contact", "usage"}, At: received.Add(-30 * 24 * time.Hour)}},
		},
		Ask: erasure.Ask{
			Ground:          erasure.GroundAccuracy,
			Purposes:        []gdpr.Purpose{"marketing", "analytics"},
			DirectMarketing: true,
			Restriction:     NewID(),
			Corrections: []erasure.Correction{
				{Target: "crm", Field: "email", Sealed: []byte{0x00, 0x01, 0xfe, 0xff, 's', 'e', 'a', 'l'}},
				{Target: "crm", Field: "address", Supplement: true, Sealed: []byte("sealed supplement")},
			},
		},
		History: []erasure.Transition{
			{To: erasure.StateReceived, At: received, Actor: gdpr.SubjectActor(), Event: "submitted"},
			{From: erasure.StateReceived, To: erasure.StateAwaitingIdentity, At: received.Add(time.Minute), Actor: gdpr.System("erasure"), Event: "identity_requested"},
			{From: erasure.StateAwaitingIdentity, To: erasure.StateVerified, At: received.Add(time.Hour), Actor: gdpr.Staff("staff-0042"), Event: "verified", Note: "id card checked"},
			{From: erasure.StateVerified, To: erasure.StateVerified, At: received.Add(90 * time.Minute), Actor: gdpr.Staff("staff-0042"), Event: "extended", Note: d.ExtensionReason},
			{From: erasure.StateVerified, To: erasure.StateInProgress, At: received.Add(2 * time.Hour), Actor: gdpr.System("erasure"), Event: "started"},
			{From: erasure.StateInProgress, To: erasure.StateInProgress, At: received.Add(4 * time.Hour), Actor: gdpr.System("erasure"), Event: "step_failed", Note: "crm"},
		},
		NextAt:      received.Add(5 * time.Hour),
		SettleUntil: received.Add(6 * time.Hour),
		Version:     1,
	}
	return r
}

// closeAs returns r, cloned, moved to the closed state st at when, as the
// Engine writes it: no Subject, no NextAt, Closed set, a transition added,
// no sealed correction and no recipient's reference for the subject.
func closeAs(r erasure.Request, st erasure.State, when time.Time) erasure.Request {
	r = r.Clone()
	r.History = append(r.History, erasure.Transition{From: r.State, To: st, At: when, Actor: gdpr.System("erasure"), Event: string(st)})
	r.State = st
	r.Subject = ""
	r.NextAt = time.Time{}
	r.Closed = when
	for i := range r.Ask.Corrections {
		r.Ask.Corrections[i].Sealed = nil
	}
	for i := range r.Steps {
		if r.Steps[i].Recipient != nil {
			r.Steps[i].Recipient.Reference = ""
		}
	}
	if st == erasure.StateRejected {
		r.Rejection = erasure.RejectIdentity
	}
	return r
}

// normTime is how a Store gives t back: to the microsecond, in UTC.
func normTime(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// timeDiff says how a stored time differs from want, which it
// normalises; "" when it does not. A non-zero time must be in UTC.
func timeDiff(got, want time.Time) string {
	want = normTime(want)
	switch {
	case want.IsZero() && !got.IsZero():
		return fmt.Sprintf("got %s, want the zero time", got.Format(time.RFC3339Nano))
	case want.IsZero():
		return ""
	case !got.Equal(want):
		return fmt.Sprintf("got %s, want %s (times are kept to the microsecond, truncated, and returned in UTC)",
			got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	case got.Location() != time.UTC:
		return fmt.Sprintf("got %s in %s, want it in UTC (times are returned in UTC)", got.Format(time.RFC3339Nano), got.Location())
	}
	return ""
}

// deadlineDiff lists how a stored Deadline differs from want. Received is
// compared as every time is; LastDay and Due as instants to the
// microsecond, in UTC or in the Deadline's Location (both readings of the
// contract pass); the Location by its name, which must load back.
func deadlineDiff(got, want gdpr.Deadline) []string {
	var d []string
	wantZone := "UTC"
	if want.Location != nil {
		wantZone = want.Location.String()
	}
	wantLoc := want.Location
	if wantLoc == nil {
		wantLoc = time.UTC
	}
	gotZone := "<nil>"
	if got.Location != nil {
		gotZone = got.Location.String()
	}
	if gotZone != wantZone {
		d = append(d, fmt.Sprintf("Deadline.Location: got %s, want %s (a Store keeps a Deadline's Location by name: see gdpr.Deadline.MarshalJSON)", gotZone, wantZone))
	}
	if s := timeDiff(got.Received, want.Received); s != "" {
		d = append(d, "Deadline.Received: "+s)
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{{"LastDay", got.LastDay, want.LastDay}, {"Due", got.Due, want.Due}} {
		w := normTime(f.want)
		switch zone := f.got.Location().String(); {
		case !f.got.Equal(w):
			d = append(d, fmt.Sprintf("Deadline.%s: got %s, want %s (kept to the microsecond)", f.name, f.got.Format(time.RFC3339Nano), w.In(wantLoc).Format(time.RFC3339Nano)))
		case !f.got.IsZero() && zone != "UTC" && zone != gotZone:
			d = append(d, fmt.Sprintf("Deadline.%s: got it in %s, want it in UTC or in the Deadline's Location %s", f.name, zone, gotZone))
		}
	}
	if got.Extended != want.Extended || got.ExtensionReason != want.ExtensionReason {
		d = append(d, fmt.Sprintf("Deadline.Extended, ExtensionReason: got %v, %q, want %v, %q", got.Extended, got.ExtensionReason, want.Extended, want.ExtensionReason))
	}
	return d
}

// requestDiff lists how got differs from want, field by field; empty when
// they are the same as a Store gives them back. Nil and empty Params,
// Steps, Exemptions, History and the slices of Ask and of a Recipient are
// the same.
func requestDiff(got, want erasure.Request) []string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s: got %#v, want %#v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.Kind != want.Kind {
		add("Kind", got.Kind, want.Kind)
	}
	if got.Subject != want.Subject {
		add("Subject", string(got.Subject), string(want.Subject))
	}
	if got.SubjectRef != want.SubjectRef {
		add("SubjectRef", got.SubjectRef, want.SubjectRef)
	}
	if got.Channel != want.Channel {
		add("Channel", got.Channel, want.Channel)
	}
	if !maps.Equal(got.Params, want.Params) {
		add("Params", got.Params, want.Params)
	}
	d = append(d, askDiff(got.Ask, want.Ask)...)
	if s := timeDiff(got.Received, want.Received); s != "" {
		d = append(d, "Received: "+s)
	}
	d = append(d, deadlineDiff(got.Deadline, want.Deadline)...)
	if got.State != want.State {
		add("State", got.State, want.State)
	}
	if got.Rejection != want.Rejection {
		add("Rejection", got.Rejection, want.Rejection)
	}
	if len(got.Steps) != len(want.Steps) {
		add("len(Steps)", len(got.Steps), len(want.Steps))
	} else {
		for i := range want.Steps {
			d = append(d, stepDiff(fmt.Sprintf("Steps[%d]", i), got.Steps[i], want.Steps[i])...)
		}
	}
	if len(got.History) != len(want.History) {
		add("len(History)", len(got.History), len(want.History))
	} else {
		for i, w := range want.History {
			g := got.History[i]
			if g.From != w.From || g.To != w.To || g.Actor != w.Actor || g.Event != w.Event || g.Note != w.Note {
				gc, wc := g, w
				gc.At, wc.At = time.Time{}, time.Time{}
				add(fmt.Sprintf("History[%d] (At aside)", i), gc, wc)
			}
			if s := timeDiff(g.At, w.At); s != "" {
				d = append(d, fmt.Sprintf("History[%d].At: %s", i, s))
			}
		}
	}
	if s := timeDiff(got.NextAt, want.NextAt); s != "" {
		d = append(d, "NextAt: "+s)
	}
	if s := timeDiff(got.SettleUntil, want.SettleUntil); s != "" {
		d = append(d, "SettleUntil: "+s)
	}
	if s := timeDiff(got.Closed, want.Closed); s != "" {
		d = append(d, "Closed: "+s)
	}
	if got.Version != want.Version {
		add("Version", got.Version, want.Version)
	}
	return d
}

// askDiff lists how a stored Ask differs from want. A Correction's Value
// is not compared: it belongs in a Submission, not in a stored request.
func askDiff(g, w erasure.Ask) []string {
	var d []string
	if g.Ground != w.Ground || g.DirectMarketing != w.DirectMarketing || g.Restriction != w.Restriction {
		d = append(d, fmt.Sprintf("Ask.Ground, DirectMarketing, Restriction: got %q, %v, %q, want %q, %v, %q",
			g.Ground, g.DirectMarketing, g.Restriction, w.Ground, w.DirectMarketing, w.Restriction))
	}
	if !slices.Equal(g.Purposes, w.Purposes) {
		d = append(d, fmt.Sprintf("Ask.Purposes: got %q, want %q", g.Purposes, w.Purposes))
	}
	if len(g.Corrections) != len(w.Corrections) {
		return append(d, fmt.Sprintf("len(Ask.Corrections): got %d, want %d", len(g.Corrections), len(w.Corrections)))
	}
	for i, wc := range w.Corrections {
		gc := g.Corrections[i]
		if gc.Target != wc.Target || gc.Field != wc.Field || gc.Supplement != wc.Supplement {
			d = append(d, fmt.Sprintf("Ask.Corrections[%d]: got %s.%s supplement %v, want %s.%s supplement %v",
				i, gc.Target, gc.Field, gc.Supplement, wc.Target, wc.Field, wc.Supplement))
		}
		if !bytes.Equal(gc.Sealed, wc.Sealed) {
			d = append(d, fmt.Sprintf("Ask.Corrections[%d].Sealed: got %x, want %x (the sealed bytes as written)", i, gc.Sealed, wc.Sealed))
		}
	}
	return d
}

// recipientDiff lists how a stored Step.Recipient differs from want.
func recipientDiff(name string, g, w *gdpr.Disclosure) []string {
	switch {
	case g == nil && w == nil:
		return nil
	case g == nil || w == nil:
		return []string{fmt.Sprintf("%s: got %v, want %v", name, g != nil, w != nil)}
	}
	var d []string
	if g.Recipient != w.Recipient || g.Kind != w.Kind || g.Reference != w.Reference || !slices.Equal(g.Categories, w.Categories) {
		gc, wc := *g, *w
		gc.At, wc.At = time.Time{}, time.Time{}
		d = append(d, fmt.Sprintf("%s (At aside): got %+v, want %+v", name, gc, wc))
	}
	if s := timeDiff(g.At, w.At); s != "" {
		d = append(d, name+".At: "+s)
	}
	return d
}

func stepDiff(name string, g, w erasure.Step) []string {
	var d []string
	if g.Target != w.Target || g.Field != w.Field || g.Outcome != w.Outcome || g.Count != w.Count || g.Reference != w.Reference ||
		g.Error != w.Error || g.Attempts != w.Attempts {
		gc, wc := g, w
		gc.At, wc.At, gc.Exemptions, wc.Exemptions, gc.Recipient, wc.Recipient = time.Time{}, time.Time{}, nil, nil, nil, nil
		d = append(d, fmt.Sprintf("%s (At, Exemptions and Recipient aside): got %+v, want %+v", name, gc, wc))
	}
	if s := timeDiff(g.At, w.At); s != "" {
		d = append(d, name+".At: "+s)
	}
	d = append(d, recipientDiff(name+".Recipient", g.Recipient, w.Recipient)...)
	if len(g.Exemptions) != len(w.Exemptions) {
		return append(d, fmt.Sprintf("len(%s.Exemptions): got %d, want %d", name, len(g.Exemptions), len(w.Exemptions)))
	}
	for j, we := range w.Exemptions {
		ge := g.Exemptions[j]
		if ge.Category != we.Category || ge.Records != we.Records || ge.Ground != we.Ground || ge.Reason != we.Reason {
			d = append(d, fmt.Sprintf("%s.Exemptions[%d] (Until aside): got %+v, want %+v", name, j, ge, we))
		}
		if s := timeDiff(ge.Until, we.Until); s != "" {
			d = append(d, fmt.Sprintf("%s.Exemptions[%d].Until: %s", name, j, s))
		}
	}
	return d
}

// wantRequest fails t unless got, as returned by call, is want as a Store
// gives it back.
func wantRequest(t *testing.T, call string, got, want erasure.Request) {
	t.Helper()
	if d := requestDiff(got, want); len(d) > 0 {
		t.Errorf("%s returned a request that differs from the one written:\n\t%s", call, strings.Join(d, "\n\t"))
	}
}

// sentinels names the erasure sentinels the suites expect, with the root
// sentinel each must also wrap.
var sentinels = map[error]struct {
	name string
	root error
}{
	erasure.ErrNotFound:  {"ErrNotFound", gdpr.ErrNotFound},
	erasure.ErrConflict:  {"ErrConflict", gdpr.ErrConflict},
	erasure.ErrLeased:    {"ErrLeased", gdpr.ErrConflict},
	erasure.ErrLeaseLost: {"ErrLeaseLost", gdpr.ErrConflict},
	erasure.ErrInvalid:   {"ErrInvalid", gdpr.ErrInvalid},
}

// wantErr fails t unless err, returned by call, wraps target, one of the
// erasure sentinels, and with it the root package's sentinel.
func wantErr(t *testing.T, err, target error, call, why string) {
	t.Helper()
	s := sentinels[target]
	switch {
	case err == nil:
		t.Errorf("%s: got nil error, want an error wrapping erasure.%s: %s", call, s.name, why)
	case !errors.Is(err, target):
		t.Errorf("%s: got %v, want an error wrapping erasure.%s: %s", call, err, s.name, why)
	case !errors.Is(err, s.root):
		t.Errorf("%s: got %v, which wraps erasure.%s but not the root sentinel; wrap the erasure sentinel itself", call, err, s.name)
	}
}

func mustCreate(t *testing.T, s erasure.Store, rs ...erasure.Request) []erasure.Request {
	t.Helper()
	out := make([]erasure.Request, len(rs))
	for i, r := range rs {
		got, created, err := s.Create(t.Context(), r.Clone())
		if err != nil || !created {
			t.Fatalf("Create(%s request %s) = created %v, %v; want created, nil for a new request with no open request of its kind and subject", r.Kind, r.ID, created, err)
		}
		out[i] = got
	}
	return out
}

func mustGet(t *testing.T, s erasure.Store, id string) erasure.Request {
	t.Helper()
	r, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v; want the stored request", id, err)
	}
	return r
}

// mustUpdate writes r from its Version and returns it as stored now.
func mustUpdate(t *testing.T, s erasure.Store, r erasure.Request, lease *erasure.Lease, now time.Time) erasure.Request {
	t.Helper()
	if err := s.Update(t.Context(), r.Clone(), lease, now); err != nil {
		t.Fatalf("Update(request %s from Version %d, to %s): %v; want nil", r.ID, r.Version, r.State, err)
	}
	return mustGet(t, s, r.ID)
}

// wantVersion fails t unless the stored request id has Version v: a
// refused write wrote nothing.
func wantVersion(t *testing.T, s erasure.Store, id string, v int64, after string) {
	t.Helper()
	if got := mustGet(t, s, id); got.Version != v {
		t.Errorf("after %s, request %s has Version %d; want %d: nothing is written when a write is refused", after, id, got.Version, v)
	}
}

func mustList(t *testing.T, s erasure.Store, f erasure.Filter) []erasure.Request {
	t.Helper()
	rs, err := s.List(t.Context(), f)
	if err != nil {
		t.Fatalf("List(%s): %v; want nil", fmtFilter(f), err)
	}
	return rs
}

func ids(rs []erasure.Request) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func leasedIDs(ls []erasure.Leased) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Request.ID
	}
	return out
}

// sortedIDs returns the IDs of rs in ID order, the order of List.
func sortedIDs(rs ...erasure.Request) []string {
	out := ids(rs)
	slices.Sort(out)
	return out
}

func fmtFilter(f erasure.Filter) string {
	var parts []string
	if len(f.States) > 0 {
		parts = append(parts, fmt.Sprintf("States: %v", f.States))
	}
	if len(f.Kinds) > 0 {
		parts = append(parts, fmt.Sprintf("Kinds: %v", f.Kinds))
	}
	if f.SubjectRef != "" {
		parts = append(parts, "SubjectRef: "+f.SubjectRef[:min(12, len(f.SubjectRef))]+"…")
	}
	if !f.DueBefore.IsZero() {
		parts = append(parts, "DueBefore: "+f.DueBefore.Format(time.RFC3339))
	}
	if !f.ClosedBefore.IsZero() {
		parts = append(parts, "ClosedBefore: "+f.ClosedBefore.Format(time.RFC3339))
	}
	if f.After != "" {
		parts = append(parts, "After: "+f.After)
	}
	if f.Limit != 0 {
		parts = append(parts, fmt.Sprintf("Limit: %d", f.Limit))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// codeHash returns a 32-byte hash for a test code.
func codeHash(s string) []byte {
	h := sha256.Sum256([]byte("code/" + s))
	return h[:]
}

func cloneCode(c erasure.Code) erasure.Code {
	c.Hash = bytes.Clone(c.Hash)
	return c
}
