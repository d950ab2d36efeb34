// Package migrate applies a component's embedded, versioned SQL migrations to
// a database, once, even when several processes start at the same time.
//
// # Files
//
// A component keeps one directory of migrations per dialect, embedded in
// the binary (a go:embed directive) and read with [Load]. Each file is named NNNN_name.sql: a version
// of at least four decimal digits, an underscore, a name of lower-case
// letters, digits and underscores. Versions start at 1 and have no gaps. Files
// not ending in .sql are ignored, so a directory can hold a README.
//
// A file holds one or more statements. Lines whose first non-blank characters
// are "--" are comments and are dropped; the rest is split after every ';'
// that ends a line (trailing blanks allowed). The driver runs each statement
// on its own, so no driver needs multi-statement support (MySQL's does not by
// default). A statement must therefore not contain a ';' at the end of a line
// (as a trigger body would); put such bodies on one line.
//
// Table names come from a component's options and reach the SQL through
// [Render]: the file says {{prefix}}consent_events, and Render substitutes
// the validated prefix.
//
// # Running
//
// [Run] records what it applied in a version table the caller names (the
// stores use <prefix>schema_version, so gdpr_schema_version by default),
// with columns component, version, name and applied_at in Unix
// milliseconds; it is created when missing. Run applies the versions above
// the highest recorded one, in order, under a lock that makes concurrent
// callers in any number of processes apply each version exactly once; the
// later ones find nothing to do:
//
//   - PostgreSQL: every migration is one transaction (read committed) that
//     takes pg_advisory_xact_lock on a hash of the current schema's name,
//     creates the version table if need be, reads the recorded versions,
//     applies the next migration, records it and commits; Run repeats this
//     until no migration is left, and a last transaction finds none. The
//     lock ends with each transaction and nothing outlives it in the
//     session (no session lock, no prepared statement, no SET), so Run
//     works through a pooler that hands each transaction to any server
//     connection, such as PgBouncer with pool_mode = transaction (the
//     driver must not keep named prepared statements either: with pgx,
//     default_query_exec_mode=exec or simple_protocol). Callers
//     may interleave between migrations, never within one. The lock's key
//     is that of the session-level pg_advisory_lock earlier releases held
//     for the whole run, so an old and a new release still exclude each
//     other.
//   - MySQL/MariaDB: GET_LOCK on a name derived from the current database,
//     held by one dedicated connection for the whole run, asked for 60 s at
//     a time until it is granted or ctx is done (GET_LOCK names are
//     server-wide, hence the database in the name). DDL commits implicitly
//     on MySQL, so a migration whose second statement fails leaves its
//     first applied and its version unrecorded: write MySQL migrations with
//     one DDL statement per file, or make them safe to re-run. GET_LOCK is
//     session state: a pooler between Run and MySQL must keep a client's
//     session on one server connection.
//   - SQLite: the whole run is one BEGIN IMMEDIATE transaction on one
//     connection, which excludes every other writer of the database file;
//     each migration runs under a SAVEPOINT.
//
// On every dialect, when a migration fails Run returns an error naming its
// version and file (never a row value), the migrations before it stay
// applied, and — except on MySQL — the failing one leaves no trace.
package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing/fstest"
	"time"

	"github.com/gdprkit/gdpr/internal/dialect"
)

// Migration is one versioned schema change of a component.
type Migration struct {
	// Version is the migration's number, from 1 up with no gaps.
	Version int
	// Name is the part of the file name between the version and ".sql".
	Name string
	// SQL is the file's text, possibly with {{placeholders}} still in it
	// (see [Render]).
	SQL string
}

// ErrInvalid is wrapped by every error that reports a badly named,
// misnumbered or malformed migration, from [Load], [Render] and [Run].
var ErrInvalid = errors.New("migrate: invalid migrations")

// ErrNewerSchema is wrapped by [Run]'s error when the database records a
// version of the component above the last migration given, that is when a
// newer release of the program already migrated this database. A caller
// that can work with a newer schema may test for it with errors.Is and go on.
var ErrNewerSchema = errors.New("migrate: database schema is newer than this program")

