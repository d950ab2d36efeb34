package sqlconsent

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

//go:embed migrations
var migrationFS embed.FS

var schema = sqlbase.Schema{Package: "sqlconsent", Component: "consent", FS: migrationFS, ErrInvalid: consent.ErrInvalid,
	Error: func(op, field string, err error) error { return &consent.Error{Op: op, Field: field, Err: err} }}

// Store is a consent.Store in a SQL database. It is safe for concurrent use
// by many goroutines and by many processes sharing the database.
type Store struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  queries
}

var (
	_ consent.Store        = (*Store)(nil)
	_ consent.StaleEventer = (*Store)(nil)
)

// Option configures a Store. The SQL stores of the module share it: an
// option means the same in sqlconsent, sqlkeys and sqlaudit.
type Option = sqlbase.Option

// WithTablePrefix sets the prefix of the Store's table names: tables
// <prefix>consent_events, <prefix>consent_notices, <prefix>consent_outbox
// and <prefix>consent_suppression, and the version table
// <prefix>schema_version that Migrate shares with the module's other stores
// of the same prefix. It must match ^[a-z_][a-z0-9_]{0,39}$. Default: "gdpr_".
func WithTablePrefix(p string) Option { return sqlbase.WithTablePrefix(p) }

// New returns a Store over db, a database of dialect d. It does not touch the
// database; call Migrate once at start-up (or apply Migrations with your own
// tool) before use. The *sql.DB stays the caller's to close. A nil db, an
// unknown dialect or a bad option is an error wrapping consent.ErrInvalid.
//
// For SQLite, open db with a busy timeout and immediate transactions, e.g.
// "file:app.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate"
// with modernc.org/sqlite, so concurrent writers wait instead of failing.
func New(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Store, error) {
	b, err := schema.Open(db, d, opts...)
	if err != nil {
		return nil, err
	}
	return &Store{b: b, st: b.Stmt, q: buildQueries(b.D, b.Prefix)}, nil
}

// Migrate creates or updates the Store's tables. It is idempotent and safe
// to run from several processes at once, and behind PgBouncer.
func (s *Store) Migrate(ctx context.Context) error { return s.b.Migrate(ctx) }

// Close releases the Store's prepared statements. The *sql.DB stays open:
// it is the caller's to close. A Store may be used after Close; it prepares
// its statements again. Call it when no call on the Store is in flight.
func (s *Store) Close() error { return s.b.Close() }

// Migrations returns the Store's schema for dialect d with the given table
// prefix, as versioned files (0001_consent_events.sql, …), for hosts that
// apply migrations with their own tool (goose, golang-migrate, atlas). Each
// file holds plain statements separated by ";" at line ends.
func Migrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	return schema.Migrations(d, prefix)
}

type queries struct {
	append, event, events, eventsPurpose, erase string
	// The audit outbox (consent.AuditOutbox): appendPG writes an event and
	// its marker in one statement on PostgreSQL; elsewhere append and mark
	// run in one transaction.
	appendPG, mark, claim, claimed, clear string
	// MySQL/MariaDB only: claimPick locks the due markers a claim takes,
	// lockSubject the rows an erasure deletes (see DeleteSubject).
	claimPick, lockSubject                  string
	latestContact, latestAll                string
	putNotice, notices, stale, stalePurpose string
	staleEvents, staleEventsPurpose         string
}

// insertCols are the columns Append writes; the database assigns seq.
const insertCols = "id, subject, purpose, contact, kind, at_us, actor_kind, actor_id, notice_id, notice_version, notice_hash, method, channel, evidence, expires_us, basis, confirms, token_hash"

// eventCols are the columns scanEvent reads.
const eventCols = insertCols + ", seq"

