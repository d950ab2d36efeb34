package memconsent

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Store is an in-memory consent.Store. The zero value is not usable; call
// New. A Store is safe for concurrent use by many goroutines: reads share a
// sync.RWMutex, writes hold it exclusively, so every Append, PutNotice and
// DeleteSubject is atomic.
//
// Events are kept per (subject, purpose) in append order, which is Seq
// order, so Latest costs one map lookup and a short backward scan.
// Everything a Store returns is a deep copy, and nothing it keeps aliases
// its caller's input.
type Store struct {
	mu sync.RWMutex

	// seq is the Seq of the last appended event; it only grows, erasure
	// included, so a Seq is never given twice.
	seq int64
	// series holds each (subject, purpose)'s events in Seq order.
	series map[key][]entry
	// purposes lists, per subject, the purposes that have a series.
	purposes map[gdpr.SubjectID][]gdpr.Purpose
	// byID locates every stored event.
	byID map[string]loc
	// confirms maps a confirmed pending event's ID to the ID of the event
	// that confirms it.
	confirms map[string]string
	// notices holds the versions of each notice ID, and the subjects with a
	// Given event under it. Sets are never removed, so entries may point at
	// them.
	notices map[string]*noticeSet
	// owed is the audit outbox: for each event whose audit record the
	// Ledger has not cleared, when its marker is due.
	owed map[string]time.Time

	suppressions // the suppression list, under its own lock (suppression.go)
}

var (
	_ consent.Store        = (*Store)(nil)
	_ consent.StaleEventer = (*Store)(nil)
)

// New returns an empty Store.
func New() *Store {
	return &Store{
		series:   make(map[key][]entry),
		purposes: make(map[gdpr.SubjectID][]gdpr.Purpose),
		byID:     make(map[string]loc),
		confirms: make(map[string]string),
		notices:  make(map[string]*noticeSet),
		owed:     make(map[string]time.Time),
	}
}

type key struct {
	subject gdpr.SubjectID
	purpose gdpr.Purpose
}

// loc is where an event is: its series and its Seq there.
type loc struct {
	key key
	seq int64
}

// entry is a stored event with a pointer to the versions of its notice (nil
// when it names none), so Latest needs no second lookup.
type entry struct {
	ev     consent.Event
	notice *noticeSet
}

type noticeSet struct {
	versions []consent.Notice // ascending Version
	given    []gdpr.SubjectID // sorted, distinct: subjects with a Given event for this notice
}

// defaultStaleLimit is the page size of StaleSubjects when q.Limit <= 0.
const defaultStaleLimit = 100

// Errors carry no subject ID: event and notice IDs at most, and those only
// when they look like keys (show). The hot-path one is allocated once.
var errLatestNotFound = fmt.Errorf("memconsent latest: no event decides the query: %w", consent.ErrNotFound)

// Append stores a deep copy of e, its times truncated to the microsecond and
// converted to UTC, with the next Seq (e.Seq is ignored). It returns an error wrapping consent.ErrConflict (and so
// gdpr.ErrConflict) if an event with e.ID is stored, or if e.Confirms is set
// and another stored event confirms the same pending event; nothing is
// written then. With the event, under the same lock, it writes its audit
// marker, due at e.Time plus consent.AuditGrace (consent.AuditOutbox).
// Append does not validate e: the Ledger does that. It returns ctx.Err()
// if ctx is done.
func (s *Store) Append(ctx context.Context, e consent.Event) error {
	if err := checkCtx("append", ctx); err != nil {
		return err
	}
	e = clone(e)
	e.Time = norm(e.Time)
	e.ExpiresAt = norm(e.ExpiresAt)

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[e.ID]; ok {
		return fmt.Errorf("memconsent append: event %s exists: %w", show(e.ID), consent.ErrConflict)
	}
	if e.Confirms != "" {
		if _, ok := s.confirms[e.Confirms]; ok {
			return fmt.Errorf("memconsent append: pending event %s is confirmed already: %w", show(e.Confirms), consent.ErrConflict)
		}
	}
	var ns *noticeSet
	if e.Notice.ID != "" {
		ns = s.noticeSet(e.Notice.ID)
	}
	s.seq++
	e.Seq = s.seq
	k := key{e.Subject, e.Purpose}
	es, ok := s.series[k]
	if !ok {
		s.purposes[e.Subject] = append(s.purposes[e.Subject], e.Purpose)
	}
	s.series[k] = append(es, entry{ev: e, notice: ns})
	s.byID[e.ID] = loc{key: k, seq: e.Seq}
	if e.Confirms != "" {
		s.confirms[e.Confirms] = e.ID
	}
	if e.Kind == consent.Given && ns != nil {
		ns.addGiven(e.Subject)
	}
	s.owed[e.ID] = e.Time.Add(consent.AuditGrace)
	return nil
}

