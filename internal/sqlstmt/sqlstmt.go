// Package sqlstmt keeps a SQL store's prepared statements: each query is
// prepared on first use and kept, and database/sql then prepares it once
// per pooled connection (again on a new connection after one dies).
//
// A Cache made with prepare false prepares nothing and runs every query
// directly. The SQL stores use that on PostgreSQL: pgx already keeps a
// statement cache per connection in its default mode, and a store that
// prepares named statements itself breaks behind PgBouncer in transaction
// mode, where consecutive statements of one connection may reach different
// servers.
package sqlstmt

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"
)

// Cache holds the prepared statements of one store. It is safe for
// concurrent use.
type Cache struct {
	db      *sql.DB
	prepare bool
	m       sync.Map // query text → *sql.Stmt
	pending sync.Map // query text → struct{}: being prepared in the background
	// mu orders Close against the background preparations: one that
	// began before a Close closes its statement instead of caching it.
	mu  sync.Mutex
	gen uint64 // counts the Closes
	// bg counts the background preparations begun since the last Close,
	// and stop cancels them; Close swaps both under mu and waits on the
	// old bg, so that no preparation still opens a connection once
	// Close has returned (and the host closes the database, or removes
	// the directory of its SQLite file).
	bg    *sync.WaitGroup
	stop  context.CancelFunc
	bgCtx context.Context
}

// bgPrepareTimeout bounds a background preparation's wait for a
// connection.
const bgPrepareTimeout = time.Minute

// closeWait bounds Close's wait for the background preparations it has
// cancelled. Drivers that honour the context (pgx, go-sql-driver/mysql,
// modernc's SQLite) end at once; a driver that ignores it must not hang
// the host's shutdown, and its late statement is closed, not cached (see
// gen).
const closeWait = 2 * time.Second

// New returns an empty Cache over db that prepares statements when prepare
// is true and runs every query directly otherwise.
func New(db *sql.DB, prepare bool) *Cache {
	c := &Cache{db: db, prepare: prepare}
	c.bgCtx, c.stop = context.WithCancel(context.Background())
	c.bg = new(sync.WaitGroup)
	return c
}

// Stmt returns the prepared statement for query, preparing it on first use.
// A failed preparation is returned, not retried unprepared: it is the error
// the query itself would give (a missing table before a migration, a server
// that is down), and one round trip is enough to learn it.
func (c *Cache) Stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// Row is a single-row result: *sql.Row, or the error of a failed preparation.
type Row interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// QueryRow runs a prepared query expected to return at most one row.
func (c *Cache) QueryRow(ctx context.Context, query string, args ...any) Row {
	if !c.prepare {
		return c.db.QueryRowContext(ctx, query, args...)
	}
	st, err := c.Stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// Query runs a prepared query.
func (c *Cache) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if !c.prepare {
		return c.db.QueryContext(ctx, query, args...)
	}
	st, err := c.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// Exec runs a prepared statement.
func (c *Cache) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if !c.prepare {
		return c.db.ExecContext(ctx, query, args...)
	}
	st, err := c.Stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txStmt returns query's statement in tx: the cached one, bound to tx
// (database/sql prepares it again on tx's connection if need be), or,
// while the query is not cached yet, one prepared on tx's connection for
// this call alone, which tx closes when it ends; the Cache then prepares
// the query on the database in the background, for the calls after.
// Preparing on the database from inside a transaction would wait for a
// second connection, and with a pool of one connection
// (db.SetMaxOpenConns(1), as SQLite hosts often have) wait for ever.
func (c *Cache) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(query); ok {
		return tx.StmtContext(ctx, st.(*sql.Stmt)), nil
	}
	if _, busy := c.pending.LoadOrStore(query, struct{}{}); !busy {
		c.mu.Lock()
		gen, bg, bgCtx := c.gen, c.bg, c.bgCtx
		bg.Add(1)
		c.mu.Unlock()
		go func() {
			defer bg.Done()
			defer c.pending.Delete(query)
			ctx, cancel := context.WithTimeout(bgCtx, bgPrepareTimeout)
			defer cancel()
			st, err := c.db.PrepareContext(ctx, query)
			if err != nil {
				return // left for the next call to meet: it prepares again
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.gen != gen {
				st.Close() // the Cache was closed meanwhile
				return
			}
			if _, loaded := c.m.LoadOrStore(query, st); loaded {
				st.Close()
			}
		}()
	}
	return tx.PrepareContext(ctx, query)
}

// TxQueryRow runs query in tx, on its prepared statement when the Cache
// prepares.
func (c *Cache) TxQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) Row {
	if !c.prepare {
		return tx.QueryRowContext(ctx, query, args...)
	}
	st, err := c.txStmt(ctx, tx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// TxQuery runs query in tx, on its prepared statement when the Cache
// prepares.
func (c *Cache) TxQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if !c.prepare {
		return tx.QueryContext(ctx, query, args...)
	}
	st, err := c.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// TxExec runs query in tx, on its prepared statement when the Cache
// prepares.
func (c *Cache) TxExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if !c.prepare {
		return tx.ExecContext(ctx, query, args...)
	}
	st, err := c.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// Close closes every statement; the Cache prepares them again if used
// after. Call it when no call is in flight: a statement closed under a
// running query fails it. Close cancels the statements still being
// prepared in the background (see TxExec) and waits for them, so that
// none opens a connection after it returns; one ready meanwhile is
// closed, not cached. A driver that ignores the cancellation holds Close
// for at most two seconds; the statement it prepares after that is
// closed as soon as it is ready.
func (c *Cache) Close() error {
	c.mu.Lock()
	c.gen++ // a statement being prepared in the background is closed, not cached
	bg, stop := c.bg, c.stop
	c.bg = new(sync.WaitGroup)
	c.bgCtx, c.stop = context.WithCancel(context.Background())
	c.mu.Unlock()
	stop()
	done := make(chan struct{})
	go func() { bg.Wait(); close(done) }() // each takes mu as it ends: wait outside it
	t := time.NewTimer(closeWait)
	select {
	case <-done:
	case <-t.C:
	}
	t.Stop()

	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	c.m.Range(func(k, v any) bool {
		c.m.Delete(k)
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}
