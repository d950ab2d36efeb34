package audit

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gdprkit/gdpr"
)

// Filter selects entries for Log.Entries, one page at a time. Zero fields
// select everything; the others must all match.
//
// Paging: a call returns at most Limit entries — DefaultPage (100) when
// Limit is 0, never more than MaxPage (1000) — in index order, and fewer
// than Limit only when no more match. To read the next page, set From to
// the last Index returned plus one. A negative Limit or From, or a Limit
// over MaxPage, is refused with ErrInvalid (Field "Limit" or "From"): it
// is never cut down silently.
type Filter struct {
	// Subject selects the entries about this data subject: the answer to
	// "who accessed my data" (Art. 15(1)(c)).
	Subject gdpr.SubjectID
	// Actor selects the entries of this actor. A subject actor with no ID
	// selects the entries whose actor is a subject acting without an ID.
	// A zero Actor selects every actor; the context's actor
	// (gdpr.WithActor) plays no part in a query.
	Actor gdpr.Actor
	// Since and Until select entries with Since <= Time < Until; a zero
	// time leaves that end open.
	Since, Until time.Time
	// From selects entries at index From or later: pass the last index
	// returned plus one to read the next page. Default: 0, the first
	// entry.
	From int64
	// Limit is the most entries returned, 1 to MaxPage (1000). Default
	// (0): DefaultPage, 100.
	Limit int
}

// DefaultPage is how many entries Entries returns when Filter.Limit is 0.
const DefaultPage = 100

// MaxPage is the most entries one call to Entries returns: the largest
// Filter.Limit.
const MaxPage = 1000

// Entries returns the entries f selects, in index order, at most f.Limit
// of them (DefaultPage if 0, at most MaxPage; see Filter for paging);
// redacted entries are never returned. Looking up a subject or staff
// member never recorded returns nothing and stores nothing. The error is
// an *Error with Op "entries"; a nil ctx, a bad Limit or From, and a
// malformed Subject or Actor wrap ErrInvalid.
//
// The Store selects rows by their query columns (subject, actor, time),
// which an insider can edit; each entry returned is decoded from its
// body, the part the tree hashes. Entries checks every row the Store
// returns: its columns must say what its body says, and its body must
// match f. If one does not, Entries returns no entries and an error
// wrapping ErrTampered that names the row's index: an answer never holds
// an entry about another subject, by another actor or from another time,
// and a page is never returned with a row silently left out. What a
// query cannot see is a row whose columns were moved away from f (to
// another subject, say): the Store does not return it. Verify reports
// every such row (ColumnMismatch), and a query that selects it where it
// was moved to fails; so the answer is complete for a log that Verify
// passes. Run Verify on a schedule, and before an answer that must be
// complete (an Art. 15 request) if the last run is older than you accept.
func (l *Log) Entries(ctx context.Context, f Filter) ([]Entry, error) {
	if err := checkCtx(ctx, "entries"); err != nil {
		return nil, err
	}
	out, err := l.entries(ctx, f)
	return out, wrap("entries", err)
}

func (l *Log) entries(ctx context.Context, f Filter) ([]Entry, error) {
	sf, ok, err := l.storeFilter(ctx, f)
	if !ok || err != nil {
		return nil, err
	}
	out, _, err := l.page(ctx, &sf)
	return out, err
}