var fileRE = regexp.MustCompile(`^([0-9]{4,})_([a-z0-9_]+)\.sql$`)

// Load reads the migrations in directory dir of fsys (use "." for its root)
// and returns them ordered by version. Every file ending in .sql must be
// named NNNN_name.sql; versions must run from 1 with no gap and no
// duplicate, and a file must hold some SQL. Subdirectories and other files
// are ignored. Errors about the files wrap [ErrInvalid]; errors reading fsys
// are returned as they come, wrapped.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("migrate: read %s: %w", dir, err)
	}
	byVersion := map[int]string{}
	var migs []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("%w: %s: want NNNN_name.sql with name in [a-z0-9_]", ErrInvalid, path.Join(dir, e.Name()))
		}
		v, err := strconv.Atoi(m[1])
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%w: %s: version must be a positive number", ErrInvalid, path.Join(dir, e.Name()))
		}
		if prev, dup := byVersion[v]; dup {
			return nil, fmt.Errorf("%w: %s and %s have the same version %d", ErrInvalid, prev, e.Name(), v)
		}
		byVersion[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("migrate: read %s: %w", path.Join(dir, e.Name()), err)
		}
		if len(Statements(string(b))) == 0 {
			return nil, fmt.Errorf("%w: %s holds no SQL statement", ErrInvalid, path.Join(dir, e.Name()))
		}
		migs = append(migs, Migration{Version: v, Name: m[2], SQL: string(b)})
	}
	sort.Slice(migs, func(i, j int) bool { return migs[i].Version < migs[j].Version })
	if err := checkSequence(migs); err != nil {
		return nil, err
	}
	return migs, nil
}

func checkSequence(migs []Migration) error {
	for i, m := range migs {
		if m.Version != i+1 {
			return fmt.Errorf("%w: expected version %d, found %d (%s): versions start at 1 with no gaps", ErrInvalid, i+1, m.Version, m.Name)
		}
	}
	return nil
}

var (
	placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)
	varValueRE    = regexp.MustCompile(`^[a-z0-9_]*$`)
)

// Render returns sql with every {{name}} placeholder replaced by vars[name]
// (blanks inside the braces are allowed). It returns an error wrapping
// [ErrInvalid] when a placeholder has no entry in vars, when "{{" or "}}" is
// left over that is not a well-formed placeholder, or when a value used is not
// made only of lower-case ASCII letters, digits and underscores (possibly
// empty): values are pieces of identifiers such as a table prefix, and this
// rule keeps them from ever carrying SQL. Entries of vars that sql does not
// use are ignored.
func Render(sql string, vars map[string]string) (string, error) {
	var err error
	out := placeholderRE.ReplaceAllStringFunc(sql, func(p string) string {
		name := placeholderRE.FindStringSubmatch(p)[1]
		v, ok := vars[name]
		switch {
		case err != nil:
		case !ok:
			err = fmt.Errorf("%w: unknown placeholder {{%s}}", ErrInvalid, name)
		case !varValueRE.MatchString(v):
			err = fmt.Errorf("%w: value of {{%s}} must match ^[a-z0-9_]*$", ErrInvalid, name)
		}
		return v
	})
	if err != nil {
		return "", err
	}
	if strings.Contains(out, "{{") || strings.Contains(out, "}}") {
		return "", fmt.Errorf("%w: malformed placeholder (want {{name}})", ErrInvalid)
	}
	return out, nil
}

