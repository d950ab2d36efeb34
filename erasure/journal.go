package erasure

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
)

// FileJournal is a Journal in a local file of JSON lines, one entry per
// line, each appended and synced to disk before Append returns. Put it on
// storage that a restore of the main database does not roll back. One
// process at a time may open a file (it keeps an index in memory): on
// Unix systems OpenFileJournal takes an exclusive lock on it (flock), and
// a second opener gets an error wrapping ErrConflict; elsewhere that is
// the host's to ensure. The methods are safe for concurrent use within
// the process. For many instances, use a journal in a database
// (sqlerasure.Journal).
type FileJournal struct {
	mu    sync.Mutex
	f     *os.File
	byID  map[string]bool
	byRef map[string][]JournalEntry
}

var _ Journal = (*FileJournal)(nil)

// maxJournalLine bounds a line of a journal file.
const maxJournalLine = 64 << 10

// OpenFileJournal opens the journal file at path, creating it (mode 0600)
// if it does not exist, and reads its entries. A last line cut short by a
// crash during an append is dropped (its erasure had not completed: the
// request is still open and appends it again). Any other malformed line
// is an error wrapping ErrInvalid, naming the line number only.
func OpenFileJournal(path string) (*FileJournal, error) {
	const op = "open_file_journal"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, wrap(op, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, wrap(op, because(ErrConflict, "the journal file is open in another process", err))
	}
	j := &FileJournal{f: f, byID: map[string]bool{}, byRef: map[string][]JournalEntry{}}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Close()
		return nil, wrap(op, err)
	}
	good := 0
	for n := 1; len(data[good:]) > 0; n++ {
		rest := data[good:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break // a torn last line
		}
		e, err := DecodeJournalLine(rest[:i])
		if err != nil {
			f.Close()
			return nil, wrap(op, fmt.Errorf("line %d: %w", n, err))
		}
		j.add(e)
		good += i + 1
	}
	if good < len(data) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, wrap(op, err)
		}
	}
	return j, nil
}

// DecodeJournalLine decodes one line of a journal file (without its
// newline): a JSON object with exactly the fields of JournalEntry, a
// request ID, a 64-digit hex reference, a time and at least one target.
// Anything else is an error wrapping ErrInvalid.
func DecodeJournalLine(line []byte) (JournalEntry, error) {
	bad := because(ErrInvalid, "malformed journal entry", nil)
	if len(line) > maxJournalLine {
		return JournalEntry{}, bad
	}
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	var e JournalEntry
	if err := d.Decode(&e); err != nil {
		return JournalEntry{}, bad
	}
	if d.More() {
		return JournalEntry{}, bad
	}
	if _, err := d.Token(); err == nil {
		return JournalEntry{}, bad
	}
	if !validJournalEntry(e) {
		return JournalEntry{}, bad
	}
	e.Completed = e.Completed.UTC()
	return e, nil
}