// storeFilter returns the StoreFilter of f, and false if f selects
// nothing because its subject or actor was never recorded (nothing is
// stored then).
func (l *Log) storeFilter(ctx context.Context, f Filter) (StoreFilter, bool, error) {
	if f.Limit == 0 {
		f.Limit = DefaultPage
	}
	if f.Limit < 0 || f.Limit > MaxPage {
		return StoreFilter{}, false, invalid("Limit", fmt.Sprintf("the limit is 0 (for %d) or 1 to %d", DefaultPage, MaxPage))
	}
	if f.From < 0 {
		return StoreFilter{}, false, invalid("From", "a negative index")
	}
	// Entries' times are whole microseconds: a bound rounded up to the
	// next one selects exactly the same entries, in any Store, and the
	// bodies are checked against the same bounds the Store was given.
	sf := StoreFilter{Since: ceilMicro(f.Since), Until: ceilMicro(f.Until), From: f.From, Limit: f.Limit}
	if f.Subject != "" {
		if err := f.Subject.Validate(); err != nil {
			return StoreFilter{}, false, invalid("Subject", "bad subject ID")
		}
		p, ok, err := l.ps.lookup(ctx, nsSubject, string(f.Subject))
		if !ok || err != nil {
			return StoreFilter{}, false, err
		}
		sf.Subject = p[:]
	}
	if !f.Actor.IsZero() {
		a, ok, err := l.actorColumn(ctx, f.Actor)
		if !ok || err != nil {
			return StoreFilter{}, false, err
		}
		sf.Actor = a
	}
	return sf, true, nil
}

// page returns the entries of the Store's answer to sf, each checked
// against its row and sf (checkRow), and moves sf.From past the rows
// returned. It reports whether the Store returned a full page (sf.Limit
// rows), so that there may be more.
func (l *Log) page(ctx context.Context, sf *StoreFilter) ([]Entry, bool, error) {
	ses, err := l.store.Query(ctx, *sf)
	if err != nil {
		return nil, false, err
	}
	out := make([]Entry, 0, len(ses))
	for i := range ses {
		se := &ses[i]
		if se.Body == nil {
			continue
		}
		// The Store selected the row by its columns; the answer is its
		// body. Both must agree with each other and with the filter,
		// or the page is refused: an answer (Art. 15) never holds
		// another subject's entry, and a row moved away is reported,
		// not dropped without a word.
		if err := checkRow(se, sf); err != nil {
			return nil, false, err
		}
		e := Entry{Index: se.Index}
		if err := e.unmarshalBinary(se.Body); err != nil {
			return nil, false, fmt.Errorf("%w: entry %d does not decode", ErrTampered, se.Index)
		}
		out = append(out, e)
	}
	// Past the greatest index returned, whatever the rows' order, so
	// that paging always moves forward.
	for i := range ses {
		sf.From = max(sf.From, ses[i].Index+1)
	}
	return out, len(ses) >= sf.Limit, nil
}

// checkRow returns an error wrapping ErrTampered if the row se, which the
// Store returned for f, has query columns that disagree with its body, or
// a body that f does not select. The error names the index and the
// columns, never their values.
func checkRow(se *StoredEntry, f *StoreFilter) error {
	c, ok := peekColumns(se.Body)
	if !ok {
		return fmt.Errorf("%w: entry %d does not decode", ErrTampered, se.Index)
	}
	if d := c.mismatch(se); d != "" {
		return fmt.Errorf("%w: entry %d: its %s column disagrees with its body (Verify reports every such entry)", ErrTampered, se.Index, d)
	}
	var bad string
	switch {
	case se.Index < f.From:
		bad = "index"
	case f.Subject != nil && !bytes.Equal(c.subject, f.Subject):
		bad = "subject"
	case f.Actor != nil && !c.actorIs(f.Actor):
		bad = "actor"
	case !f.Since.IsZero() && c.us < f.Since.UnixMicro(), !f.Until.IsZero() && c.us >= f.Until.UnixMicro():
		bad = "time"
	}
	if bad != "" {
		return fmt.Errorf("%w: the store returned entry %d, whose %s the filter does not select", ErrTampered, se.Index, bad)
	}
	return nil
}

// ceilMicro returns t rounded up to a whole microsecond; the zero time
// stays zero.
func ceilMicro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	c := t.Truncate(time.Microsecond)
	if c.Before(t) {
		c = c.Add(time.Microsecond)
	}
	return c
}

