package sqlretention

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TimeUnit says how a Table's Time column holds its instants.
type TimeUnit uint8

// The encodings of a Table's Time column.
const (
	// NativeTime is a timestamp column of the database, written through
	// the driver from a time.Time: TIMESTAMPTZ or TIMESTAMP on
	// PostgreSQL, DATETIME(6), DATETIME or TIMESTAMP on MySQL/MariaDB,
	// and on SQLite the text modernc.org/sqlite writes for a time.Time
	// (a column declared DATETIME or TIMESTAMP, or TEXT). Columns
	// without a time zone (PostgreSQL's TIMESTAMP, MySQL's DATETIME,
	// SQLite's text) must hold UTC: the Deleter binds its instants in
	// UTC. On MySQL/MariaDB keep the driver's loc at UTC (its default),
	// and for a TIMESTAMP column the session's time_zone at '+00:00'
	// too. On SQLite write the times in UTC (t.UTC()), through
	// modernc.org/sqlite with the same _time_format as the Deleter's
	// *sql.DB, since the database compares the text; with
	// _time_integer_format use the integer unit instead.
	NativeTime TimeUnit = iota
	// UnixSeconds is an integer column of seconds since the Unix epoch.
	UnixSeconds
	// UnixMillis is an integer column of milliseconds since the Unix
	// epoch.
	UnixMillis
	// UnixMicros is an integer column of microseconds since the Unix
	// epoch.
	UnixMicros
)

// String returns "native", "unix_seconds", "unix_millis" or
// "unix_micros".
func (u TimeUnit) String() string {
	switch u {
	case NativeTime:
		return "native"
	case UnixSeconds:
		return "unix_seconds"
	case UnixMillis:
		return "unix_millis"
	case UnixMicros:
		return "unix_micros"
	}
	return "TimeUnit(" + strconv.Itoa(int(u)) + ")"
}

// Table describes a host's table for a Deleter: where its rows' subjects
// and start times are, and how its rows are anonymised. Every name must
// pass ^[a-z_][a-z0-9_]{0,62}$; the Deleter quotes them.
type Table struct {
	// Name is the table's name.
	Name string
	// Key is its primary key: one column, unique and not NULL; it may
	// be the Subject column (an accounts table keyed by the subject's
	// ID) when the table has no Strategies, since anonymising sets the
	// Subject NULL. Its
	// values must be integers, text or bytes, of at most 512 bytes. A
	// batch's cursor holds the last key it examined, in the sweep's
	// checkpoint until the target is done (a Done batch leaves no
	// cursor): a key that is personal data (an e-mail address) stays
	// there that long; prefer a surrogate key.
	Key string
	// Subject is the column of the row's subject ID. A row whose
	// Subject is NULL is no subject's and never swept (an anonymised
	// row is one). Anonymising a row sets it NULL: for Anonymise the
	// column must be nullable (NewDeleter cannot check it; the batch
	// fails if it is not). The database compares it with a batch's held
	// subjects, by the column's type and collation, as the host's own
	// queries do: under a case-insensitive collation "Alice" is held by
	// a hold on "alice", and a uuid column matches a held ID in either
	// case.
	Subject string
	// Time is the column of the instant the retention period counts
	// from, encoded as TimeUnit says. A row whose Time is NULL never
	// expires.
	Time string
	// TimeUnit is Time's encoding; default NativeTime.
	TimeUnit TimeUnit
	// From is the event Time holds the instant of: the Deleter's
	// CountsFrom, which the Sweeper checks against the policy of the
	// target's category. Default retention.FromCollection.
	From retention.Start
	// BlindIndexes are columns holding blind indexes of the row's
	// personal data (crypto.BlindIndex): anonymising a row sets them
	// NULL. They must be nullable.
	BlindIndexes []string
	// Strategies are the anonymisation strategies the Deleter knows, by
	// name (retention.Policy.Strategy): for each, the masks of the
	// columns it changes, each column once. Anonymising a row applies
	// the masks and also sets Subject and BlindIndexes NULL; an empty
	// strategy does only that. Key, Subject, Time and the
	// BlindIndexes take no mask.
	Strategies map[string][]Mask
}

// MaxLimit is the most rows one Expire examines: a Batch asking for more
// is served MaxLimit at a time.
const MaxLimit = 10000

// MaxKeyLen is the longest primary key value a Deleter's cursor holds,
// in bytes; a batch that reaches a longer one fails.
const MaxKeyLen = 512

// inChunk is the most keys in one statement's IN list; lists are padded
// to a power of two (the last key repeated) so that few statement shapes
// exist.
const inChunk = 1024

// Deleter is the retention.Deleter of a host's SQL table: it deletes or
// anonymises the rows whose start time is before the batch's cut-off,
// in batches walked in (Time, Key) order. It is also a
// retention.Noticer and a retention.FromDeclarer. It is safe for
// concurrent use.
type Deleter struct {
	db   *sql.DB
	d    dialect.Dialect
	st   *sqlstmt.Cache
	name string
	unit TimeUnit
	from retention.Start
	q    deleterQueries
	// strategies by name.
	strategies map[string]*strategy
	// inQueries caches the statements with an IN list, by inQueryKey.
	inQueries sync.Map
}

var (
	_ retention.Deleter      = (*Deleter)(nil)
	_ retention.Noticer      = (*Deleter)(nil)
	_ retention.FromDeclarer = (*Deleter)(nil)
)

type deleterQueries struct {
	// tbl, key, subj, tm are the quoted names.
	tbl, key, subj, tm string
	// first and next select a batch's candidates, the first batch's and
	// one after a cursor, when no subject is held (selectQuery).
	first, next string
	// expiring and expiringAfter are Expiring's pages.
	expiring, expiringAfter string
}

// strategy is a Table strategy, compiled.
type strategy struct {
	// set is the SET list of the database-side masks, Subject and the
	// blind indexes; setArgs are its parameters (Fixed's values).
	set     string
	setArgs []any
	// goMasks are the masks done in Go; rowSet is the SET list of a row
	// update that applies them (their columns first, then set).
	goMasks []Mask
	rowSet  string
	// domains are the goMasks' pseudonym domains, "<table>.<column>".
	domains []string
}