func buildQueries(d dialect.Dialect, p string) queries {
	ev, no, ob := p+"consent_events", p+"consent_notices", p+"consent_outbox"
	// latest picks, on the index (subject, purpose, seq) read backwards, the
	// first row that qualifies, with the notice's latest material version
	// from the notices' primary key. contactCond is the SQL of
	// consent.Event.Applies.
	latest := func(contactCond string) string {
		return d.Rebind("SELECT " + prefixCols("e.") + ", COALESCE((SELECT MAX(n.version) FROM " + no +
			" n WHERE n.id = e.notice_id AND n.material = 1 AND n.published_us <= ?), 0) FROM " + ev +
			" e WHERE e.subject = ? AND e.purpose = ? AND " + contactCond + " AND e.kind <> 'pending' AND (? = 1 OR e.at_us <= ?)" +
			" ORDER BY e.seq DESC LIMIT 1")
	}
	// claim marks the due markers, oldest first, with the claim's token
	// and the time they are due again, in one statement. On PostgreSQL
	// the rows are picked FOR UPDATE SKIP LOCKED, so concurrent drains
	// take other rows rather than wait, and a row another drain claimed
	// and committed meanwhile is read again and no longer due; SQLite has
	// one writer at a time. MySQL/MariaDB cannot pick rows of the table it
	// updates in a subquery: there ClaimAudit locks them with claimPick
	// and updates them by key, in one transaction.
	pick := "SELECT event_id FROM " + ob + " WHERE due_us <= ? ORDER BY due_us, event_id LIMIT ?" + d.ForUpdateSkipLocked()
	claim := "UPDATE " + ob + " SET due_us = ?, claim = ? WHERE event_id IN (" + pick + ")"
	var claimPick, lockSubject string
	if d == dialect.MySQL {
		claim = ""
		claimPick = pick
		lockSubject = "SELECT id FROM " + ev + " WHERE subject = ? FOR UPDATE"
	}
	return queries{
		append: insert(d, ev, insertCols),
		appendPG: d.Rebind("WITH e AS (" + insertQ(ev, insertCols) + " RETURNING id) INSERT INTO " + ob +
			" (event_id, due_us) SELECT id, ? FROM e"),
		mark:        insert(d, ob, "event_id, due_us"),
		claim:       d.Rebind(claim),
		claimPick:   claimPick,
		lockSubject: lockSubject,
		claimed:     d.Rebind("SELECT " + prefixCols("e.") + " FROM " + ev + " e JOIN " + ob + " o ON o.event_id = e.id WHERE o.claim = ? ORDER BY e.seq"),
		clear:       d.Rebind("DELETE FROM " + ob + " WHERE event_id = ?"),
		event:       d.Rebind("SELECT " + eventCols + " FROM " + ev + " WHERE id = ?"),
		// A question about one channel: events for every channel and for
		// that one.
		latestContact: latest("e.contact IN ('', ?)"),
		// A question about the purpose as a whole: events for every
		// channel, and any channel's events that deny (all kinds but
		// given, pending and soft_opt_in).
		latestAll:     latest("(e.contact = '' OR e.kind NOT IN ('given', 'pending', 'soft_opt_in'))"),
		events:        d.Rebind("SELECT " + eventCols + " FROM " + ev + " WHERE subject = ? ORDER BY seq"),
		eventsPurpose: d.Rebind("SELECT " + eventCols + " FROM " + ev + " WHERE subject = ? AND purpose = ? ORDER BY seq"),
		erase:         d.Rebind("DELETE FROM " + ev + " WHERE subject = ?"),
		putNotice:     insert(d, no, "id, version, text_hash, language, url, material, published_us"),
		notices:       d.Rebind("SELECT id, version, text_hash, language, url, material, published_us FROM " + no + " WHERE id = ? ORDER BY version"),
		stale: d.Rebind("SELECT DISTINCT subject FROM " + ev +
			" WHERE notice_id = ? AND kind = 'given' AND notice_version < ? AND subject > ? ORDER BY subject LIMIT ?"),
		stalePurpose: d.Rebind("SELECT DISTINCT subject FROM " + ev +
			" WHERE notice_id = ? AND kind = 'given' AND notice_version < ? AND purpose = ? AND subject > ? ORDER BY subject LIMIT ?"),
		staleEvents:        staleEvents(d, ev, false),
		staleEventsPurpose: staleEvents(d, ev, true),
	}
}