// Entry returns the entry at index, with its encoded body (for CheckEntry).
// It returns an error wrapping ErrNotFound for an index that holds no entry
// or a redacted one, and one wrapping ErrInvalid for a nil ctx; the error
// is an *Error with Op "entry".
func (l *Log) Entry(ctx context.Context, index int64) (Entry, []byte, error) {
	if err := checkCtx(ctx, "entry"); err != nil {
		return Entry{}, nil, err
	}
	ses, err := l.store.Entries(ctx, index, 1)
	if err != nil {
		return Entry{}, nil, wrap("entry", err)
	}
	if len(ses) == 0 || ses[0].Index != index || ses[0].Body == nil {
		return Entry{}, nil, wrap("entry", fmt.Errorf("%w: no entry at %d", ErrNotFound, index))
	}
	e := Entry{Index: index}
	if err := e.unmarshalBinary(ses[0].Body); err != nil {
		return Entry{}, nil, wrap("entry", fmt.Errorf("%w: entry %d does not decode", ErrTampered, index))
	}
	return e, ses[0].Body, nil
}

// Redact drops the content of the entry at index: its body, nonce and
// query columns go, its leaf hash stays, and the tree and every other
// entry still verify. reason is a key such as "recorded_in_error" or
// "court_order" (^[a-z0-9_.-]{1,64}$). Redact first appends an
// audit.redact entry by actor naming the index and the reason, so that
// Verify can tell a redaction from a deletion; it is idempotent. If it
// fails after that entry was written, call it again: the entry then
// records an attempt, and the retry a second one. An audit.redact entry
// itself cannot be redacted. A zero actor takes the context's
// (gdpr.WithActor), and the audit.redact entry the context's purpose, as
// in Record. The error is an *Error with Op "redact"; a nil ctx and a bad
// reason or actor wrap ErrInvalid.
func (l *Log) Redact(ctx context.Context, actor gdpr.Actor, index int64, reason string) error {
	if err := checkCtx(ctx, "redact"); err != nil {
		return err
	}
	return wrap("redact", l.redact(ctx, actor, index, reason))
}

func (l *Log) redact(ctx context.Context, actor gdpr.Actor, index int64, reason string) error {
	if !isKey(reason) {
		return invalid("reason", "the reason must match ^[a-z0-9_.-]{1,64}$")
	}
	ses, err := l.store.Entries(ctx, index, 1)
	if err != nil {
		return err
	}
	if len(ses) == 0 || ses[0].Index != index {
		return fmt.Errorf("%w: no entry at %d", ErrNotFound, index)
	}
	if ses[0].Body == nil {
		return nil // done before
	}
	if peekAction(ses[0].Body) == actionRedact {
		return fmt.Errorf("%w: entry %d records a redaction and cannot be redacted", ErrInvalid, index)
	}
	if _, err := l.append(ctx, []gdpr.Event{{Actor: actor, Action: actionRedact,
		Resource: redactResource + strconv.FormatInt(index, 10), Outcome: gdpr.Success,
		Attrs: map[string]string{"reason": reason}}}); err != nil {
		return err
	}
	return l.store.Redact(ctx, index)
}

// EraseSubject deletes the salt of subject's pseudonym, so that no entry of
// the log can be linked to them any longer, by anyone, key or not; the
// entries stay and the log still verifies (Art. 17). The report counts the
// salt. It records no entry of its own. A later event that names the
// same subject (as Subject or as a subject actor) gets a new, unrelated
// pseudonym, and links the subject to it and to every later entry again,
// until the next EraseSubject: record erasure events without a Subject
// (see the package doc). Other Log instances may write the old pseudonym
// for up to their cache TTL (WithPseudonymCache). EraseSubject implements
// gdpr.Eraser. The error is an *Error with Op "erase"; a nil ctx and a
// malformed subject ID wrap ErrInvalid.
func (l *Log) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if err := checkCtx(ctx, "erase"); err != nil {
		return gdpr.ErasureReport{}, err
	}
	if err := subject.Validate(); err != nil {
		return gdpr.ErasureReport{}, wrap("erase", invalid("subject", "bad subject ID"))
	}
	ok, err := l.ps.forget(ctx, nsSubject, string(subject))
	if err != nil || !ok {
		return gdpr.ErasureReport{}, wrap("erase", err)
	}
	return gdpr.ErasureReport{Erased: 1}, nil
}

