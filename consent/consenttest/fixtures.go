package consenttest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
)

// NoticeID is the notice that NewEvent's events reference.
const NoticeID = "consenttest-notice"

// NewID returns a fresh UUIDv7 in its canonical lower-case form, as the
// Ledger assigns to events.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// NewEvent returns a valid event of the given kind for subject and purpose at
// time at, with a fresh UUIDv7 ID, as the Ledger would build it: recorded by
// the subject through a form, for all channels, on the Consent basis
// (LegitimateInterests for Objected). Given, Refused and Pending events
// reference version 1 of NoticeID; a Pending event carries a token hash and
// a confirmation deadline a day after at. Change fields as a test needs, and
// keep the result valid by the consent package's rules.
func NewEvent(subject gdpr.SubjectID, purpose gdpr.Purpose, kind consent.Kind, at time.Time) consent.Event {
	e := consent.Event{
		ID:      NewID(),
		Subject: subject,
		Purpose: purpose,
		Kind:    kind,
		Time:    at,
		Actor:   gdpr.SubjectActor(),
		Method:  consent.MethodForm,
		Basis:   gdpr.Consent,
	}
	switch kind {
	case consent.Given, consent.Refused:
		e.Notice = consent.NoticeRef{ID: NoticeID, Version: 1, TextHash: textHash(NoticeID + "/1")}
	case consent.Pending:
		e.Notice = consent.NoticeRef{ID: NoticeID, Version: 1, TextHash: textHash(NoticeID + "/1")}
		e.ExpiresAt = at.Add(24 * time.Hour)
		sum := sha256.Sum256([]byte("token secret of " + e.ID))
		e.TokenHash = sum[:]
	case consent.Objected:
		e.Basis = gdpr.LegitimateInterests
	}
	return e
}

// confirmation returns a Given event confirming pending, a minute later.
func confirmation(pending consent.Event) consent.Event {
	e := NewEvent(pending.Subject, pending.Purpose, consent.Given, pending.Time.Add(time.Minute))
	e.Contact = pending.Contact
	e.Notice = pending.Notice
	e.Method = consent.MethodEmailLink
	e.Confirms = pending.ID
	return e
}

// fullEvent returns a valid event of kind with every field the kind allows set.
func fullEvent(subject gdpr.SubjectID, purpose gdpr.Purpose, kind consent.Kind, at time.Time) consent.Event {
	e := NewEvent(subject, purpose, kind, at)
	e.Contact = consent.Email
	e.Actor = gdpr.Staff("staff-0042")
	e.Notice = consent.NoticeRef{ID: "privacy-notice", Version: 3, TextHash: textHash("privacy/3")}
	e.Method = consent.MethodPaper
	e.Channel = "call_centre"
	e.Evidence = consent.Evidence{
		IPPrefix:  "192.0.2.0/24",
		UserAgent: "Firefox/Linux",
		Locator:   "/signup/newsletter",
		Attrs:     map[string]string{"gpc": "1", "ab_variant": "b"},
	}
	e.Basis = gdpr.ExplicitConsent
	switch kind {
	case consent.Given:
		e.ExpiresAt = at.Add(365 * 24 * time.Hour)
	case consent.Objected:
		e.Basis = gdpr.LegitimateInterests
		e.Contact = consent.SMS
	case consent.Withdrawn:
		e.Contact = consent.AllContacts
		e.Actor = gdpr.SubjectActor()
	case consent.Expired:
		e.Actor = gdpr.System("expiry-sweep")
		e.Method = consent.MethodSystem
	}
	return e
}

func textHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// cloneEvent deep-copies e, so a test keeps what it appended.
func cloneEvent(e consent.Event) consent.Event {
	e.TokenHash = bytes.Clone(e.TokenHash)
	e.Evidence.Attrs = maps.Clone(e.Evidence.Attrs)
	return e
}

// stored is how a Store gives e back: times to the microsecond, in UTC.
func stored(e consent.Event) consent.Event {
	e = cloneEvent(e)
	e.Time = e.Time.Truncate(time.Microsecond).UTC()
	e.ExpiresAt = e.ExpiresAt.Truncate(time.Microsecond).UTC()
	return e
}

// eventDiff lists how got differs from want, field by field; empty when they
// are the same. Times must be equal instants in UTC (zero stays zero); nil
// and empty TokenHash or Attrs are the same.
func eventDiff(got, want consent.Event) []string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s: got %#v, want %#v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.Subject != want.Subject {
		add("Subject", string(got.Subject), string(want.Subject))
	}
	if got.Purpose != want.Purpose {
		add("Purpose", got.Purpose, want.Purpose)
	}
	if got.Contact != want.Contact {
		add("Contact", got.Contact, want.Contact)
	}
	if got.Kind != want.Kind {
		add("Kind", got.Kind, want.Kind)
	}
	if s := timeDiff(got.Time, want.Time); s != "" {
		d = append(d, "Time: "+s)
	}
	if got.Actor != want.Actor {
		add("Actor", got.Actor, want.Actor)
	}
	if got.Notice != want.Notice {
		add("Notice", got.Notice, want.Notice)
	}
	if got.Method != want.Method {
		add("Method", got.Method, want.Method)
	}
	if got.Channel != want.Channel {
		add("Channel", got.Channel, want.Channel)
	}
	ge, we := got.Evidence, want.Evidence
	if ge.IPPrefix != we.IPPrefix || ge.UserAgent != we.UserAgent || ge.Locator != we.Locator || !maps.Equal(ge.Attrs, we.Attrs) {
		add("Evidence", ge, we)
	}
	if s := timeDiff(got.ExpiresAt, want.ExpiresAt); s != "" {
		d = append(d, "ExpiresAt: "+s)
	}
	if got.Basis != want.Basis {
		add("Basis", got.Basis.String(), want.Basis.String())
	}
	if got.Confirms != want.Confirms {
		add("Confirms", got.Confirms, want.Confirms)
	}
	if !bytes.Equal(got.TokenHash, want.TokenHash) {
		add("TokenHash", hex.EncodeToString(got.TokenHash), hex.EncodeToString(want.TokenHash))
	}
	return d
}

// timeDiff says how a stored time differs from want, which it normalises.
func timeDiff(got, want time.Time) string {
	want = want.Truncate(time.Microsecond).UTC()
	switch {
	case want.IsZero() && !got.IsZero():
		return fmt.Sprintf("got %s, want the zero time", got.Format(time.RFC3339Nano))
	case want.IsZero():
		return ""
	case !got.Equal(want):
		return fmt.Sprintf("got %s, want %s (times are kept to the microsecond, truncated, in UTC)",
			got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	case got.Location() != time.UTC:
		return fmt.Sprintf("got location %q, want UTC (return times with .UTC())", got.Location())
	}
	return ""
}

func noticeDiff(got, want consent.Notice) []string {
	var d []string
	if got.ID != want.ID || got.Version != want.Version || got.TextHash != want.TextHash ||
		got.Language != want.Language || got.URL != want.URL || got.Material != want.Material {
		g, w := got, want
		g.Published, w.Published = time.Time{}, time.Time{}
		d = append(d, fmt.Sprintf("got %+v, want %+v (Published aside)", g, w))
	}
	if s := timeDiff(got.Published, want.Published); s != "" {
		d = append(d, "Published: "+s)
	}
	return d
}