// staleEvents is the one statement of StaleEvents: the candidates of
// stale (or stalePurpose), read on the index (notice_id, subject), joined
// to their rows on the index (subject, purpose, seq), of which a window
// over (subject, purpose, contact, kind) keeps the latest of each. The
// arguments: notice, version, [purpose,] after, limit[, purpose].
//
// On PostgreSQL the rows are a LATERAL subquery of each candidate, so they
// are read on the index whatever the plan: joined plainly, a generic plan
// (and a custom one, on a table of 100,000 rows) hashes the candidates and
// reads the whole table to find their rows. SQLite joins by nested loops on
// the index; MySQL/MariaDB by the index (ref), and MariaDB has no LATERAL.
func staleEvents(d dialect.Dialect, ev string, purpose bool) string {
	cand, rows := "", ""
	if purpose {
		cand, rows = " AND purpose = ?", " AND x.purpose = ?"
	}
	cands := "(SELECT DISTINCT subject FROM " + ev + " WHERE notice_id = ? AND kind = 'given' AND notice_version < ?" + cand +
		" AND subject > ? ORDER BY subject LIMIT ?) c"
	if d == dialect.Postgres {
		return d.Rebind("SELECT " + prefixCols("w.") + " FROM " + cands + " CROSS JOIN LATERAL (SELECT " + prefixCols("x.") +
			", ROW_NUMBER() OVER (PARTITION BY x.purpose, x.contact, x.kind ORDER BY x.seq DESC) AS rn FROM " + ev +
			" x WHERE x.subject = c.subject AND x.kind <> 'pending'" + rows + ") w WHERE w.rn = 1 ORDER BY w.subject, w.seq")
	}
	return d.Rebind("SELECT " + eventCols +
		" FROM (SELECT " + prefixCols("x.") + ", ROW_NUMBER() OVER (PARTITION BY x.subject, x.purpose, x.contact, x.kind ORDER BY x.seq DESC) AS rn" +
		" FROM " + cands + " JOIN " + ev + " x ON x.subject = c.subject WHERE x.kind <> 'pending'" + rows +
		") w WHERE rn = 1 ORDER BY subject, seq")
}

// insert is a plain INSERT of cols (comma-separated) into table. A
// duplicate key fails it; the caller maps that to consent.ErrConflict.
func insert(d dialect.Dialect, table, cols string) string { return d.Rebind(insertQ(table, cols)) }