// Event returns a deep copy of the event with the given ID, or an error
// wrapping consent.ErrNotFound (and so gdpr.ErrNotFound).
func (s *Store) Event(ctx context.Context, id string) (consent.Event, error) {
	if err := checkCtx("event", ctx); err != nil {
		return consent.Event{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if l, ok := s.byID[id]; ok {
		es := s.series[l.key]
		if i, found := slices.BinarySearchFunc(es, l.seq, cmpSeq); found {
			return clone(es[i].ev), nil
		}
	}
	return consent.Event{}, fmt.Errorf("memconsent event: %s: %w", show(id), consent.ErrNotFound)
}

// Latest returns the event that decides q, as consent.Store specifies: of
// q.Subject's events for q.Purpose that are not Pending, apply to q.Contact
// (consent.Event.Applies) and happened at or before q.At, the one with the
// highest Seq, that is the last appended; with it the highest Material
// version of its notice Published at or before q.At (0 if none). A zero
// q.At is taken literally, so nothing qualifies. It returns an error
// wrapping consent.ErrNotFound when no event qualifies.
//
// Latest is on the hot path of every decision: it takes a read lock, makes
// one map lookup, scans backwards from the last appended event and
// allocates only to copy the TokenHash and Evidence.Attrs of the event it
// returns.
func (s *Store) Latest(ctx context.Context, q consent.Query) (consent.Current, error) {
	if err := checkCtx("latest", ctx); err != nil {
		return consent.Current{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	es := s.series[key{q.Subject, q.Purpose}]
	for i := len(es) - 1; i >= 0; i-- {
		e := &es[i].ev
		// Times are not in Seq order (clocks skew), so every event is
		// checked against q.At; the scan cannot stop at the first later one.
		if e.Kind == consent.Pending || !e.Applies(q.Contact) || (!q.Current && e.Time.After(q.At)) {
			continue
		}
		return consent.Current{Event: clone(*e), LatestMaterial: es[i].notice.latestMaterial(q.At)}, nil
	}
	return consent.Current{}, errLatestNotFound
}

// Events returns deep copies of subject's events in Seq order; with a
// non-empty purpose only those for it. No events gives a nil slice and no
// error.
func (s *Store) Events(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose) ([]consent.Event, error) {
	if err := checkCtx("events", ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []consent.Event
	if purpose != "" {
		es := s.series[key{subject, purpose}]
		if len(es) == 0 {
			return nil, nil
		}
		out = make([]consent.Event, 0, len(es))
		for i := range es {
			out = append(out, clone(es[i].ev))
		}
		return out, nil
	}
	ps := s.purposes[subject]
	for _, p := range ps {
		for _, en := range s.series[key{subject, p}] {
			out = append(out, clone(en.ev))
		}
	}
	if len(ps) > 1 {
		slices.SortFunc(out, func(a, b consent.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return out, nil
}

// DeleteSubject deletes every event of subject and returns how many it
// deleted; an unknown or already erased subject gives 0 and no error. A
// confirmation made by an erased event no longer counts, so the pending
// event it confirmed (if it survives) could be confirmed again. The audit
// markers of the deleted events go with them, under the same lock. Notices
// are not subject data and stay.
func (s *Store) DeleteSubject(ctx context.Context, subject gdpr.SubjectID) (int64, error) {
	if err := checkCtx("delete_subject", ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, p := range s.purposes[subject] {
		k := key{subject, p}
		for i := range s.series[k] {
			e := &s.series[k][i]
			delete(s.byID, e.ev.ID)
			delete(s.owed, e.ev.ID)
			if c := e.ev.Confirms; c != "" && s.confirms[c] == e.ev.ID {
				delete(s.confirms, c)
			}
			if e.ev.Kind == consent.Given && e.notice != nil {
				e.notice.removeGiven(subject)
			}
			n++
		}
		delete(s.series, k)
	}
	delete(s.purposes, subject)
	return n, nil
}

// ClaimAudit implements consent.AuditOutbox: under the write lock, it
// takes the events whose marker is due at or before q.Now, at most
// q.Limit of them (a q.Limit below 1 is an error wrapping
// consent.ErrInvalid), those due earliest first, makes their markers due
// at q.Until, and returns deep copies in Seq order.
func (s *Store) ClaimAudit(ctx context.Context, q consent.AuditClaim) ([]consent.Event, error) {
	if err := checkCtx("claim_audit", ctx); err != nil {
		return nil, err
	}
	if q.Limit < 1 {
		return nil, fmt.Errorf("memconsent claim_audit: limit: %w: must be 1 or more", consent.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	type owed struct {
		at  time.Time
		loc loc
	}
	var due []owed
	for id, at := range s.owed {
		if !at.After(q.Now) {
			due = append(due, owed{at, s.byID[id]})
		}
	}
	slices.SortFunc(due, func(a, b owed) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.loc.seq, b.loc.seq)) })
	if len(due) > q.Limit {
		due = due[:q.Limit]
	}
	slices.SortFunc(due, func(a, b owed) int { return cmp.Compare(a.loc.seq, b.loc.seq) })
	var out []consent.Event
	for _, d := range due {
		es := s.series[d.loc.key]
		i, _ := slices.BinarySearchFunc(es, d.loc.seq, cmpSeq)
		e := clone(es[i].ev)
		s.owed[e.ID] = q.Until
		out = append(out, e)
	}
	return out, nil
}

// ClearAudit implements consent.AuditOutbox: it removes the marker of the
// event id, if there is one.
func (s *Store) ClearAudit(ctx context.Context, id string) error {
	if err := checkCtx("clear_audit", ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.owed, id)
	return nil
}

// PutNotice stores n, its Published time truncated to the microsecond and
// converted to UTC. It returns an error wrapping consent.ErrConflict (and so
// gdpr.ErrConflict) if a notice with n.ID and n.Version is stored; nothing is
// written then. PutNotice does not validate n.
func (s *Store) PutNotice(ctx context.Context, n consent.Notice) error {
	if err := checkCtx("put_notice", ctx); err != nil {
		return err
	}
	n.Published = norm(n.Published)
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := s.noticeSet(n.ID)
	i, found := slices.BinarySearchFunc(ns.versions, n.Version, func(v consent.Notice, version int) int { return v.Version - version })
	if found {
		return fmt.Errorf("memconsent put_notice: notice %s version %d exists: %w", show(n.ID), n.Version, consent.ErrConflict)
	}
	ns.versions = slices.Insert(ns.versions, i, n)
	return nil
}

// Notices returns every version of the notice id in ascending Version
// order; an unknown id gives a nil slice and no error.
func (s *Store) Notices(ctx context.Context, id string) ([]consent.Notice, error) {
	if err := checkCtx("notices", ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ns := s.notices[id]; ns != nil && len(ns.versions) > 0 {
		return slices.Clone(ns.versions), nil
	}
	return nil, nil
}

// StaleSubjects returns, in ascending byte order and at most q.Limit of them
// (100 when q.Limit <= 0), the distinct subjects greater than q.After that
// have a Given event for notice q.Notice with a Version below q.Version and,
// when q.Purpose is set, for that purpose. None gives a nil slice.
func (s *Store) StaleSubjects(ctx context.Context, q consent.StaleQuery) ([]gdpr.SubjectID, error) {
	if err := checkCtx("stale_subjects", ctx); err != nil {
		return nil, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultStaleLimit
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.staleCandidates(q, limit), nil
}

// staleCandidates is StaleSubjects under the read lock.
func (s *Store) staleCandidates(q consent.StaleQuery, limit int) []gdpr.SubjectID {
	ns := s.notices[q.Notice]
	if ns == nil {
		return nil
	}
	var out []gdpr.SubjectID
	i := sort.Search(len(ns.given), func(i int) bool { return ns.given[i] > q.After })
	for ; i < len(ns.given) && len(out) < limit; i++ {
		if subj := ns.given[i]; s.givenBelow(subj, q) {
			out = append(out, subj)
		}
	}
	return out
}

// StaleEvents returns, under one read lock, deep copies of the latest
// event of each (Purpose, Contact, Kind) of the subjects StaleSubjects(q)
// lists, Pending events left out (only q.Purpose's events when it is set),
// ordered by subject and then Seq, as consent.StaleEventer specifies. An empty
// q.Notice is an error wrapping consent.ErrInvalid; no candidate gives a
// nil slice.
func (s *Store) StaleEvents(ctx context.Context, q consent.StaleQuery) ([]consent.Event, error) {
	if err := checkCtx("stale_events", ctx); err != nil {
		return nil, err
	}
	if q.Notice == "" {
		return nil, fmt.Errorf("memconsent stale_events: notice: %w: empty", consent.ErrInvalid)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultStaleLimit
	}
	type group struct {
		contact consent.Contact
		kind    consent.Kind
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []consent.Event
	var seen []group // of one series: at most 8 channels × 7 kinds
	for _, subj := range s.staleCandidates(q, limit) {
		start := len(out)
		ps := s.purposes[subj]
		if q.Purpose != "" {
			ps = []gdpr.Purpose{q.Purpose}
		}
		for _, p := range ps {
			seen = seen[:0]
			es := s.series[key{subj, p}]
			for i := len(es) - 1; i >= 0; i-- {
				e := &es[i].ev
				g := group{e.Contact, e.Kind}
				if e.Kind == consent.Pending || slices.Contains(seen, g) {
					continue
				}
				seen = append(seen, g)
				out = append(out, clone(*e))
			}
		}
		slices.SortFunc(out[start:], func(a, b consent.Event) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return out, nil
}

// givenBelow reports whether subj has a Given event for q.Notice under a
// version below q.Version (for q.Purpose, if set).
func (s *Store) givenBelow(subj gdpr.SubjectID, q consent.StaleQuery) bool {
	match := func(p gdpr.Purpose) bool {
		for _, en := range s.series[key{subj, p}] {
			e := &en.ev
			if e.Kind == consent.Given && e.Notice.ID == q.Notice && e.Notice.Version < q.Version {
				return true
			}
		}
		return false
	}
	if q.Purpose != "" {
		return match(q.Purpose)
	}
	return slices.ContainsFunc(s.purposes[subj], match)
}

// noticeSet returns the set of notice id, creating it. The caller holds the
// write lock.
func (s *Store) noticeSet(id string) *noticeSet {
	ns := s.notices[id]
	if ns == nil {
		ns = new(noticeSet)
		s.notices[id] = ns
	}
	return ns
}

// latestMaterial is the highest Material version published at or before at;
// 0 for a nil set or none.
func (ns *noticeSet) latestMaterial(at time.Time) int {
	if ns == nil {
		return 0
	}
	for i := len(ns.versions) - 1; i >= 0; i-- {
		if n := &ns.versions[i]; n.Material && !n.Published.After(at) {
			return n.Version
		}
	}
	return 0
}

func (ns *noticeSet) addGiven(subj gdpr.SubjectID) {
	if n := len(ns.given); n == 0 || ns.given[n-1] < subj {
		ns.given = append(ns.given, subj)
		return
	}
	if i, found := slices.BinarySearch(ns.given, subj); !found {
		ns.given = slices.Insert(ns.given, i, subj)
	}
}

func (ns *noticeSet) removeGiven(subj gdpr.SubjectID) {
	if i, found := slices.BinarySearch(ns.given, subj); found {
		ns.given = slices.Delete(ns.given, i, i+1)
	}
}

// checkCtx returns an error wrapping consent.ErrInvalid for a nil ctx, and
// ctx.Err() otherwise: every method checks its context before it starts.
func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("memconsent %s: ctx: %w: nil context", op, consent.ErrInvalid)
	}
	return ctx.Err()
}

// show quotes a value only when it looks like a key (errs.Show), so an
// error never echoes a value that may be personal data.
func show(s string) string { return errs.Show(s) }

// cmpSeq orders an entry against a Seq, for a binary search of a series.
func cmpSeq(en entry, seq int64) int { return cmp.Compare(en.ev.Seq, seq) }

// norm is how the store keeps a time: to the microsecond, in UTC. The zero
// time stays zero.
func norm(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// clone deep-copies the reference fields of e; nil stays nil.
func clone(e consent.Event) consent.Event {
	if e.TokenHash != nil {
		e.TokenHash = bytes.Clone(e.TokenHash)
	}
	if e.Evidence.Attrs != nil {
		e.Evidence.Attrs = maps.Clone(e.Evidence.Attrs)
	}
	return e
}