func validJournalEntry(e JournalEntry) bool {
	if e.RequestID == "" || len(e.RequestID) > 64 || !isHex64(e.SubjectRef) || e.Completed.IsZero() || len(e.Targets) == 0 {
		return false
	}
	for _, t := range e.Targets {
		if !isKey(t, 64) {
			return false
		}
	}
	return isKey(e.RequestID, 64)
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (j *FileJournal) add(e JournalEntry) {
	if j.byID[e.RequestID] {
		return
	}
	j.byID[e.RequestID] = true
	j.byRef[e.SubjectRef] = append(j.byRef[e.SubjectRef], e)
}

// Append writes e as a line and syncs the file. An entry whose RequestID
// is in the journal already changes nothing.
func (j *FileJournal) Append(ctx context.Context, e JournalEntry) error {
	const op = "journal_append"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	e.Completed = e.Completed.UTC().Truncate(time.Microsecond)
	e.Targets = slices.Clone(e.Targets)
	if !validJournalEntry(e) {
		return wrap(op, invalidf("entry", "malformed journal entry"))
	}
	b, err := json.Marshal(e)
	if err != nil {
		return wrap(op, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return wrap(op, os.ErrClosed)
	}
	if j.byID[e.RequestID] {
		return nil
	}
	w := bufio.NewWriter(j.f)
	w.Write(b)
	w.WriteByte('\n')
	if err := w.Flush(); err != nil {
		return wrap(op, err)
	}
	if err := j.f.Sync(); err != nil {
		return wrap(op, err)
	}
	j.add(e)
	return nil
}

// Match returns the entries of the given references.
func (j *FileJournal) Match(ctx context.Context, refs []string) ([]JournalEntry, error) {
	if err := checkCtx("journal_match", ctx); err != nil {
		return nil, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []JournalEntry
	seen := map[string]bool{}
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		for _, e := range j.byRef[ref] {
			e.Targets = slices.Clone(e.Targets)
			out = append(out, e)
		}
	}
	sortEntries(out)
	return out, nil
}

func sortEntries(es []JournalEntry) {
	sort.Slice(es, func(a, b int) bool {
		if !es[a].Completed.Equal(es[b].Completed) {
			return es[a].Completed.Before(es[b].Completed)
		}
		return es[a].RequestID < es[b].RequestID
	})
}

// Close closes the file.
func (j *FileJournal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}

// ReplayReport says what Replay did.
type ReplayReport struct {
	// Checked counts the distinct subject IDs given.
	Checked int
	// Matched counts those the journal names: subjects erased before.
	Matched int
	// Requests are the IDs of the erasure requests Replay ran, one per
	// matched subject, with their states as Replay left them.
	Requests []ReplayedRequest
}

// ReplayedRequest is one erasure Replay ran.
type ReplayedRequest struct {
	ID    string
	State State
	// Of is the ID of the latest journalled erasure of the subject.
	Of string
}

// Replay erases again, after a backup restore, the subjects erased since
// the backup was taken. Give it the subject IDs found in the restored data
// (every account ID, every subject of the consent ledger): Replay matches
// them against the Journal and, for each subject it names, submits an
// erasure request (channel "replay", verified: the identity was confirmed
// the first time, with the ID of the journalled request in the "replay_of"
// param) and processes it at once. A request that waits (the key caches'
// latency) is finished by the workers, or by Process. Subjects not in the
// journal are untouched. Without a Journal the error wraps ErrInvalid.
//
// It stops at the first error, with the report so far: run it again, it
// is idempotent (a subject erased again has an open or closed request, and
// erasing twice is harmless).
func (e *Engine) Replay(ctx context.Context, subjects []gdpr.SubjectID) (ReplayReport, error) {
	return e.replay(ctx, "replay", subjects, true)
}

// ReplaySubmit is Replay without the processing: it matches subjects
// against the Journal and submits, verified, an erasure request for each
// subject it names, and leaves them to the workers of the application
// that holds the targets. It is for a process that holds none, such as
// an operator's command line (whose Engine's targets are never run). The
// requests' states in the report are verified (or open or closed, for a
// subject with a request already).
func (e *Engine) ReplaySubmit(ctx context.Context, subjects []gdpr.SubjectID) (ReplayReport, error) {
	return e.replay(ctx, "replay_submit", subjects, false)
}

func (e *Engine) replay(ctx context.Context, op string, subjects []gdpr.SubjectID, process bool) (ReplayReport, error) {
	if err := checkCtx(op, ctx); err != nil {
		return ReplayReport{}, err
	}
	if e.journal == nil {
		return ReplayReport{}, wrap(op, invalidf("WithJournal", "the Engine has no Journal"))
	}
	var rep ReplayReport
	refs := make(map[string]gdpr.SubjectID, len(subjects))
	list := make([]string, 0, len(subjects))
	for _, s := range subjects {
		if err := s.Validate(); err != nil {
			return rep, wrap(op, invalid("subjects", err))
		}
		ref := e.SubjectRef(s)
		if _, dup := refs[ref]; !dup {
			refs[ref] = s
			list = append(list, ref)
		}
	}
	rep.Checked = len(list)
	latest := map[string]string{}
	for start := 0; start < len(list); start += 500 {
		es, err := e.journal.Match(ctx, list[start:min(start+500, len(list))])
		if err != nil {
			return rep, wrap(op, err)
		}
		for _, en := range es {
			latest[en.SubjectRef] = en.RequestID
		}
	}
	for _, ref := range list {
		of, ok := latest[ref]
		if !ok {
			continue
		}
		rep.Matched++
		r, _, err := e.submit(gdpr.WithActor(ctx, actor(ctx, engineActor)), Submission{Kind: gdpr.KindErasure, Subject: refs[ref],
			Channel: "replay", Params: map[string]string{"replay_of": of}}, true)
		if err != nil {
			return rep, wrap(op, err)
		}
		if process && r.State.Open() {
			done, err := e.Process(ctx, r.ID)
			switch {
			case err == nil:
				r = done
			case !errors.Is(err, ErrLeased):
				return rep, wrap(op, err)
			}
		}
		rep.Requests = append(rep.Requests, ReplayedRequest{ID: r.ID, State: r.State, Of: of})
	}
	return rep, nil
}