// NewDeleter returns the Deleter of table t in db, a database of dialect
// d. It does not touch the database. The table needs an index on (Time,
// Key), which the host creates:
//
//	CREATE INDEX t_time_key ON t (time, key)
//
// (see the package documentation for the partial index anonymising
// tables want). It is an error wrapping retention.ErrInvalid when db is
// nil, d is not a dialect, a name of t is not a valid identifier, a
// column is named twice among Key, Subject, Time and BlindIndexes (but
// Key may be Subject in a table with no Strategies), a
// TimeUnit or From is unknown, a strategy's name is not a key (non-empty,
// at most 255 bytes, no control characters), or a mask is invalid,
// names a column twice in its strategy, or masks Key, Subject, Time or a
// blind index.
func NewDeleter(db *sql.DB, d sqldialect.Dialect, t Table) (*Deleter, error) {
	const op = "NewDeleter"
	if db == nil {
		return nil, fieldErr(op, "db", "nil *sql.DB")
	}
	sd := dialect.Of(d)
	if !sd.Valid() {
		return nil, fieldErr(op, "dialect", "not one of sqldialect.Postgres, MySQL, SQLite")
	}
	for _, c := range []struct{ field, name string }{
		{"table.name", t.Name}, {"table.key", t.Key}, {"table.subject", t.Subject}, {"table.time", t.Time},
	} {
		if dialect.ValidIdent(c.name) != nil {
			return nil, fieldErr(op, c.field, "not an identifier matching ^[a-z_][a-z0-9_]{0,62}$")
		}
	}
	if t.TimeUnit > UnixMicros {
		return nil, fieldErr(op, "table.time_unit", "unknown time unit")
	}
	from := t.From
	if from == "" {
		from = retention.FromCollection
	}
	if !from.Valid() {
		return nil, fieldErr(op, "table.from", "unknown start")
	}
	reserved := []string{t.Key, t.Subject, t.Time}
	switch {
	case t.Key == t.Time || t.Subject == t.Time:
		return nil, fieldErr(op, "table", "the time column cannot be the key or the subject column")
	case t.Key == t.Subject && len(t.Strategies) > 0:
		return nil, fieldErr(op, "table", "a table keyed by its subject cannot be anonymised: that sets the subject NULL")
	}
	for i, c := range t.BlindIndexes {
		field := "table.blind_indexes[" + strconv.Itoa(i) + "]"
		if dialect.ValidIdent(c) != nil {
			return nil, fieldErr(op, field, "not an identifier matching ^[a-z_][a-z0-9_]{0,62}$")
		}
		if slices.Contains(reserved, c) {
			return nil, fieldErr(op, field, "a blind index cannot be the key, subject or time column, or be named twice")
		}
		reserved = append(reserved, c)
	}

	del := &Deleter{
		db:         db,
		d:          sd,
		st:         sqlstmt.New(db, sd != dialect.Postgres),
		name:       t.Name,
		unit:       t.TimeUnit,
		from:       from,
		strategies: make(map[string]*strategy, len(t.Strategies)),
	}
	q := &del.q
	q.tbl, q.key, q.subj, q.tm = sd.Quote(t.Name), sd.Quote(t.Key), sd.Quote(t.Subject), sd.Quote(t.Time)
	q.first, q.next = del.selectQuery(false, 0), del.selectQuery(true, 0)
	exp := "SELECT " + q.subj + ", MIN(" + q.tm + ") FROM " + q.tbl + " WHERE " + q.subj + " IS NOT NULL AND " +
		q.tm + " >= ? AND " + q.tm + " < ?"
	group := " GROUP BY " + q.subj + " ORDER BY " + q.subj + " LIMIT ?"
	q.expiring = sd.Rebind(exp + group)
	q.expiringAfter = sd.Rebind(exp + " AND " + q.subj + " > ?" + group)

	names := make([]string, 0, len(t.Strategies))
	for name := range t.Strategies {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		field := "table.strategies[" + errs.Show(name) + "]"
		if !validStrategyName(name) {
			return nil, fieldErr(op, "table.strategies", "a strategy's name is a key of at most 255 bytes with no control characters")
		}
		s, err := compileStrategy(sd, t, t.Strategies[name], reserved)
		if err != "" {
			return nil, fieldErr(op, field, err)
		}
		del.strategies[name] = s
	}
	return del, nil
}

