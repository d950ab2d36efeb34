package retention

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

// Hold is a legal hold: data kept past their retention period, and from
// an erasure, because they are needed for the establishment, exercise
// or defence of legal claims (Art. 17(3)(e)) or an authority ordered it.
// A hold is on one subject's data, on every subject's data of some
// categories, or on one subject's data of some categories. A record a
// hold in force covers is not swept by any batch begun after the hold
// was placed (see Holds.Place), and the erasure engine keeps it
// (gdpr.LegalHolds).
//
// The Subject is personal data: printed with fmt it shows a mask, like
// every gdpr.SubjectID.
type Hold struct {
	// ID identifies the hold, e.g. a case number; a key, no personal
	// data. Required.
	ID string `json:"id"`
	// Subject is the subject whose data are held; empty holds every
	// subject's data of Categories.
	Subject gdpr.SubjectID `json:"subject,omitempty"`
	// Categories are the data categories held, as in the Register; empty
	// holds every category of Subject's data. A hold names a Subject,
	// Categories or both.
	Categories []string `json:"categories,omitempty"`
	// Reason explains the hold for the audit trail and the subject's
	// reply (the claim, the order); no personal data. Required.
	Reason string `json:"reason"`
	// PlacedBy is who placed the hold; required.
	PlacedBy gdpr.Actor `json:"placed_by"`
	// Placed is when the hold was placed; set by Holds.Place.
	Placed time.Time `json:"placed"`
	// Until is when the hold ends by itself; zero while its end is not
	// known.
	Until time.Time `json:"until,omitzero"`
	// Released is when the hold was lifted before Until; zero while it
	// has not been.
	Released time.Time `json:"released,omitzero"`
	// ReleasedBy is who lifted it; zero while it has not been.
	ReleasedBy gdpr.Actor `json:"released_by,omitzero"`
}

// String returns the hold's ID, categories and times, with its subject,
// reason and actors masked: a hold is a record of personal data, and
// may reach a log line by mistake.
func (h Hold) String() string {
	var b strings.Builder
	b.WriteString("retention.Hold{ID:" + strconv.Quote(h.ID))
	if h.Subject != "" {
		b.WriteString(" Subject:[subject]")
	}
	if len(h.Categories) > 0 {
		b.WriteString(" Categories:" + strconv.Quote(strings.Join(h.Categories, ",")))
	}
	b.WriteString(" Reason:[reason] PlacedBy:" + h.PlacedBy.String())
	for _, f := range []struct {
		name string
		t    time.Time
	}{{"Placed", h.Placed}, {"Until", h.Until}, {"Released", h.Released}} {
		if !f.t.IsZero() {
			b.WriteString(" " + f.name + ":" + f.t.UTC().Format(time.RFC3339Nano))
		}
	}
	if !h.ReleasedBy.IsZero() {
		b.WriteString(" ReleasedBy:" + h.ReleasedBy.String())
	}
	b.WriteString("}")
	return b.String()
}

// GoString returns String, for %#v.
func (h Hold) GoString() string { return h.String() }

// Format implements fmt.Formatter so that every verb prints String.
func (h Hold) Format(f fmt.State, _ rune) { io.WriteString(f, h.String()) }

// MaxHoldCategories is the most categories one hold names.
const MaxHoldCategories = 64

// InForce reports whether h holds data at now: it was placed at or
// before now, and neither Until nor Released is at or before now.
func (h Hold) InForce(now time.Time) bool {
	if h.Placed.After(now) {
		return false
	}
	if !h.Until.IsZero() && !h.Until.After(now) {
		return false
	}
	if !h.Released.IsZero() && !h.Released.After(now) {
		return false
	}
	return true
}

// Covers reports whether h, in force or not, holds the data of subject
// in category: its Subject is empty or subject, and its Categories are
// empty or include category.
func (h Hold) Covers(subject gdpr.SubjectID, category string) bool {
	if h.Subject != "" && h.Subject != subject {
		return false
	}
	return len(h.Categories) == 0 || slices.Contains(h.Categories, category)
}

// Legal returns h as the root package's gdpr.Hold, which the erasure
// engine reads.
func (h Hold) Legal() gdpr.Hold {
	g := gdpr.Hold{ID: h.ID, Categories: slices.Clone(h.Categories), Until: h.Until, Reason: h.Reason}
	if !h.Released.IsZero() && (g.Until.IsZero() || h.Released.Before(g.Until)) {
		g.Until = h.Released
	}
	return g
}

// Validate reports whether h can be placed: an ID and a Reason, a
// Subject, Categories or both, each valid and without repeats, a valid
// PlacedBy, and an Until after Placed when both are set. Released and
// ReleasedBy must be zero. The error wraps ErrInvalid, names the field
// and holds no value of it.
func (h Hold) Validate() error { return wrap("hold", h.validate()) }

func (h Hold) validate() error {
	switch {
	case !validKey(h.ID):
		return invalid("id", "a hold ID is a key of at most 255 bytes with no control characters")
	case h.Subject == "" && len(h.Categories) == 0:
		return invalid("subject", "a hold names a subject, categories or both")
	case h.Subject != "" && h.Subject.Validate() != nil:
		return invalid("subject", "not a valid subject ID")
	case len(h.Categories) > MaxHoldCategories:
		return invalid("categories", "more than 64 categories")
	case h.Reason == "" || !validText(h.Reason):
		return invalid("reason", "a hold needs a reason, with no control characters")
	case len(h.Reason) > MaxTextLen:
		return invalid("reason", "longer than 4096 bytes")
	case h.PlacedBy.IsZero() || h.PlacedBy.Validate() != nil:
		return invalid("placed_by", "a hold needs a valid actor who placed it")
	case !h.Until.IsZero() && !h.Placed.IsZero() && !h.Until.After(h.Placed):
		return invalid("until", "a hold must end after it is placed")
	case !h.Released.IsZero() || !h.ReleasedBy.IsZero():
		return invalid("released", "a hold is placed unreleased")
	}
	for i, c := range h.Categories {
		if !validKey(c) {
			return invalid("categories["+itoa(i)+"]", "a category is a key of at most 255 bytes with no control characters")
		}
		if slices.Contains(h.Categories[:i], c) {
			return invalid("categories["+itoa(i)+"]", "a category named twice")
		}
	}
	return nil
}

// HoldFilter selects holds in Store.ListHolds. Zero fields select all.
type HoldFilter struct {
	// Subject, when not empty, selects the holds that cover that
	// subject's data: those naming the subject and those naming no
	// subject.
	Subject gdpr.SubjectID
	// Category, when not empty, selects the holds that cover that
	// category: those naming it and those naming no category.
	Category string
	// InForce, when not zero, selects the holds in force at that instant
	// (Hold.InForce).
	InForce time.Time
	// After is the ID of the last hold of the page before; empty for the
	// first page. Holds are listed in ID order (byte order).
	After string
	// Limit is the most holds to return, 1 to MaxLimit; 0 means
	// DefaultLimit.
	Limit int
}

// Match reports whether h is selected by f, leaving out After and Limit.
func (f HoldFilter) Match(h Hold) bool {
	if f.Subject != "" && h.Subject != "" && h.Subject != f.Subject {
		return false
	}
	if f.Category != "" && len(h.Categories) > 0 && !slices.Contains(h.Categories, f.Category) {
		return false
	}
	return f.InForce.IsZero() || h.InForce(f.InForce)
}

// Page sizes of Store.ListHolds.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func slicesBinarySearch(s []gdpr.SubjectID, v gdpr.SubjectID) (int, bool) {
	return slices.BinarySearch(s, v)
}
