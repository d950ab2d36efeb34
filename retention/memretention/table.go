package memretention

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
)

// Table is an in-memory table of one data category's records and its
// retention.Deleter: the fake of a host's own table in tests of a
// Sweeper, as sqlretention.Deleter is the real one. It is also a
// retention.Noticer, a retention.FromDeclarer and a
// retention.StrategyDeclarer. It is safe for
// concurrent use.
type Table struct {
	mu         sync.Mutex
	from       retention.Start
	rows       map[string]Row
	strategies map[string]func(Row) Row
}

// Row is one record of a Table.
type Row struct {
	// Key identifies the row.
	Key string
	// Subject is whose data the row holds; empty once anonymised.
	Subject gdpr.SubjectID
	// Time is the instant the retention period counts from (the Table's
	// Start); zero never expires.
	Time time.Time
	// Fields are the row's other values.
	Fields map[string]any
}

var (
	_ retention.Deleter          = (*Table)(nil)
	_ retention.Noticer          = (*Table)(nil)
	_ retention.FromDeclarer     = (*Table)(nil)
	_ retention.StrategyDeclarer = (*Table)(nil)
)

// NewTable returns an empty Table whose rows' Time is the event from
// names.
func NewTable(from retention.Start) *Table {
	return &Table{from: from, rows: map[string]Row{}, strategies: map[string]func(Row) Row{}}
}

// Strategy adds the anonymisation strategy called name: fn returns the
// row anonymised. Expire calls it for a policy whose Strategy is name,
// then clears the row's Subject; an unknown strategy is an error.
func (t *Table) Strategy(name string, fn func(Row) Row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.strategies[name] = fn
}

// Strategies implements retention.StrategyDeclarer: the names given to
// Strategy, sorted.
func (t *Table) Strategies() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.strategies))
	for n := range t.strategies {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Put adds or replaces rows, by Key. Times are kept at microsecond
// precision, as the SQL stores keep them.
func (t *Table) Put(rows ...Row) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range rows {
		r.Time = r.Time.Truncate(time.Microsecond)
		r.Fields = cloneFields(r.Fields)
		t.rows[r.Key] = r
	}
}

// Get returns the row of that key, and whether there is one.
func (t *Table) Get(key string) (Row, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.rows[key]
	r.Fields = cloneFields(r.Fields)
	return r, ok
}

// Rows returns every row, in Key order.
func (t *Table) Rows() []Row {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Row, 0, len(t.rows))
	for _, r := range t.rows {
		r.Fields = cloneFields(r.Fields)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Row) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// Len returns the number of rows.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rows)
}

// CountsFrom implements retention.FromDeclarer.
func (t *Table) CountsFrom() retention.Start { return t.from }

// order is the Table's sweep order: by Time, then Key.
func order(a, b Row) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}