// insertQ is that INSERT with '?' placeholders.
func insertQ(table, cols string) string {
	n := len(strings.Split(cols, ", "))
	return "INSERT INTO " + table + " (" + cols + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func prefixCols(alias string) string {
	cols := strings.Split(eventCols, ", ")
	for i, c := range cols {
		cols[i] = alias + c
	}
	return strings.Join(cols, ", ")
}

// Append implements consent.Store. The database assigns the event's Seq
// (e.Seq is ignored). A duplicate event ID or a second confirmation of a
// pending event fails the INSERT on a unique key; that error becomes
// consent.ErrConflict, without the driver's text, which may quote the
// duplicate value.
func (s *Store) Append(ctx context.Context, e consent.Event) error {
	ev := ""
	if e.Evidence.IPPrefix != "" || e.Evidence.UserAgent != "" || e.Evidence.Locator != "" || len(e.Evidence.Attrs) > 0 {
		b, err := json.Marshal(e.Evidence)
		if err != nil {
			return storeErr("append", err)
		}
		ev = string(b)
	}
	var confirms any
	if e.Confirms != "" {
		confirms = e.Confirms
	}
	var token any
	if len(e.TokenHash) > 0 {
		token = e.TokenHash
	}
	var exp int64
	if !e.ExpiresAt.IsZero() {
		exp = e.ExpiresAt.UnixMicro()
	}
	args := []any{e.ID, string(e.Subject), string(e.Purpose), string(e.Contact), string(e.Kind), e.Time.UnixMicro(),
		string(e.Actor.Kind), e.Actor.ID, e.Notice.ID, e.Notice.Version, e.Notice.TextHash,
		string(e.Method), e.Channel, ev, exp, e.Basis.String(), confirms, token}
	due := e.Time.Add(consent.AuditGrace).UnixMicro()
	var err error
	if s.b.D == dialect.Postgres {
		_, err = s.st.Exec(ctx, s.q.appendPG, append(args, due)...)
	} else {
		err = sqlbase.Retry(ctx, func() error { return s.appendTx(ctx, args, e.ID, due) })
	}
	if dialect.IsUniqueViolation(err) {
		// Not wrapped: MySQL's text quotes the duplicate value.
		return &consent.Error{Op: "append", Err: fmt.Errorf("sqlconsent: %w: event ID or confirmation exists", consent.ErrConflict)}
	}
	return storeErr("append", err)
}

// appendTx inserts the event and its audit marker in one transaction.
func (s *Store) appendTx(ctx context.Context, args []any, id string, due int64) error {
	tx, err := s.b.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := s.st.TxExec(ctx, tx, s.q.append, args...); err != nil {
		return err
	}
	if _, err := s.st.TxExec(ctx, tx, s.q.mark, id, due); err != nil {
		return err
	}
	return tx.Commit()
}

type scanner interface{ Scan(...any) error }

func scanEvent(r scanner, extra ...any) (consent.Event, error) {
	var (
		e                                  consent.Event
		subject, purpose, contact, kind    string
		actorKind, method, evidence, basis string
		at, exp                            int64
		confirms                           sql.NullString
		token                              []byte
	)
	dst := append([]any{&e.ID, &subject, &purpose, &contact, &kind, &at, &actorKind, &e.Actor.ID,
		&e.Notice.ID, &e.Notice.Version, &e.Notice.TextHash, &method, &e.Channel, &evidence, &exp,
		&basis, &confirms, &token, &e.Seq}, extra...)
	if err := r.Scan(dst...); err != nil {
		return consent.Event{}, err
	}
	e.Subject, e.Purpose, e.Contact, e.Kind = gdpr.SubjectID(subject), gdpr.Purpose(purpose), consent.Contact(contact), consent.Kind(kind)
	e.Actor.Kind, e.Method = gdpr.ActorKind(actorKind), consent.Method(method)
	e.Time = time.UnixMicro(at).UTC()
	if exp != 0 {
		e.ExpiresAt = time.UnixMicro(exp).UTC()
	}
	if evidence != "" {
		if err := json.Unmarshal([]byte(evidence), &e.Evidence); err != nil {
			return consent.Event{}, fmt.Errorf("decoding stored evidence of event %s: %w", errs.Show(e.ID), err)
		}
	}
	b, err := gdpr.ParseLawfulBasis(basis)
	if err != nil {
		return consent.Event{}, fmt.Errorf("decoding stored basis of event %s: %w", errs.Show(e.ID), err)
	}
	e.Basis = b
	e.Confirms = confirms.String
	if len(token) > 0 {
		e.TokenHash = append([]byte(nil), token...)
	}
	return e, nil
}

// Event implements consent.Store.
func (s *Store) Event(ctx context.Context, id string) (consent.Event, error) {
	e, err := scanEvent(s.st.QueryRow(ctx, s.q.event, id))
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Event{}, &consent.Error{Op: "event", Err: consent.ErrNotFound}
	}
	return e, storeErr("event", err)
}

// Latest implements consent.Store with one indexed query: of the rows for
// (q.Subject, q.Purpose) read backwards on the index (subject, purpose,
// seq), the first that applies to q.Contact (consent.Event.Applies), is not
// pending and is not later than q.At.
func (s *Store) Latest(ctx context.Context, q consent.Query) (consent.Current, error) {
	at := q.At.UnixMicro()
	var latest int
	var row scanner
	current := 0
	if q.Current {
		current = 1
	}
	if q.Contact == consent.AllContacts {
		row = s.st.QueryRow(ctx, s.q.latestAll, at, string(q.Subject), string(q.Purpose), current, at)
	} else {
		row = s.st.QueryRow(ctx, s.q.latestContact, at, string(q.Subject), string(q.Purpose), string(q.Contact), current, at)
	}
	e, err := scanEvent(row, &latest)
	if errors.Is(err, sql.ErrNoRows) {
		return consent.Current{}, &consent.Error{Op: "latest", Err: consent.ErrNotFound}
	}
	if err != nil {
		return consent.Current{}, storeErr("latest", err)
	}
	return consent.Current{Event: e, LatestMaterial: latest}, nil
}

// Events implements consent.Store.
func (s *Store) Events(ctx context.Context, subject gdpr.SubjectID, purpose gdpr.Purpose) ([]consent.Event, error) {
	var rows *sql.Rows
	var err error
	if purpose == "" {
		rows, err = s.st.Query(ctx, s.q.events, string(subject))
	} else {
		rows, err = s.st.Query(ctx, s.q.eventsPurpose, string(subject), string(purpose))
	}
	if err != nil {
		return nil, storeErr("events", err)
	}
	defer rows.Close()
	var out []consent.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, storeErr("events", err)
		}
		out = append(out, e)
	}
	return out, storeErr("events", rows.Err())
}