// ForgetActor deletes the salt of a staff member's pseudonym, as
// EraseSubject does for a subject: their entries stay, unlinkable to them.
// It records no entry of its own; a later event by the same staff member
// gets a new pseudonym. It reports whether the staff member had a salt. The error is an *Error
// with Op "forget"; a nil ctx and a malformed ID wrap ErrInvalid.
func (l *Log) ForgetActor(ctx context.Context, staffID string) (bool, error) {
	if err := checkCtx(ctx, "forget"); err != nil {
		return false, err
	}
	if err := gdpr.Staff(staffID).Validate(); err != nil {
		return false, wrap("forget", invalid("staffID", "bad staff ID"))
	}
	ok, err := l.ps.forget(ctx, nsStaff, staffID)
	return ok, wrap("forget", err)
}

// ExportSubject writes the entries about subject as records of the dataset
// "audit_entries": what was done with their data, when, why, and by what
// kind of actor (Art. 15(1)). A staff member's pseudonym is left out: the
// Court of Justice held that Art. 15 does not oblige a controller to name
// the employees who consulted the data (C-579/21, Pankki S). It reads
// the log MaxPage entries at a time and returns the writer's first error
// as it is. Each page is checked as Entries checks it: if the Store
// returns a row whose columns disagree with its body, ExportSubject stops
// with an *Error (Op "export") wrapping ErrTampered, having written the
// pages before it; discard that export, since it is incomplete, and run
// Verify. It never writes another subject's entry. It implements
// gdpr.Exporter. A nil ctx or w, and an empty or
// malformed subject ID (which names no one: a Filter without a Subject
// would select everyone's entries), are refused with an *Error (Op
// "export") wrapping ErrInvalid.
func (l *Log) ExportSubject(ctx context.Context, subject gdpr.SubjectID, w gdpr.RecordWriter) error {
	if err := checkCtx(ctx, "export"); err != nil {
		return err
	}
	if err := subject.Validate(); err != nil {
		return wrap("export", invalid("subject", "bad subject ID"))
	}
	if w == nil {
		return wrap("export", invalid("w", "nil record writer"))
	}
	f := Filter{Subject: subject, Limit: MaxPage}
	for {
		es, err := l.entries(ctx, f)
		if err != nil {
			return wrap("export", err)
		}
		for _, e := range es {
			fields := map[string]any{
				"action": e.Action, "actor_kind": string(e.Actor.Kind), "outcome": string(e.Outcome),
			}
			if e.Actor.Kind == gdpr.ActorSystem {
				fields["actor"] = e.Actor.ID
			}
			if e.Purpose != "" {
				fields["purpose"] = string(e.Purpose)
			}
			if len(e.Categories) > 0 {
				cs := make([]any, len(e.Categories))
				for i, c := range e.Categories {
					cs[i] = c
				}
				fields["categories"] = cs
			}
			if e.Resource != "" {
				fields["resource"] = e.Resource
			}
			if len(e.Attrs) > 0 {
				as := make(map[string]any, len(e.Attrs))
				for k, v := range e.Attrs {
					as[k] = v
				}
				fields["attrs"] = as
			}
			if err := w.WriteRecord(ctx, gdpr.Record{Dataset: "audit_entries", ID: strconv.FormatInt(e.Index, 10),
				Time: e.Time, Fields: fields}); err != nil {
				return err
			}
		}
		if len(es) < f.Limit {
			return nil
		}
		f.From = es[len(es)-1].Index + 1
	}
}

var (
	_ gdpr.Recorder = (*Log)(nil)
	_ gdpr.Eraser   = (*Log)(nil)
	_ gdpr.Exporter = (*Log)(nil)
)

var _ gdpr.ErasureLatency = (*Log)(nil)

// ErasureLatency is how long after EraseSubject another instance may still
// write the subject's old pseudonym from its cache: the pseudonym cache's
// TTL (WithPseudonymCache) and the 50 ms of its clock's refresh; zero with
// the cache off (gdpr.ErasureLatency). The request engine waits it out
// before it reports an erasure complete.
func (l *Log) ErasureLatency() time.Duration {
	if l.ps.size == 0 || l.ps.ttl == 0 {
		return 0
	}
	return l.ps.ttl + 50*time.Millisecond
}