func validStrategyName(s string) bool {
	if s == "" || len(s) > retention.MaxKeyLen || strings.TrimSpace(s) != s || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

func compileStrategy(d dialect.Dialect, t Table, masks []Mask, reserved []string) (*strategy, string) {
	s := &strategy{}
	var set, goSet []string
	seen := map[string]bool{}
	for i, m := range masks {
		at := "mask " + strconv.Itoa(i) + ": "
		if dialect.ValidIdent(m.col) != nil {
			return nil, at + "the column is not an identifier matching ^[a-z_][a-z0-9_]{0,62}$"
		}
		if slices.Contains(reserved, m.col) {
			return nil, at + "the key, subject, time and blind-index columns take no mask"
		}
		if seen[m.col] {
			return nil, at + "a column masked twice"
		}
		seen[m.col] = true
		if msg := validMask(m); msg != "" {
			return nil, at + msg
		}
		c := d.Quote(m.col)
		switch m.kind {
		case maskNull:
			set = append(set, c+" = NULL")
		case maskFixed:
			if m.value == nil {
				set = append(set, c+" = NULL")
			} else {
				set = append(set, c+" = ?")
				s.setArgs = append(s.setArgs, m.value)
			}
		case maskTruncate:
			n := strconv.Itoa(m.n)
			switch d {
			case dialect.Postgres:
				set = append(set, c+" = SUBSTRING("+c+" FROM 1 FOR "+n+")")
			case dialect.MySQL:
				set = append(set, c+" = LEFT("+c+", "+n+")")
			default:
				set = append(set, c+" = SUBSTR("+c+", 1, "+n+")")
			}
		case maskPseudonym, maskFunc:
			s.goMasks = append(s.goMasks, m)
			s.domains = append(s.domains, t.Name+"."+m.col)
			goSet = append(goSet, c+" = ?")
		}
	}
	set = append(set, d.Quote(t.Subject)+" = NULL")
	for _, b := range t.BlindIndexes {
		set = append(set, d.Quote(b)+" = NULL")
	}
	s.set = strings.Join(set, ", ")
	s.rowSet = strings.Join(append(goSet, set...), ", ")
	return s, ""
}

// Strategies returns the names of the anonymisation strategies the
// Deleter knows (Table.Strategies), sorted, so that a Sweeper can refuse
// a policy whose Strategy the Deleter lacks when it is made rather than
// at the first sweep.
func (d *Deleter) Strategies() []string {
	names := make([]string, 0, len(d.strategies))
	for name := range d.strategies {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// CountsFrom returns the event the Time column holds the instant of
// (Table.From), for the Sweeper's check (retention.FromDeclarer).
func (d *Deleter) CountsFrom() retention.Start { return d.from }

// Close releases the Deleter's prepared statements; the *sql.DB stays
// the caller's. A Deleter may be used after Close: it prepares its
// statements again. Call it when no call is in flight.
func (d *Deleter) Close() error { return d.st.Close() }

// Expire runs one batch (retention.Deleter). It selects, on the index
// (Time, Key), at most b.Limit rows (MaxLimit at most) whose Subject is
// not NULL and whose Time is before b.Before, after the cursor, in
// (Time, Key) order, each with whether the database finds its subject
// among b.Held (IN, or = ANY on PostgreSQL, with the column's own
// comparison); it counts the held rows and leaves them alone, and
// deletes the others, or anonymises them by the strategy
// b.Policy.Strategy names, as b.Policy.Action says; a dry run and the
// Review action only count them. The batch is Done when the SELECT
// found fewer rows than the limit; a Done batch returns no cursor.
//
// The DELETE or UPDATE that follows names the rows by their keys (DELETE
// ... WHERE key IN (...)) on MySQL/MariaDB and SQLite; on PostgreSQL it
// is bounded by the range of (Time, Key) the SELECT read, which finds
// the rows on the index pages just read instead of in the primary key
// (a third faster on rows spread through the table); Go-side masks list
// the keys there too. Either way it checks again that the row is still
// expired, still a subject's and not a held subject's, so a row whose
// Time moved forward, or whose subject was cleared or became a held
// one, since the SELECT stays; Result.Acted counts the rows the
// statement changed.
//
// A batch changes all its rows or none: a Delete, and an anonymisation
// whose masks the database does, is one statement (one transaction
// when the batch lists more than 1024 keys); an anonymisation with
// Go-side masks (Pseudonym, Func) reads the rows FOR UPDATE (on SQLite,
// in the write transaction) and updates them one by one in one
// transaction, rolled back on any error. Deadlocks and serialization
// failures are retried (a few times).
//
// The cursor holds the last row's Time and Key, in an encoding of the
// Deleter's own (base64url, at most retention.MaxCursorLen bytes), never
// the subject. A malformed cursor is an error wrapping
// retention.ErrInvalid, and so is one whose time is not before b.Before
// (no batch of that cut-off wrote it), a Limit below 1, a Before after
// the year 9999, more than MaxHeld held subjects on MySQL/MariaDB or
// SQLite, an unknown Action, a b.Policy.From that is not the Deleter's
// CountsFrom (an empty one is retention.FromCollection), and a Strategy
// the Deleter does not know. A Before not after 00:00 UTC on 1 January
// of the year 1 (the zero time.Time, or the cut-off of a period of
// thousands of years) finds nothing: the batch is Done without a query.
// Every error is a *retention.Error and holds no value of the table:
// database errors keep their code only, a driver's error without a code
// (pgx quotes a value it cannot encode) is withheld, and a Func's error
// is wrapped without its text; errors.Is and errors.As still find them.
func (d *Deleter) Expire(ctx context.Context, b retention.Batch) (retention.Result, error) {
	const op = "Expire"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Result{}, err
	}
	action, strat, err := d.checkBatch(op, b)
	if err != nil {
		return retention.Result{}, err
	}
	var cur *cursor
	if b.Cursor != "" {
		c, err := decodeCursor(b.Cursor)
		if err != nil || (d.unit != NativeTime && c.tag != 'i') {
			return retention.Result{}, fieldErr(op, "cursor", "malformed cursor")
		}
		cur = &c
	}
	if noneBefore(b.Before) {
		return retention.Result{Done: true}, nil
	}
	if cur != nil && !d.cursorBefore(*cur, b.Before) {
		return retention.Result{}, fieldErr(op, "cursor", "the cursor is not before the cut-off: no batch of this cut-off wrote it")
	}
	hl, ok := d.heldList(b.Held)
	if !ok {
		return retention.Result{}, fieldErr(op, "held", "more than MaxHeld subjects held in one batch (hold the category)")
	}
	limit := min(b.Limit, MaxLimit)
	cut := d.timeArg(b.Before)

	rows, err := d.candidates(ctx, cut, cur, limit, hl)
	if err != nil {
		return retention.Result{}, d.fail(op, err)
	}
	// Done leaves no cursor behind: it may hold a key, which the
	// checkpoint of a finished sweep need not keep.
	res := retention.Result{Done: len(rows) < limit}
	if len(rows) > 0 && !res.Done {
		last := rows[len(rows)-1]
		if res.Cursor, err = encodeCursor(last.time, last.key); err != nil {
			return retention.Result{}, &retention.Error{Op: "sqlretention." + op, Err: err}
		}
	}
	keys := make([]any, 0, len(rows))
	for _, r := range rows {
		if r.held {
			res.Held++
			continue
		}
		keys = append(keys, r.key)
	}
	if b.DryRun || action == retention.Review {
		res.Acted = int64(len(keys))
		return res, nil
	}
	if len(keys) == 0 {
		return res, nil
	}
	var n int64
	switch {
	case d.d == dialect.Postgres && (action == retention.Delete || len(strat.goMasks) == 0):
		n, err = d.rangeWrite(ctx, strat, cut, cur, rows[len(rows)-1], hl)
	case action == retention.Delete:
		n, err = d.delete(ctx, keys, cut, hl)
	default:
		n, err = d.anonymise(ctx, strat, keys, cut, hl)
	}
	if err != nil {
		return retention.Result{}, d.fail(op, err)
	}
	res.Acted = n
	return res, nil
}

func (d *Deleter) checkBatch(op string, b retention.Batch) (retention.Action, *strategy, error) {
	if b.Limit < 1 {
		return "", nil, fieldErr(op, "limit", "a batch's limit must be at least 1")
	}
	if !noneBefore(b.Before) && !inYears(b.Before) {
		return "", nil, fieldErr(op, "before", "a batch's cut-off must be before the year 10000")
	}
	if err := d.checkFrom(op, b.Policy); err != nil {
		return "", nil, err
	}
	action := b.Policy.Action
	if action == "" {
		action = retention.Delete
	}
	if !action.Valid() {
		return "", nil, fieldErr(op, "policy.action", "unknown action")
	}
	var strat *strategy
	if action == retention.Anonymise {
		strat = d.strategies[b.Policy.Strategy]
		if strat == nil {
			return "", nil, fieldErr(op, "policy.strategy", "the Deleter has no strategy of that name")
		}
	}
	return action, strat, nil
}

func (d *Deleter) checkFrom(op string, p retention.Policy) error {
	from := p.From
	if from == "" {
		from = retention.FromCollection
	}
	if from != d.from {
		return fieldErr(op, "policy.from", "the policy counts from another event than the table's time column holds")
	}
	return nil
}

// inYears reports whether t is in the years 1 to 9999, which every
// database holds.
func inYears(t time.Time) bool { y := t.Year(); return y >= 1 && y <= 9999 }

// noneBefore reports whether t is a cut-off nothing can be before: 00:00
// UTC of 1 January of the year 1 (the zero time.Time) or earlier, which
// a period of thousands of years gives; the databases' times do not go
// back that far, or not on all three.
func noneBefore(t time.Time) bool { return !t.After(time.Time{}) }

// row is a candidate of a batch.
type row struct {
	key     any
	subject string
	time    any
	// held reports that the database found the subject held.
	held bool
}

// selectQuery returns a batch's SELECT, from the start or after a
// cursor, with held the shape of its held list (heldList.n): the rows'
// key, subject, time and whether the database finds the subject among
// the held ones.
//
// The keyset condition (tm, key) > (?, ?) is written as each database
// reads it as a range of the index (checked with EXPLAIN): PostgreSQL
// and SQLite take the row comparison as an index bound on both columns
// (PostgreSQL turned the expanded OR below into two bitmap scans and a
// sort of every row left when it expected few); MySQL/MariaDB bound the
// index by the row comparison's first column only, so there it is
// expanded, with tm >= ? bounding the scan and the OR leaving out the
// rows of that instant up to the cursor's key.
func (d *Deleter) selectQuery(after bool, held int) string {
	k := inQueryKey{kind: 'S', h: held, after: after}
	if q, ok := d.inQueries.Load(k); ok {
		return q.(string)
	}
	tm, key := d.q.tm, d.q.key
	flag := "0"
	if held > 0 {
		flag = "CASE WHEN " + d.heldIn(held) + " THEN 1 ELSE 0 END"
	}
	q := "SELECT " + key + ", " + d.q.subj + ", " + tm + ", " + flag + " FROM " + d.q.tbl +
		" WHERE " + d.q.subj + " IS NOT NULL AND " + tm + " < ?"
	switch {
	case !after:
	case d.d == dialect.MySQL:
		q += " AND " + tm + " >= ? AND (" + tm + " > ? OR (" + tm + " = ? AND " + key + " > ?))"
	default:
		q += " AND (" + tm + ", " + key + ") > (?, ?)"
	}
	q = d.d.Rebind(q + " ORDER BY " + tm + ", " + key + " LIMIT ?")
	d.inQueries.Store(k, q)
	return q
}

// MaxHeld is the most held subjects a batch on MySQL/MariaDB or SQLite
// takes: they are bound one by one, in an IN list. A batch with more is
// an error wrapping retention.ErrInvalid (hold the category instead).
// PostgreSQL takes them as one array, any number.
const MaxHeld = 16384

// heldList is a batch's held subjects as its statements bind them: n is
// the shape, 0 for none, 1 for PostgreSQL's array, else the length of
// the IN list, padded to a power of two (the last subject repeated).
type heldList struct {
	n    int
	args []any
}

func (d *Deleter) heldList(held []gdpr.SubjectID) (heldList, bool) {
	switch {
	case len(held) == 0:
		return heldList{}, true
	case d.d == dialect.Postgres:
		hs := make([]string, len(held))
		for i, h := range held {
			hs[i] = string(h)
		}
		return heldList{n: 1, args: []any{hs}}, true
	case len(held) > MaxHeld:
		return heldList{}, false
	}
	n := padded(len(held))
	args := make([]any, n)
	for i := range args {
		args[i] = string(held[min(i, len(held)-1)])
	}
	return heldList{n: n, args: args}, true
}

// heldIn is the SQL of "the subject is held", for a held list of shape
// n > 0. The database compares, with the column's own type and
// collation, as the host's queries do: under a case-insensitive
// collation, CHAR padding or a uuid column, a subject the database
// finds equal to a held one is held.
func (d *Deleter) heldIn(n int) string {
	if d.d == dialect.Postgres {
		return d.q.subj + " = ANY(?)"
	}
	return d.q.subj + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// notHeld is " AND NOT <heldIn>", or "" for no held list.
func (d *Deleter) notHeld(n int) string {
	if n == 0 {
		return ""
	}
	return " AND NOT (" + d.heldIn(n) + ")"
}

// candidates runs a batch's SELECT.
func (d *Deleter) candidates(ctx context.Context, cut any, cur *cursor, limit int, hl heldList) ([]row, error) {
	args := append(slices.Clone(hl.args), cut)
	if cur != nil {
		t, k := d.bindCursor(*cur)
		if d.d == dialect.MySQL {
			args = append(args, t, t, t, k)
		} else {
			args = append(args, t, k)
		}
	}
	args = append(args, limit)
	rs, err := d.st.Query(ctx, d.selectQuery(cur != nil, hl.n), args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]row, 0, limit)
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.key, &r.subject, &r.time, &r.held); err != nil {
			return nil, err
		}
		r.key = d.normKey(r.key)
		if b, ok := r.time.([]byte); ok {
			r.time = string(b)
		}
		if s, ok := r.time.(string); ok && d.unit != NativeTime {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, errTimeColumn
			}
			r.time = n
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// normKey gives a key value as it is bound back: on MySQL/MariaDB,
// which reads text as bytes, as a string (when it is valid UTF-8
// without NUL: not a BINARY key's bytes), so that it compares under the
// column's collation (and its index) rather than as binary.
func (d *Deleter) normKey(k any) any {
	if b, ok := k.([]byte); ok {
		if d.d == dialect.MySQL && utf8.Valid(b) && !slices.Contains(b, 0) {
			return string(b)
		}
		return slices.Clone(b)
	}
	return k
}

// timeArg is t as the Time column compares it: a time.Time in UTC, or
// the smallest integer of the unit not before t, so that "time < arg"
// and "time >= arg" hold exactly for the instants before t and from t.
func (d *Deleter) timeArg(t time.Time) any {
	s, ns := t.Unix(), int64(t.Nanosecond())
	ceil := func(per int64) int64 {
		q := ns / per
		if ns%per != 0 {
			q++
		}
		return q
	}
	switch d.unit {
	case UnixSeconds:
		return s + ceil(1e9)
	case UnixMillis:
		return s*1e3 + ceil(1e6)
	case UnixMicros:
		return s*1e6 + ceil(1e3)
	}
	return t.UTC()
}

func (d *Deleter) bindCursor(c cursor) (t, k any) {
	switch c.tag {
	case 't':
		t = time.Unix(c.sec, c.nsec).UTC()
	case 'i':
		t = c.sec
	default:
		t = c.text
	}
	return t, c.key
}

// chunks splits keys into IN lists of at most inChunk, each padded to a
// power of two.
func chunks(keys []any) [][]any {
	var out [][]any
	for len(keys) > 0 {
		n := min(len(keys), inChunk)
		c := keys[:n:n]
		keys = keys[n:]
		if size := padded(n); size > n {
			c = slices.Grow(slices.Clone(c), size-n)
			for len(c) < size {
				c = append(c, c[n-1])
			}
		}
		out = append(out, c)
	}
	return out
}

// padded returns the power of two at or above n.
func padded(n int) int {
	p := 1
	for p < n {
		p <<= 1
	}
	return p
}

type inQueryKey struct {
	// kind is 'd' delete, 'u' update, 'r' read for Go-side masks, 'w'
	// a row's update, 'D' and 'U' a range's delete and update.
	kind byte
	s    *strategy
	// n is the length of the IN list of keys, h the shape of the held
	// list (heldList.n).
	n, h int
	// after tells a range after a cursor from the first.
	after bool
}

// rangeQuery returns the PostgreSQL statement that deletes (s nil) or
// anonymises by s the rows of a batch's range of (Time, Key), after a
// cursor or from the start, leaving out the held subjects (bound as one
// array) when held.
func (d *Deleter) rangeQuery(s *strategy, after, held bool) string {
	kind := byte('D')
	if s != nil {
		kind = 'U'
	}
	h := 0
	if held {
		h = 1
	}
	k := inQueryKey{kind: kind, s: s, h: h, after: after}
	if q, ok := d.inQueries.Load(k); ok {
		return q.(string)
	}
	tm, key := d.q.tm, d.q.key
	where := d.q.subj + " IS NOT NULL AND " + tm + " < ? AND (" + tm + ", " + key + ") <= (?, ?)"
	if after {
		where += " AND (" + tm + ", " + key + ") > (?, ?)"
	}
	where += d.notHeld(h)
	var q string
	if s == nil {
		q = "DELETE FROM " + d.q.tbl + " WHERE " + where
	} else {
		q = "UPDATE " + d.q.tbl + " SET " + s.set + " WHERE " + where
	}
	q = d.d.Rebind(q)
	d.inQueries.Store(k, q)
	return q
}

// rangeWrite deletes (s nil) or anonymises by s, in one statement, the
// rows of a batch's range on PostgreSQL: after the cursor cur (from the
// start when nil) up to and including the batch's last row, whose
// subject is set and not in held and whose time is still before cut.
// The range is the one the batch's SELECT read, on the same index, so
// the statement finds its rows on the pages just read, where a list of
// keys looks each one up in the primary key: a third less time for a
// purge of rows spread through the table (BENCHMARKS.md). A row whose
// time moved forward since the SELECT is out of the range, and one
// written into it since is as expired as the others. (On MySQL/MariaDB
// the same statement took half as long again as the list of keys, and
// on SQLite as long; they keep the list.)
func (d *Deleter) rangeWrite(ctx context.Context, s *strategy, cut any, cur *cursor, last row, hl heldList) (int64, error) {
	var args []any
	if s != nil {
		args = append(args, s.setArgs...)
	}
	args = append(args, cut, last.time, last.key)
	if cur != nil {
		t, k := d.bindCursor(*cur)
		args = append(args, t, k)
	}
	args = append(args, hl.args...)
	q := d.rangeQuery(s, cur != nil, hl.n > 0)
	var affected int64
	err := sqlbase.Retry(ctx, func() error {
		r, err := d.st.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		affected, err = r.RowsAffected()
		return err
	})
	return affected, err
}

// inQuery returns the statement of kind with an IN list of n keys and no
// held list.
func (d *Deleter) inQuery(kind byte, s *strategy, n int) string { return d.inQueryH(kind, s, n, 0) }

// inQueryH returns the statement of kind with an IN list of n keys and a
// held list of shape h.
func (d *Deleter) inQueryH(kind byte, s *strategy, n, h int) string {
	k := inQueryKey{kind: kind, s: s, n: n, h: h}
	if q, ok := d.inQueries.Load(k); ok {
		return q.(string)
	}
	// The rows of the keys still expired, still a subject's, and not a
	// held subject's: the subject may have changed since the SELECT.
	where := d.q.key + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ") AND " +
		d.q.subj + " IS NOT NULL AND " + d.q.tm + " < ?" + d.notHeld(h)
	var q string
	switch kind {
	case 'd':
		q = "DELETE FROM " + d.q.tbl + " WHERE " + where
	case 'u':
		q = "UPDATE " + d.q.tbl + " SET " + s.set + " WHERE " + where
	case 'r':
		var cols []string
		for _, m := range s.goMasks {
			cols = append(cols, d.d.Quote(m.col))
		}
		q = "SELECT " + d.q.key + ", " + strings.Join(cols, ", ") + " FROM " + d.q.tbl + " WHERE " + where
		if d.d != dialect.SQLite {
			q += " FOR UPDATE"
		}
	}
	q = d.d.Rebind(q)
	d.inQueries.Store(k, q)
	return q
}

// rowUpdate is the statement that anonymises one row with Go-side masks.
func (d *Deleter) rowUpdate(s *strategy) string {
	k := inQueryKey{kind: 'w', s: s, n: 1}
	if q, ok := d.inQueries.Load(k); ok {
		return q.(string)
	}
	q := d.d.Rebind("UPDATE " + d.q.tbl + " SET " + s.rowSet + " WHERE " + d.q.key + " = ? AND " +
		d.q.subj + " IS NOT NULL AND " + d.q.tm + " < ?")
	d.inQueries.Store(k, q)
	return q
}

// inArgs are the arguments of an inQuery: keys, the cut-off, the held
// subjects.
func inArgs(keys []any, cut any, hl heldList) []any {
	return append(append(slices.Clone(keys), cut), hl.args...)
}

// delete deletes the rows of keys whose time is still before cut and
// whose subject is still set and not held.
func (d *Deleter) delete(ctx context.Context, keys []any, cut any, hl heldList) (int64, error) {
	cs := chunks(keys)
	if len(cs) == 1 {
		var n int64
		err := sqlbase.Retry(ctx, func() error {
			r, err := d.st.Exec(ctx, d.inQueryH('d', nil, len(cs[0]), hl.n), inArgs(cs[0], cut, hl)...)
			if err != nil {
				return err
			}
			n, err = r.RowsAffected()
			return err
		})
		return n, err
	}
	var n int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, c := range cs {
			r, err := d.st.TxExec(ctx, tx, d.inQueryH('d', nil, len(c), hl.n), inArgs(c, cut, hl)...)
			if err != nil {
				return err
			}
			m, err := r.RowsAffected()
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	return n, err
}

// anonymise applies s to the rows of keys whose subject is still set and
// not held and whose time is still before cut.
func (d *Deleter) anonymise(ctx context.Context, s *strategy, keys []any, cut any, hl heldList) (int64, error) {
	cs := chunks(keys)
	if len(s.goMasks) == 0 && len(cs) == 1 {
		var n int64
		err := sqlbase.Retry(ctx, func() error {
			args := append(slices.Clone(s.setArgs), inArgs(cs[0], cut, hl)...)
			r, err := d.st.Exec(ctx, d.inQueryH('u', s, len(cs[0]), hl.n), args...)
			if err != nil {
				return err
			}
			n, err = r.RowsAffected()
			return err
		})
		return n, err
	}
	var n int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, c := range cs {
			var m int64
			var err error
			if len(s.goMasks) == 0 {
				m, err = d.updateChunk(ctx, tx, s, c, cut, hl)
			} else {
				m, err = d.maskChunk(ctx, tx, s, c, cut, hl)
			}
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	return n, err
}

func (d *Deleter) updateChunk(ctx context.Context, tx *sql.Tx, s *strategy, keys []any, cut any, hl heldList) (int64, error) {
	args := append(slices.Clone(s.setArgs), inArgs(keys, cut, hl)...)
	r, err := d.st.TxExec(ctx, tx, d.inQueryH('u', s, len(keys), hl.n), args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// maskChunk reads the Go-side masks' columns of keys' rows, locked, and
// updates each row.
func (d *Deleter) maskChunk(ctx context.Context, tx *sql.Tx, s *strategy, keys []any, cut any, hl heldList) (int64, error) {
	rs, err := d.st.TxQuery(ctx, tx, d.inQueryH('r', s, len(keys), hl.n), inArgs(keys, cut, hl)...)
	if err != nil {
		return 0, err
	}
	type target struct {
		key  any
		vals []any
	}
	var targets []target
	err = func() error {
		defer rs.Close()
		var dbTypes []string
		if d.d == dialect.MySQL {
			cts, err := rs.ColumnTypes()
			if err != nil {
				return err
			}
			for _, ct := range cts[1:] {
				dbTypes = append(dbTypes, ct.DatabaseTypeName())
			}
		}
		for rs.Next() {
			t := target{vals: make([]any, len(s.goMasks))}
			dest := make([]any, 1+len(s.goMasks))
			dest[0] = &t.key
			for i := range t.vals {
				dest[1+i] = &t.vals[i]
			}
			if err := rs.Scan(dest...); err != nil {
				return err
			}
			t.key = d.normKey(t.key)
			for i, v := range t.vals {
				if b, ok := v.([]byte); ok {
					v = slices.Clone(b)
					if dbTypes != nil {
						v = mysqlValue(dbTypes[i], b)
					}
					t.vals[i] = v
				}
			}
			targets = append(targets, t)
		}
		return rs.Err()
	}()
	if err != nil {
		return 0, err
	}

	q := d.rowUpdate(s)
	exec := func(args ...any) (sql.Result, error) { return tx.ExecContext(ctx, q, args...) }
	if d.d != dialect.Postgres {
		// Prepared on the transaction's own connection, once for its
		// rows: preparing it on the pool would wait for a second
		// connection, for ever on a pool of one.
		txst, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return 0, err
		}
		defer txst.Close()
		exec = func(args ...any) (sql.Result, error) { return txst.ExecContext(ctx, args...) }
	}
	var n int64
	args := make([]any, 0, len(s.goMasks)+len(s.setArgs)+2)
	for _, t := range targets {
		args = args[:0]
		for i, m := range s.goMasks {
			v, err := applyGoMask(m, s.domains[i], t.vals[i])
			if err != nil {
				return 0, err
			}
			args = append(args, v)
		}
		args = append(append(append(args, s.setArgs...), t.key), cut)
		r, err := exec(args...)
		if err != nil {
			return 0, err
		}
		m, err := r.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// mysqlValue gives a value MySQL/MariaDB's driver read as bytes as the
// other databases' drivers give it: text and decimals as a string,
// dates and times (read without parseTime) as a time.Time in UTC.
func mysqlValue(dbType string, b []byte) any {
	switch dbType {
	case "CHAR", "VARCHAR", "TEXT", "TINYTEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET", "DECIMAL":
		return string(b)
	case "DATE", "DATETIME", "TIMESTAMP":
		if t, ok := parseTimeText(string(b)); ok {
			return t
		}
		return string(b)
	}
	return b
}

// maskFuncError is the error of a failing Func or Pseudonym mask: it
// names the column and wraps the cause without repeating its text.
type maskFuncError struct {
	col string
	err error
}

func (e *maskFuncError) Error() string {
	if e.err == nil {
		return "mask of column " + e.col + ": a pseudonym needs a text value (the value is not shown)"
	}
	return "mask function of column " + e.col + " failed (its message is withheld: it may quote the value)"
}

func (e *maskFuncError) Unwrap() error { return e.err }

// applyGoMask computes a Go-side mask of v; NULL stays NULL.
func applyGoMask(m Mask, domain string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if m.kind == maskPseudonym {
		switch s := v.(type) {
		case string:
			return m.p.Pseudonym(domain, s), nil
		case []byte:
			return m.p.Pseudonym(domain, string(s)), nil
		}
		return nil, &maskFuncError{col: m.col}
	}
	out, err := m.fn(v)
	if err != nil {
		return nil, &maskFuncError{col: m.col, err: err}
	}
	return out, nil
}

// inTx runs fn in a transaction, again on a deadlock or serialization
// failure (sqlbase.Retry); READ COMMITTED on MySQL/MariaDB, so the
// locking reads take record locks only.
func (d *Deleter) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var opts *sql.TxOptions
	if d.d == dialect.MySQL {
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return sqlbase.Retry(ctx, func() error {
		tx, err := d.db.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// Expiring returns the subjects with rows whose Time is at or after
// q.From and before q.Before, in subject order after q.After, at most
// q.Limit (MaxLimit at most), each with the earliest such Time
// (retention.Noticer). Rows whose Subject is NULL are left out; held
// subjects are not. It reads the index on (Time, Key) for the range and
// groups by subject, so a short range (the weeks before the cut-off) is
// cheap. A Before not after the zero time.Time gives no subject, and an
// earlier From counts from it. A Limit below 1, a From after Before, a
// Before after the year 9999 and a policy whose From is not the
// Deleter's are errors wrapping retention.ErrInvalid.
func (d *Deleter) Expiring(ctx context.Context, q retention.ExpiringQuery) ([]retention.Expiring, error) {
	const op = "Expiring"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	switch {
	case q.Limit < 1:
		return nil, fieldErr(op, "limit", "a page's limit must be at least 1")
	case !noneBefore(q.Before) && !inYears(q.Before):
		return nil, fieldErr(op, "before", "the range's end must be before the year 10000")
	case q.From.After(q.Before):
		return nil, fieldErr(op, "from", "the range's start is after its end")
	}
	if err := d.checkFrom(op, q.Policy); err != nil {
		return nil, err
	}
	if noneBefore(q.Before) {
		return []retention.Expiring{}, nil
	}
	if noneBefore(q.From) {
		q.From = time.Time{}
	}
	limit := min(q.Limit, MaxLimit)
	var rs *sql.Rows
	var err error
	if q.After == "" {
		rs, err = d.st.Query(ctx, d.q.expiring, d.timeArg(q.From), d.timeArg(q.Before), limit)
	} else {
		rs, err = d.st.Query(ctx, d.q.expiringAfter, d.timeArg(q.From), d.timeArg(q.Before), string(q.After), limit)
	}
	if err != nil {
		return nil, d.fail(op, err)
	}
	defer rs.Close()
	out := []retention.Expiring{}
	for rs.Next() {
		var subj string
		var tv any
		if err := rs.Scan(&subj, &tv); err != nil {
			return nil, d.fail(op, err)
		}
		t, ok := d.toTime(tv)
		if !ok {
			return nil, &retention.Error{Op: "sqlretention." + op, Err: errTimeColumn}
		}
		out = append(out, retention.Expiring{Subject: gdpr.SubjectID(subj), Start: t})
	}
	if err := rs.Err(); err != nil {
		return nil, d.fail(op, err)
	}
	return out, nil
}

// fail is storeErr, and withholds as well the text of an error that
// carries no database code and is none of the Deleter's own: a driver's
// own errors quote the values they refuse (pgx: "unable to encode
// \"…\" into binary format for int8").
func (d *Deleter) fail(op string, err error) error {
	err = storeErr(op, err)
	var re *retention.Error
	if !errors.As(err, &re) || re.Op != "sqlretention."+op || re.Field != "" || !withhold(re.Err) {
		return err
	}
	return &retention.Error{Op: re.Op, Err: &withheldError{re.Err}}
}

// withhold reports whether err's text may quote a value: it is no
// server error with its code (dialect.Redact's), no mask's error, and
// none of the conditions whose texts are fixed.
func withhold(err error) bool {
	var se *dialect.ServerError
	var me *maskFuncError
	switch {
	case err == nil, errors.As(err, &se), errors.As(err, &me),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, sql.ErrTxDone), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, errTimeColumn), errors.Is(err, errCursorKey):
		return false
	}
	return true
}

// withheldError stands for a driver's error whose text is not shown;
// it unwraps to it.
type withheldError struct{ err error }

func (e *withheldError) Error() string {
	return "the database driver failed (its message is withheld: it may quote a bound value)"
}

func (e *withheldError) Unwrap() error { return e.err }

// errTimeColumn is the cause of a time column value the Deleter cannot
// read.
var errTimeColumn = errors.New("a value of the time column is not a time the Deleter reads (see TimeUnit)")

// toTime reads a Time column value as an instant in UTC.
func (d *Deleter) toTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC(), true
	case int64:
		switch d.unit {
		case UnixSeconds:
			return time.Unix(v, 0).UTC(), true
		case UnixMillis:
			return time.UnixMilli(v).UTC(), true
		case UnixMicros:
			return time.UnixMicro(v).UTC(), true
		}
	case []byte:
		if d.unit == NativeTime {
			return parseTimeText(string(v))
		}
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return d.toTime(n)
		}
	case string:
		if d.unit == NativeTime {
			return parseTimeText(v)
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return d.toTime(n)
		}
	}
	return time.Time{}, false
}

// timeLayouts are the texts of a time the drivers write or return:
// modernc.org/sqlite's default (time.Time.String) and its other formats,
// MySQL/MariaDB's DATETIME and DATE, RFC 3339.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999 -0700 MST",
	"2006-01-02 15:04:05.999999999-07:00",
	"2006-01-02T15:04:05.999999999-07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04",
	"2006-01-02T15:04",
	"2006-01-02",
}

// parseTimeText parses a time as a driver writes it as text; one without
// a zone is UTC.
func parseTimeText(s string) (time.Time, bool) {
	if i := strings.Index(s, " m="); i > 0 {
		s = s[:i] // time.Time.String's monotonic clock reading
	}
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// cursorBefore reports whether c's time is before the cut-off before,
// as every cursor of a batch of that cut-off is (it is the time of a row
// the batch found expired); true when the time is text it cannot read.
func (d *Deleter) cursorBefore(c cursor, before time.Time) bool {
	switch c.tag {
	case 't':
		return time.Unix(c.sec, c.nsec).Before(before)
	case 'i':
		if d.unit == NativeTime {
			return true // an integer time of modernc.org/sqlite's _time_integer_format, of a unit not known here
		}
		return c.sec < d.timeArg(before).(int64)
	}
	if t, ok := parseTimeText(c.text); ok {
		return t.Before(before)
	}
	return true
}

// cursor is a decoded Result.Cursor: the Time and Key of the last row
// examined.
type cursor struct {
	// tag is the time's kind: 't' an instant (sec, nsec), 'i' an
	// integer (sec), 's' text as the driver read it (text).
	tag  byte
	sec  int64
	nsec int64
	text string
	// key is an int64, a uint64, a string or a []byte.
	key any
}

// The cursor's encoding, before base64url without padding:
//
//	version (1)
//	time:  't' int64 seconds, uint32 nanoseconds  | 'i' int64 | 's' len (1 byte, ≤ 64) text
//	key:   'i' int64 | 'u' uint64 | 's' or 'b' len (2 bytes, ≤ MaxKeyLen) bytes
//
// integers big-endian. Text is printable ASCII for the time, valid UTF-8
// without NUL for a string key.
const (
	cursorVersion = 1
	maxTimeText   = 64
)

var cursorEncoding = base64.RawURLEncoding.Strict()

// errCursorKey is the cause of a row whose key no cursor holds.
var errCursorKey = errors.New("the table's key is not an integer, text or bytes of at most 512 bytes, or its time is not one the Deleter reads")

func encodeCursor(t, k any) (string, error) {
	b := make([]byte, 0, 32)
	b = append(b, cursorVersion)
	switch t := t.(type) {
	case time.Time:
		b = append(b, 't')
		b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
	case int64:
		b = append(b, 'i')
		b = binary.BigEndian.AppendUint64(b, uint64(t))
	case string:
		if len(t) > maxTimeText || !printableASCII(t) {
			return "", errCursorKey
		}
		b = append(b, 's', byte(len(t)))
		b = append(b, t...)
	default:
		return "", errCursorKey
	}
	switch k := k.(type) {
	case int64:
		b = append(b, 'i')
		b = binary.BigEndian.AppendUint64(b, uint64(k))
	case uint64:
		b = append(b, 'u')
		b = binary.BigEndian.AppendUint64(b, k)
	case string:
		if len(k) > MaxKeyLen || !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0 {
			return "", errCursorKey
		}
		b = append(b, 's')
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
	case []byte:
		if len(k) > MaxKeyLen {
			return "", errCursorKey
		}
		b = append(b, 'b')
		b = binary.BigEndian.AppendUint16(b, uint16(len(k)))
		b = append(b, k...)
	default:
		return "", errCursorKey
	}
	return cursorEncoding.EncodeToString(b), nil
}

var errBadCursor = errors.New("malformed cursor")

// decodeCursor decodes and checks a cursor from outside.
func decodeCursor(s string) (cursor, error) {
	var c cursor
	if len(s) > retention.MaxCursorLen {
		return c, errBadCursor
	}
	b, err := cursorEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != cursorVersion {
		return c, errBadCursor
	}
	c.tag, b = b[1], b[2:]
	switch c.tag {
	case 't':
		if len(b) < 12 {
			return c, errBadCursor
		}
		c.sec, c.nsec = int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint32(b[8:]))
		if c.nsec >= 1e9 {
			return c, errBadCursor
		}
		b = b[12:]
	case 'i':
		if len(b) < 8 {
			return c, errBadCursor
		}
		c.sec, b = int64(binary.BigEndian.Uint64(b)), b[8:]
	case 's':
		if len(b) < 1 || int(b[0]) > maxTimeText || len(b) < 1+int(b[0]) {
			return c, errBadCursor
		}
		c.text, b = string(b[1:1+int(b[0])]), b[1+int(b[0]):]
		if !printableASCII(c.text) {
			return c, errBadCursor
		}
	default:
		return c, errBadCursor
	}
	if len(b) < 1 {
		return c, errBadCursor
	}
	kt, b := b[0], b[1:]
	switch kt {
	case 'i', 'u':
		if len(b) != 8 {
			return c, errBadCursor
		}
		if kt == 'i' {
			c.key = int64(binary.BigEndian.Uint64(b))
		} else {
			c.key = binary.BigEndian.Uint64(b)
		}
	case 's', 'b':
		if len(b) < 2 {
			return c, errBadCursor
		}
		n := int(binary.BigEndian.Uint16(b))
		if n > MaxKeyLen || len(b) != 2+n {
			return c, errBadCursor
		}
		v := b[2:]
		if kt == 'b' {
			c.key = slices.Clone(v)
		} else {
			if !utf8.Valid(v) || slices.Contains(v, 0) {
				return c, errBadCursor
			}
			c.key = string(v)
		}
	default:
		return c, errBadCursor
	}
	return c, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// String describes the Deleter without values:
// "sqlretention.Deleter{table: t, dialect: postgres}".
func (d *Deleter) String() string {
	return fmt.Sprintf("sqlretention.Deleter{table: %s, dialect: %s}", d.name, d.d)
}

// GoString is String: %#v shows no Fixed value either.
func (d *Deleter) GoString() string { return d.String() }

// Format prints String under every verb.
func (d *Deleter) Format(f fmt.State, _ rune) { io.WriteString(f, d.String()) }
