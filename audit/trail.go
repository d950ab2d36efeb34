package audit

import (
	"context"
	"iter"
	"slices"
	"strconv"
	"strings"

	"github.com/gdprkit/gdpr"
)

var _ gdpr.Trail = (*Log)(nil)

// Search yields the entries q selects, in index order: those with
// q.Since <= Time < q.Until and, where q sets them, by q.Actor, whose
// Resource starts with q.ResourcePrefix, that concern at least one of
// q.Categories, of q.Purpose, and of one of q.Actions. It implements
// gdpr.Trail: a breach investigation (Art. 33(3)(a), Art. 34) finds the
// entries a breach concerns, and their subjects' tokens
// (gdpr.TrailEntry.Subject: the pseudonym Entry.Subject holds, nil for an
// entry about no subject), which SubjectTokens matches to candidate IDs.
// Entries' times are whole microseconds, and Since and Until are rounded
// up to the next one, as in Entries; redacted entries are never yielded. A
// staff member or subject actor never recorded selects nothing, and
// nothing is stored.
//
// The Store selects the window (and the actor) MaxPage entries at a time,
// and Search checks every row as Entries does; the other fields are
// matched on the decoded entries. So memory stays within one page however
// long the window, and a search reads every entry of its window (by its
// actor), not only those it yields: give the narrowest window the breach
// allows. An entry appended during a search is yielded if it falls in the
// window.
//
// An error ends the search, yielded once with a zero gdpr.TrailEntry: an
// *Error with Op "search". A nil ctx, a zero Since or Until, a Since not
// before Until and a malformed Actor wrap ErrInvalid, and come before any
// entry. A row whose columns disagree with its body wraps ErrTampered and
// comes after the entries of the pages before it: as with ExportSubject,
// discard that answer, which is incomplete, and run Verify. A ctx done
// meanwhile ends it with ctx's error, wrapped, and so does a Store's
// error. Breaking out of the loop that ranges over it stops it, with no
// error.
func (l *Log) Search(ctx context.Context, q gdpr.TrailQuery) iter.Seq2[gdpr.TrailEntry, error] {
	return func(yield func(gdpr.TrailEntry, error) bool) {
		if err := l.search(ctx, &q, yield); err != nil {
			yield(gdpr.TrailEntry{}, err)
		}
	}
}

// search yields the entries q selects until yield returns false, and
// returns the error to yield last, if any.
func (l *Log) search(ctx context.Context, q *gdpr.TrailQuery, yield func(gdpr.TrailEntry, error) bool) error {
	if err := checkCtx(ctx, "search"); err != nil {
		return err
	}
	switch {
	case q.Since.IsZero():
		return wrap("search", invalid("Since", "a search needs a window: Since is zero"))
	case q.Until.IsZero():
		return wrap("search", invalid("Until", "a search needs a window: Until is zero"))
	case !q.Since.Before(q.Until):
		return wrap("search", invalid("Until", "Until is not after Since"))
	}
	// The actor is checked, and its pseudonym looked up, once: a
	// ForgetActor during the search does not cut it short.
	sf, ok, err := l.storeFilter(ctx, Filter{Actor: q.Actor, Since: q.Since, Until: q.Until, Limit: MaxPage})
	if !ok || err != nil {
		return wrap("search", err)
	}
	for more := true; more; {
		if err := ctx.Err(); err != nil {
			return wrap("search", err)
		}
		var es []Entry
		if es, more, err = l.page(ctx, &sf); err != nil {
			return wrap("search", err)
		}
		for i := range es {
			e := &es[i]
			if !selects(q, e) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return wrap("search", err)
			}
			if !yield(trailEntry(e), nil) {
				return nil
			}
		}
	}
	return nil
}

// selects reports whether e matches the fields of q that the Store does
// not select on.
func selects(q *gdpr.TrailQuery, e *Entry) bool {
	switch {
	case !strings.HasPrefix(e.Resource, q.ResourcePrefix):
		return false
	case q.Purpose != "" && e.Purpose != q.Purpose:
		return false
	case len(q.Actions) > 0 && !slices.Contains(q.Actions, e.Action):
		return false
	case len(q.Categories) > 0 && !slices.ContainsFunc(e.Categories, func(c string) bool { return slices.Contains(q.Categories, c) }):
		return false
	}
	return true
}

// trailEntry returns e as Search yields it.
func trailEntry(e *Entry) gdpr.TrailEntry {
	t := gdpr.TrailEntry{Index: e.Index, Time: e.Time, Action: e.Action, Purpose: e.Purpose,
		Categories: e.Categories, Resource: e.Resource, Outcome: e.Outcome}
	if !e.Subject.IsZero() {
		t.Subject = append([]byte(nil), e.Subject[:]...)
	}
	return t
}

// SubjectTokens returns, for each subjects[i] in order, the token Search
// yields for that subject's entries (gdpr.TrailEntry.Subject, the
// pseudonym Entry.Subject holds), or nil for a subject that has no salt:
// one the Log never recorded, or whose salt EraseSubject deleted. It
// implements gdpr.Trail: a breach investigation matches its candidates
// to the subjects of the entries Search found. A subject given twice gets
// its token twice. (A subject recorded only as a subject actor has a
// token too, which no entry's Subject holds.)
//
// It never creates a salt and writes nothing, so matching a list of
// candidates leaves no trace of those the Log never recorded. A subject
// this Log recorded lately takes its pseudonym from the cache
// (WithPseudonymCache), as Record does, so for up to ErasureLatency after
// another instance's EraseSubject it may still get its old token; the
// others' salts are read from the Store 1000 subjects at a time, in one
// call each when the Store is a SaltLookuper (memaudit and sqlaudit are)
// and with one LookupSalt a subject when not. Nothing it reads is cached.
//
// The error is an *Error with Op "subject tokens". A nil ctx, and a
// malformed subject ID (Field "subjects[i]", naming its index), wrap
// ErrInvalid; every ID is checked before anything is read. A Store's
// error, and a ctx done between two reads, is returned wrapped; a salt of
// the wrong size wraps ErrTampered.
func (l *Log) SubjectTokens(ctx context.Context, subjects []gdpr.SubjectID) ([][]byte, error) {
	if err := checkCtx(ctx, "subject tokens"); err != nil {
		return nil, err
	}
	ids := make([]string, len(subjects))
	for i, s := range subjects {
		if err := s.Validate(); err != nil {
			return nil, wrap("subject tokens", invalid("subjects["+strconv.Itoa(i)+"]", "bad subject ID"))
		}
		ids[i] = string(s)
	}
	ps, found, err := l.ps.lookupAll(ctx, nsSubject, ids)
	if err != nil {
		return nil, wrap("subject tokens", err)
	}
	n := 0
	for _, ok := range found {
		if ok {
			n++
		}
	}
	// One allocation holds every token; each is capped, so that an
	// append to one never writes into the next.
	buf := make([]byte, 0, n*len(Pseudonym{}))
	out := make([][]byte, len(subjects))
	for i, ok := range found {
		if ok {
			k := len(buf)
			buf = append(buf, ps[i][:]...)
			out[i] = buf[k:len(buf):len(buf)]
		}
	}
	return out, nil
}