// RenderAll returns a copy of migs with [Render] applied to each SQL text.
// Its error names the failing migration and wraps [ErrInvalid].
func RenderAll(migs []Migration, vars map[string]string) ([]Migration, error) {
	out := make([]Migration, len(migs))
	for i, m := range migs {
		s, err := Render(m.SQL, vars)
		if err != nil {
			return nil, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		m.SQL = s
		out[i] = m
	}
	return out, nil
}

var stmtEndRE = regexp.MustCompile(`;[ \t\r]*(\n|$)`)

// Statements splits the text of a migration file into statements by the rule
// in the package doc: comment lines (first non-blank characters "--") are
// dropped, and the text is cut after each ';' that ends a line. The ';' is
// removed; blank statements are left out.
func Statements(sql string) []string {
	lines := strings.Split(sql, "\n")
	kept := lines[:0:0]
	for _, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "--") {
			continue
		}
		kept = append(kept, l)
	}
	text := strings.Join(kept, "\n")
	var stmts []string
	for _, part := range stmtEndRE.Split(text, -1) {
		if s := strings.TrimSpace(part); s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

// Run brings component's schema up to date on db: it applies, in order,
// each migration of migs whose version is above the highest that
// the version table records for component, and records it. migs must be
// numbered from 1 with no gaps, as [Load] returns them, with placeholders
// already rendered. component identifies the set of tables migs manage (at
// most 100 bytes, not empty); a component whose table names depend on an
// option such as a prefix should include it, e.g. "consent:" + prefix.
//
// table is the version table (see the package doc); it must match
// ^[a-z_][a-z0-9_]{0,62}$, or Run returns an error wrapping [ErrInvalid].
//
// Run is idempotent and safe to call concurrently from any number of
// goroutines and processes, on PostgreSQL also through PgBouncer in
// transaction mode: see the package doc for the lock each dialect uses and
// what a failure leaves behind. The versions already recorded must
// carry the names of the corresponding migrations, or Run returns an error
// wrapping [ErrInvalid] and applies nothing; a recorded version above
// len(migs) gives an error wrapping [ErrNewerSchema]. Run stops and returns
// ctx's error when ctx is done.
func Run(ctx context.Context, db *sql.DB, d dialect.Dialect, table, component string, migs []Migration) error {
	if !d.Valid() {
		return fmt.Errorf("%w: invalid dialect", ErrInvalid)
	}
	if dialect.ValidIdent(table) != nil {
		return fmt.Errorf("%w: version table name must match ^[a-z_][a-z0-9_]{0,62}$", ErrInvalid)
	}
	if component == "" || len(component) > 100 {
		return fmt.Errorf("%w: component name must be 1 to 100 bytes", ErrInvalid)
	}
	if err := checkSequence(migs); err != nil {
		return err
	}
	for _, m := range migs {
		if len(Statements(m.SQL)) == 0 {
			return fmt.Errorf("%w: migration %04d_%s holds no SQL statement", ErrInvalid, m.Version, m.Name)
		}
		if strings.Contains(m.SQL, "{{") {
			return fmt.Errorf("%w: migration %04d_%s has unrendered placeholders", ErrInvalid, m.Version, m.Name)
		}
	}

	if d == dialect.Postgres {
		return runPostgres(ctx, db, table, component, migs)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	r := &runner{conn: conn, d: d, v: versions{d: d, table: table, component: component}}
	defer r.close()
	if err := r.lock(ctx); err != nil {
		return fmt.Errorf("migrate %s: lock: %w", component, err)
	}
	if err := r.migrate(ctx, migs); err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	return r.finish(ctx)
}

// pgLock takes the transaction-level advisory lock that serialises Run on
// PostgreSQL. Its key is the one of the session-level lock that Run took
// in earlier releases: session and transaction advisory locks on one key
// exclude each other, so an old and a new release that start together
// still apply each version once.
const pgLock = `SELECT pg_advisory_xact_lock(hashtext('gdpr_migrate:' || COALESCE(current_schema(), '')))`

// runPostgres applies migs one transaction at a time, keeping no state in
// the session (see the package doc): it is safe behind PgBouncer in
// transaction mode.
func runPostgres(ctx context.Context, db *sql.DB, table, component string, migs []Migration) error {
	v := versions{d: dialect.Postgres, table: table, component: component}
	for {
		more, err := v.pgStep(ctx, db, migs)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", component, err)
		}
		if !more {
			return nil
		}
	}
}

// pgStep runs one transaction: lock, create the version table if need be,
// read the recorded versions, and apply and record the next migration, if
// any. more reports that one was applied, so another step may follow.
func (v versions) pgStep(ctx context.Context, db *sql.DB, migs []Migration) (more bool, err error) {
	// Read committed, whatever the session's default: each statement
	// then reads what was committed before it started, so the read after
	// the lock wait sees the previous holder's versions.
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if _, err = tx.ExecContext(ctx, pgLock); err != nil {
		return false, fmt.Errorf("lock: %w", err)
	}
	if err = v.create(ctx, tx); err != nil {
		return false, err
	}
	applied, err := v.applied(ctx, tx)
	if err != nil {
		return false, err
	}
	if err = check(applied, migs); err != nil {
		return false, err
	}
	if len(applied) == len(migs) {
		// Nothing to apply; the commit keeps a version table just created.
		if err = tx.Commit(); err != nil {
			return false, fmt.Errorf("commit: %w", err)
		}
		return false, nil
	}
	m := migs[len(applied)]
	if err = v.apply(ctx, tx, m); err != nil {
		return false, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
	}
	if err = tx.Commit(); err != nil {
		return false, fmt.Errorf("migration %04d_%s: commit: %w", m.Version, m.Name, err)
	}
	return true, nil
}

// runner runs the migrations of MySQL and SQLite on one connection that
// holds the lock (MySQL) or the transaction (SQLite) for the whole run.
type runner struct {
	conn   *sql.Conn
	d      dialect.Dialect
	v      versions
	locked bool // the lock (MySQL) or transaction (SQLite) is held
	bad    bool // the connection must not go back to the pool
}

// lock takes the cross-process lock on r.conn.
func (r *runner) lock(ctx context.Context) error {
	switch r.d {
	case dialect.MySQL:
		for {
			var got sql.NullInt64
			err := r.conn.QueryRowContext(ctx,
				`SELECT GET_LOCK(CONCAT('gdpr_migrate_', MD5(COALESCE(DATABASE(), ''))), 60)`).Scan(&got)
			if err != nil {
				// A cancelled lock wait may or may not have been granted.
				r.bad = true
				return err
			}
			if got.Valid && got.Int64 == 1 {
				r.locked = true
				return nil
			}
			if !got.Valid {
				return errors.New("GET_LOCK failed")
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			// Timed out after 60 s: another process is still migrating.
		}
	default: // SQLite
		for {
			_, err := r.conn.ExecContext(ctx, "BEGIN IMMEDIATE")
			if err == nil {
				r.locked = true
				return nil
			}
			if !sqliteBusy(err) {
				return err
			}
			// The connection has no busy_timeout: poll.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// sqliteBusy reports whether err is SQLITE_BUSY or SQLITE_LOCKED.
func sqliteBusy(err error) bool {
	var c interface{ Code() int }
	if errors.As(err, &c) {
		switch c.Code() & 0xff {
		case 5, 6:
			return true
		}
	}
	return false
}

// finish commits (SQLite), reporting an error only if the work done may
// not be durable.
func (r *runner) finish(ctx context.Context) error {
	if r.d == dialect.SQLite && r.locked {
		if _, err := r.conn.ExecContext(ctx, "COMMIT"); err != nil {
			return fmt.Errorf("migrate %s: commit: %w", r.v.component, err)
		}
		r.locked = false
	}
	return nil
}

// close releases the lock or rolls back, and returns the connection to the
// pool, or discards it when its session may still hold the lock or an open
// transaction. Failing to unlock is not an error of the run: the discarded
// session's end releases the lock.
func (r *runner) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r.locked {
		var err error
		switch r.d {
		case dialect.MySQL:
			_, err = r.conn.ExecContext(ctx, `SELECT RELEASE_LOCK(CONCAT('gdpr_migrate_', MD5(COALESCE(DATABASE(), ''))))`)
		default:
			_, err = r.conn.ExecContext(ctx, "ROLLBACK")
		}
		if err != nil {
			r.bad = true
		}
	}
	if r.bad {
		// Closing the session drops its locks and transaction.
		_ = r.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = r.conn.Close()
}

// migrate runs with the lock held.
func (r *runner) migrate(ctx context.Context, migs []Migration) error {
	if err := r.v.create(ctx, r.conn); err != nil {
		return err
	}
	applied, err := r.v.applied(ctx, r.conn)
	if err != nil {
		return err
	}
	if err := check(applied, migs); err != nil {
		return err
	}
	for _, m := range migs[len(applied):] {
		if err := r.apply(ctx, m); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

func (r *runner) apply(ctx context.Context, m Migration) error {
	if r.d == dialect.MySQL {
		return r.v.apply(ctx, r.conn, m)
	}
	// SQLite: inside the run's BEGIN IMMEDIATE.
	if _, err := r.conn.ExecContext(ctx, "SAVEPOINT gdpr_migration"); err != nil {
		return err
	}
	if err := r.v.apply(ctx, r.conn, m); err != nil {
		if _, rerr := r.conn.ExecContext(ctx, "ROLLBACK TO gdpr_migration"); rerr != nil {
			r.bad = true
			return err
		}
		// Keep what earlier migrations did: release the savepoint and
		// commit them.
		if _, rerr := r.conn.ExecContext(ctx, "RELEASE gdpr_migration"); rerr != nil {
			r.bad = true
			return err
		}
		if cerr := r.finish(ctx); cerr != nil {
			return errors.Join(err, cerr)
		}
		return err
	}
	_, err := r.conn.ExecContext(ctx, "RELEASE gdpr_migration")
	return err
}

// querier is what *sql.Conn and *sql.Tx share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// versions is a component's rows in a version table.
type versions struct {
	d         dialect.Dialect
	table     string
	component string
}

// create creates the version table when it is missing.
func (v versions) create(ctx context.Context, q querier) error {
	create := `CREATE TABLE IF NOT EXISTS ` + v.d.Quote(v.table) + ` (
	component VARCHAR(100) NOT NULL,
	version INT NOT NULL,
	name VARCHAR(200) NOT NULL,
	applied_at BIGINT NOT NULL,
	PRIMARY KEY (component, version))`
	if _, err := q.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("create %s: %w", v.table, err)
	}
	return nil
}

// applied returns the recorded names by version, checking they run 1..n.
func (v versions) applied(ctx context.Context, q querier) ([]string, error) {
	rows, err := q.QueryContext(ctx,
		v.d.Rebind(`SELECT version, name FROM `+v.d.Quote(v.table)+` WHERE component = ? ORDER BY version`),
		v.component)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", v.table, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n int
		var name string
		if err := rows.Scan(&n, &name); err != nil {
			return nil, fmt.Errorf("read %s: %w", v.table, err)
		}
		if n != len(names)+1 {
			return nil, fmt.Errorf("%w: %s records version %d after %d", ErrInvalid, v.table, n, len(names))
		}
		names = append(names, name)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", v.table, err)
	}
	return names, nil
}

// check compares the recorded names with migs.
func check(applied []string, migs []Migration) error {
	if len(applied) > len(migs) {
		return fmt.Errorf("%w: version %d recorded, this program knows %d", ErrNewerSchema, len(applied), len(migs))
	}
	for i, name := range applied {
		if migs[i].Name != name {
			return fmt.Errorf("%w: version %d is recorded as %q but the migration is named %q", ErrInvalid, i+1, name, migs[i].Name)
		}
	}
	return nil
}

// apply runs m's statements and records its version on q.
func (v versions) apply(ctx context.Context, q querier, m Migration) error {
	for i, s := range Statements(m.SQL) {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("statement %d: %w", i+1, err)
		}
	}
	insert := v.d.Rebind(`INSERT INTO ` + v.d.Quote(v.table) + ` (component, version, name, applied_at) VALUES (?, ?, ?, ?)`)
	if _, err := q.ExecContext(ctx, insert, v.component, m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("record version: %w", err)
	}
	return nil
}

// FS returns migs as files named NNNN_name.sql, for hosts that apply
// migrations with their own tool (goose, golang-migrate, atlas).
func FS(migs []Migration) fs.FS {
	m := fstest.MapFS{}
	for _, mg := range migs {
		m[fmt.Sprintf("%04d_%s.sql", mg.Version, mg.Name)] = &fstest.MapFile{Data: []byte(mg.SQL), Mode: 0o444}
	}
	return m
}