// ClaimAudit implements consent.AuditOutbox with two statements: an
// UPDATE that marks at most q.Limit due markers, the oldest first, with a
// random claim token and q.Until (see buildQueries for how concurrent
// claims stay apart on each database), then a SELECT of the events joined
// to the markers of that token, in seq order. A q.Limit below 1 is an
// error wrapping consent.ErrInvalid.
func (s *Store) ClaimAudit(ctx context.Context, q consent.AuditClaim) ([]consent.Event, error) {
	if q.Limit < 1 {
		return nil, &consent.Error{Op: "claim_audit", Field: "limit", Err: fmt.Errorf("sqlconsent: %w: must be 1 or more", consent.ErrInvalid)}
	}
	var tok [16]byte
	rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	var n int64
	err := sqlbase.Retry(ctx, func() error {
		var err error
		if s.b.D == dialect.MySQL {
			n, err = s.claimTx(ctx, q, token)
			return err
		}
		res, err := s.st.Exec(ctx, s.q.claim, q.Until.UnixMicro(), token, q.Now.UnixMicro(), q.Limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return nil, storeErr("claim_audit", err)
	}
	if n == 0 {
		return nil, nil
	}
	rows, err := s.st.Query(ctx, s.q.claimed, token)
	if err != nil {
		return nil, storeErr("claim_audit", err)
	}
	defer rows.Close()
	var out []consent.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, storeErr("claim_audit", err)
		}
		out = append(out, e)
	}
	return out, storeErr("claim_audit", rows.Err())
}