// Expire implements retention.Deleter over the rows with a Subject and a
// Time before b.Before, in (Time, Key) order after the cursor.
func (t *Table) Expire(ctx context.Context, b retention.Batch) (retention.Result, error) {
	if ctx == nil {
		return retention.Result{}, &retention.Error{Op: "memretention.Expire", Field: "ctx", Err: fmt.Errorf("%w: nil context", retention.ErrInvalid)}
	}
	if err := ctx.Err(); err != nil {
		return retention.Result{}, &retention.Error{Op: "memretention.Expire", Err: err}
	}
	if b.Limit < 1 {
		return retention.Result{}, &retention.Error{Op: "memretention.Expire", Field: "limit", Err: fmt.Errorf("%w: a limit is at least 1", retention.ErrInvalid)}
	}
	p := b.Policy
	if p.Action == "" {
		p.Action = retention.Delete
	}
	if p.From == "" {
		p.From = retention.FromCollection
	}
	b.Policy = p
	if !b.Policy.Action.Valid() {
		return retention.Result{}, &retention.Error{Op: "memretention.Expire", Field: "action", Err: fmt.Errorf("%w: unknown action", retention.ErrInvalid)}
	}
	if b.Policy.From != t.from {
		return retention.Result{}, &retention.Error{Op: "memretention.Expire", Field: "from", Err: fmt.Errorf("%w: the table's times count from another event", retention.ErrInvalid)}
	}
	after, hasCursor, err := parseCursor(b.Cursor)
	if err != nil {
		return retention.Result{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var fn func(Row) Row
	if b.Policy.Action == retention.Anonymise && !b.DryRun {
		var ok bool
		if fn, ok = t.strategies[b.Policy.Strategy]; !ok {
			return retention.Result{}, &retention.Error{Op: "memretention.Expire", Field: "strategy", Err: fmt.Errorf("%w: unknown strategy", retention.ErrInvalid)}
		}
	}
	var cand []Row
	for _, r := range t.rows {
		if r.Subject == "" || r.Time.IsZero() || !r.Time.Before(b.Before) {
			continue
		}
		if hasCursor && order(r, after) <= 0 {
			continue
		}
		cand = append(cand, r)
	}
	slices.SortFunc(cand, order)
	var res retention.Result
	if len(cand) <= b.Limit {
		res.Done = true
	} else {
		cand = cand[:b.Limit]
	}
	for _, r := range cand {
		if b.IsHeld(r.Subject) {
			res.Held++
			continue
		}
		res.Acted++
		switch {
		case b.DryRun || b.Policy.Action == retention.Review:
		case b.Policy.Action == retention.Anonymise:
			a := fn(Row{Key: r.Key, Subject: r.Subject, Time: r.Time, Fields: cloneFields(r.Fields)})
			a.Key, a.Subject, a.Time = r.Key, "", r.Time
			t.rows[r.Key] = a
		default:
			delete(t.rows, r.Key)
		}
	}
	if len(cand) > 0 {
		res.Cursor = formatCursor(cand[len(cand)-1])
	} else {
		res.Cursor = b.Cursor
	}
	return res, nil
}

// Expiring implements retention.Noticer.
func (t *Table) Expiring(ctx context.Context, q retention.ExpiringQuery) ([]retention.Expiring, error) {
	if ctx == nil {
		return nil, &retention.Error{Op: "memretention.Expiring", Field: "ctx", Err: fmt.Errorf("%w: nil context", retention.ErrInvalid)}
	}
	if err := ctx.Err(); err != nil {
		return nil, &retention.Error{Op: "memretention.Expiring", Err: err}
	}
	if q.Policy.From != t.from && (q.Policy.From != "" || t.from != retention.FromCollection) {
		return nil, &retention.Error{Op: "memretention.Expiring", Field: "from", Err: fmt.Errorf("%w: the table's times count from another event", retention.ErrInvalid)}
	}
	if q.Limit < 1 {
		return nil, &retention.Error{Op: "memretention.Expiring", Field: "limit", Err: fmt.Errorf("%w: a limit is at least 1", retention.ErrInvalid)}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	first := map[gdpr.SubjectID]time.Time{}
	for _, r := range t.rows {
		if r.Subject == "" || r.Subject <= q.After || r.Time.Before(q.From) || !r.Time.Before(q.Before) {
			continue
		}
		if f, ok := first[r.Subject]; !ok || r.Time.Before(f) {
			first[r.Subject] = r.Time
		}
	}
	out := make([]retention.Expiring, 0, len(first))
	for s, at := range first {
		out = append(out, retention.Expiring{Subject: s, Start: at})
	}
	slices.SortFunc(out, func(a, b retention.Expiring) int { return cmp.Compare(a.Subject, b.Subject) })
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// formatCursor encodes a row's place in the sweep order: its Time in
// Unix microseconds and its Key.
func formatCursor(r Row) string {
	return strconv.FormatInt(r.Time.UnixMicro(), 10) + "/" + r.Key
}

func parseCursor(c string) (Row, bool, error) {
	if c == "" {
		return Row{}, false, nil
	}
	us, key, ok := strings.Cut(c, "/")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil {
		return Row{}, false, &retention.Error{Op: "memretention.Expire", Field: "cursor", Err: fmt.Errorf("%w: malformed cursor", retention.ErrInvalid)}
	}
	return Row{Key: key, Time: time.UnixMicro(n)}, true, nil
}

func cloneFields(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