// claimTx is ClaimAudit's claim on MySQL/MariaDB: in one READ COMMITTED
// transaction (record locks only, no gap locks), it locks the due markers
// FOR UPDATE SKIP LOCKED (rows another claim, or a ClearAudit, holds are
// skipped, not waited for) and stamps them by key. It returns how many it
// claimed.
func (s *Store) claimTx(ctx context.Context, q consent.AuditClaim, token string) (int64, error) {
	tx, err := s.b.DB.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := s.st.TxQuery(ctx, tx, s.q.claimPick, q.Now.UnixMicro(), q.Limit)
	if err != nil {
		return 0, err
	}
	args := []any{q.Until.UnixMicro(), token}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		args = append(args, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := int64(len(args) - 2)
	if n == 0 {
		return 0, nil
	}
	// At most q.Limit keys: the statement is built per call, not cached.
	in := strings.TrimSuffix(strings.Repeat("?, ", int(n)), ", ")
	if _, err := tx.ExecContext(ctx, "UPDATE "+s.b.Table("consent_outbox")+" SET due_us = ?, claim = ? WHERE event_id IN ("+in+")", args...); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// ClearAudit implements consent.AuditOutbox. A deadlock with a
// concurrent claim (MySQL/MariaDB) is retried.
func (s *Store) ClearAudit(ctx context.Context, id string) error {
	err := sqlbase.Retry(ctx, func() error {
		_, err := s.st.Exec(ctx, s.q.clear, id)
		return err
	})
	return storeErr("clear_audit", err)
}

// DeleteSubject implements consent.Store. The events' audit markers go
// with them in the same statement (a foreign key ON DELETE CASCADE on
// PostgreSQL and MySQL/MariaDB, a trigger on SQLite), and are not counted.
//
// On MySQL/MariaDB the DELETE runs in a transaction that first locks the
// subject's rows (SELECT … FOR UPDATE): the cascade then takes only locks
// on the outbox, after every lock on the events, in the order an Append
// takes them (event, then marker), so an erasure and an append of another
// subject do not deadlock on InnoDB's gap locks. A deadlock that happens
// all the same is retried.
func (s *Store) DeleteSubject(ctx context.Context, subject gdpr.SubjectID) (int64, error) {
	var n int64
	err := sqlbase.Retry(ctx, func() error {
		var err error
		if s.b.D == dialect.MySQL {
			n, err = s.deleteTx(ctx, subject)
			return err
		}
		res, err := s.st.Exec(ctx, s.q.erase, string(subject))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, storeErr("erase", err)
}

func (s *Store) deleteTx(ctx context.Context, subject gdpr.SubjectID) (int64, error) {
	tx, err := s.b.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := s.st.TxQuery(ctx, tx, s.q.lockSubject, string(subject))
	if err != nil {
		return 0, err
	}
	for rows.Next() { // read to the end: every row locked before the DELETE
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	res, err := s.st.TxExec(ctx, tx, s.q.erase, string(subject))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// PutNotice implements consent.Store. A duplicate (ID, Version) fails the
// INSERT on the primary key and becomes consent.ErrConflict.
func (s *Store) PutNotice(ctx context.Context, n consent.Notice) error {
	material := 0
	if n.Material {
		material = 1
	}
	_, err := s.st.Exec(ctx, s.q.putNotice, n.ID, n.Version, n.TextHash, n.Language, n.URL, material, n.Published.UnixMicro())
	if dialect.IsUniqueViolation(err) {
		// Not wrapped, like Append's: the driver's text may quote the key.
		return &consent.Error{Op: "put_notice", Err: fmt.Errorf("sqlconsent: %w: notice %s version %d exists", consent.ErrConflict, errs.Show(n.ID), n.Version)}
	}
	return storeErr("put_notice", err)
}

// Notices implements consent.Store.
func (s *Store) Notices(ctx context.Context, id string) ([]consent.Notice, error) {
	rows, err := s.st.Query(ctx, s.q.notices, id)
	if err != nil {
		return nil, storeErr("notices", err)
	}
	defer rows.Close()
	var out []consent.Notice
	for rows.Next() {
		var n consent.Notice
		var material int
		var pub int64
		if err := rows.Scan(&n.ID, &n.Version, &n.TextHash, &n.Language, &n.URL, &material, &pub); err != nil {
			return nil, storeErr("notices", err)
		}
		n.Material, n.Published = material == 1, time.UnixMicro(pub).UTC()
		out = append(out, n)
	}
	return out, storeErr("notices", rows.Err())
}

// StaleSubjects implements consent.Store.
func (s *Store) StaleSubjects(ctx context.Context, q consent.StaleQuery) ([]gdpr.SubjectID, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var rows *sql.Rows
	var err error
	if q.Purpose == "" {
		rows, err = s.st.Query(ctx, s.q.stale, q.Notice, q.Version, string(q.After), limit)
	} else {
		rows, err = s.st.Query(ctx, s.q.stalePurpose, q.Notice, q.Version, string(q.Purpose), string(q.After), limit)
	}
	if err != nil {
		return nil, storeErr("stale_subjects", err)
	}
	defer rows.Close()
	var out []gdpr.SubjectID
	for rows.Next() {
		var sub string
		if err := rows.Scan(&sub); err != nil {
			return nil, storeErr("stale_subjects", err)
		}
		out = append(out, gdpr.SubjectID(sub))
	}
	return out, storeErr("stale_subjects", rows.Err())
}

// StaleEvents implements consent.StaleEventer with one statement (see
// staleEvents). An empty q.Notice is an error wrapping consent.ErrInvalid.
func (s *Store) StaleEvents(ctx context.Context, q consent.StaleQuery) ([]consent.Event, error) {
	if q.Notice == "" {
		return nil, &consent.Error{Op: "stale_events", Field: "notice", Err: fmt.Errorf("sqlconsent: %w: empty", consent.ErrInvalid)}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	var rows *sql.Rows
	var err error
	if q.Purpose == "" {
		rows, err = s.st.Query(ctx, s.q.staleEvents, q.Notice, q.Version, string(q.After), limit)
	} else {
		p := string(q.Purpose)
		rows, err = s.st.Query(ctx, s.q.staleEventsPurpose, q.Notice, q.Version, p, string(q.After), limit, p)
	}
	if err != nil {
		return nil, storeErr("stale_events", err)
	}
	defer rows.Close()
	var out []consent.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, storeErr("stale_events", err)
		}
		out = append(out, e)
	}
	return out, storeErr("stale_events", rows.Err())
}

// storeErr wraps a database error, with the server's message withheld
// (dialect.Redact): servers quote bound values in their messages and
// details, and those values are personal data or key material.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &consent.Error{Op: op, Err: fmt.Errorf("sqlconsent: %w", dialect.Redact(err))}
}
