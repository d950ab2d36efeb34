package sqlerasure

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

// CodeStore is an erasure.CodeStore in a SQL database: the table
// <prefix>erasure_codes, which belongs to the Store's schema (migration
// component "erasure"): the codes confirm requests and live beside them.
// It is safe for concurrent use by many goroutines and by many processes
// sharing the database.
type CodeStore struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  codeQueries
}

var _ erasure.CodeStore = (*CodeStore)(nil)

// NewCodeStore returns a CodeStore over db, a database of dialect d, as
// New does for a Store: it does not touch the database. Its Migrate and
// a Store's of the same prefix apply the same migrations, so either, or
// both, may be called.
func NewCodeStore(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*CodeStore, error) {
	b, err := schema.Open(db, d, opts...)
	if err != nil {
		return nil, renameOp(err, "sqlerasure.NewCodeStore")
	}
	return &CodeStore{b: b, st: b.Stmt, q: buildCodeQueries(b.D, b.Prefix)}, nil
}

// renameOp sets the Op of an *erasure.Error from sqlbase.Schema.Open.
func renameOp(err error, op string) error {
	var ee *erasure.Error
	if errors.As(err, &ee) {
		ee.Op = op
	}
	return err
}

// Migrate creates or updates the tables of the Store and the CodeStore.
// It is idempotent and safe to run from several processes at once, and
// behind PgBouncer.
func (c *CodeStore) Migrate(ctx context.Context) error { return c.b.Migrate(ctx) }

// Close releases the CodeStore's prepared statements; the *sql.DB stays
// open. A CodeStore may be used after Close.
func (c *CodeStore) Close() error { return c.b.Close() }

type codeQueries struct {
	put, attempt, attemptRead, get, del, due, mark, exists string
	touch                                                  string
}

const codeCols = "request_id, hash, created_us, expires_us, attempts, reminded_us"

func buildCodeQueries(d dialect.Dialect, p string) codeQueries {
	t := p + "erasure_codes"
	q := codeQueries{
		get:     d.Rebind("SELECT " + codeCols + " FROM " + t + " WHERE request_id = ?"),
		attempt: d.Rebind("UPDATE " + t + " SET attempts = attempts + 1 WHERE request_id = ?"),
		del:     d.Rebind("DELETE FROM " + t + " WHERE request_id = ?"),
		due: d.Rebind("SELECT " + codeCols + " FROM " + t +
			" WHERE reminded_us IS NULL AND created_us <= ? ORDER BY created_us, request_id LIMIT ?"),
		mark:   d.Rebind("UPDATE " + t + " SET reminded_us = ? WHERE request_id = ?"),
		exists: d.Rebind("SELECT 1 FROM " + t + " WHERE request_id = ?"),
	}
	ins := "INSERT INTO " + t + " (" + codeCols + ") VALUES (?, ?, ?, ?, ?, ?)"
	switch d {
	case dialect.MySQL:
		q.put = ins + " ON DUPLICATE KEY UPDATE hash = VALUES(hash), created_us = VALUES(created_us)," +
			" expires_us = VALUES(expires_us), attempts = VALUES(attempts), reminded_us = VALUES(reminded_us)"
	default:
		q.put = d.Rebind(ins + " ON CONFLICT (request_id) DO UPDATE SET hash = excluded.hash, created_us = excluded.created_us," +
			" expires_us = excluded.expires_us, attempts = excluded.attempts, reminded_us = excluded.reminded_us")
	}
	if d == dialect.Postgres {
		// One statement: the increment and the row as counted.
		q.attemptRead = d.Rebind("UPDATE " + t + " SET attempts = attempts + 1 WHERE request_id = ? RETURNING " + codeCols)
	}
	if d == dialect.SQLite {
		q.touch = "UPDATE " + t + " SET attempts = attempts WHERE 1 = 0"
	}
	return q
}

func scanCode(row scanner) (erasure.Code, error) {
	var c erasure.Code
	var created, expires int64
	var reminded sql.NullInt64
	if err := row.Scan(&c.Request, &c.Hash, &created, &expires, &c.Attempts, &reminded); err != nil {
		return erasure.Code{}, err
	}
	c.Hash = append([]byte(nil), c.Hash...)
	c.Created, c.Expires = sqlbase.FromMicros(created), sqlbase.FromMicros(expires)
	if reminded.Valid {
		c.Reminded = sqlbase.FromMicros(reminded.Int64)
	}
	return c, nil
}

// PutCode implements erasure.CodeStore: one upsert on the primary key,
// request_id, replacing every column of an existing code.
func (c *CodeStore) PutCode(ctx context.Context, code erasure.Code) error {
	const op = "PutCode"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if code.Request == "" {
		return fieldErr(op, "request", "empty request ID")
	}
	if err := checkLen(op, "request", code.Request, MaxIDLen); err != nil {
		return err
	}
	if err := checkLen(op, "hash", string(code.Hash), MaxHashLen); err != nil {
		return err
	}
	hash := code.Hash
	if hash == nil {
		hash = []byte{}
	}
	err := sqlbase.Retry(ctx, func() error {
		_, err := c.st.Exec(ctx, c.q.put, code.Request, hash, sqlbase.Micros(code.Created), sqlbase.Micros(code.Expires),
			code.Attempts, micros(code.Reminded))
		return err
	})
	return storeErr(op, err)
}

// Attempt implements erasure.CodeStore: UPDATE … SET attempts = attempts
// + 1, which the row lock makes count every concurrent attempt, and the
// row as counted: from the same statement (RETURNING) on PostgreSQL,
// read back in the same transaction on MySQL/MariaDB and SQLite.
func (c *CodeStore) Attempt(ctx context.Context, request string) (erasure.Code, error) {
	const op = "Attempt"
	if err := checkCtx(op, ctx); err != nil {
		return erasure.Code{}, err
	}
	var out erasure.Code
	var err error
	if c.q.attemptRead != "" {
		err = sqlbase.Retry(ctx, func() error {
			var err error
			out, err = scanCode(c.st.QueryRow(ctx, c.q.attemptRead, request))
			return err
		})
	} else {
		err = runTx(ctx, c.b, c.q.touch, func(tx *sql.Tx) error {
			res, err := c.st.TxExec(ctx, tx, c.q.attempt, request)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				return sql.ErrNoRows
			}
			out, err = scanCode(c.st.TxQueryRow(ctx, tx, c.q.get, request))
			return err
		})
	}
	if errors.Is(err, sql.ErrNoRows) {
		return erasure.Code{}, condErr(op, erasure.ErrNotFound, "")
	}
	if err != nil {
		return erasure.Code{}, storeErr(op, err)
	}
	return out, nil
}

// DeleteCode implements erasure.CodeStore: one DELETE.
func (c *CodeStore) DeleteCode(ctx context.Context, request string) error {
	const op = "DeleteCode"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	err := sqlbase.Retry(ctx, func() error {
		_, err := c.st.Exec(ctx, c.q.del, request)
		return err
	})
	return storeErr(op, err)
}

// DueReminders implements erasure.CodeStore: one query on an index of the
// codes not yet reminded, by creation time. A limit below 1 is an error
// wrapping erasure.ErrInvalid.
func (c *CodeStore) DueReminders(ctx context.Context, createdBefore time.Time, limit int) ([]erasure.Code, error) {
	const op = "DueReminders"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if limit < 1 {
		return nil, fieldErr(op, "limit", "must be 1 or more")
	}
	rows, err := c.st.Query(ctx, c.q.due, sqlbase.Micros(createdBefore), limit)
	if err != nil {
		return nil, storeErr(op, err)
	}
	defer rows.Close()
	var out []erasure.Code
	for rows.Next() {
		code, err := scanCode(rows)
		if err != nil {
			return nil, storeErr(op, err)
		}
		out = append(out, code)
	}
	return out, storeErr(op, rows.Err())
}

// MarkReminded implements erasure.CodeStore: one UPDATE; when it reports
// no row (MySQL leaves out a row it did not change), a read tells an
// unknown request from a time already set.
func (c *CodeStore) MarkReminded(ctx context.Context, request string, at time.Time) error {
	const op = "MarkReminded"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	var n int64
	err := sqlbase.Retry(ctx, func() error {
		res, err := c.st.Exec(ctx, c.q.mark, micros(at), request)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return storeErr(op, err)
	}
	if n == 1 {
		return nil
	}
	var one int
	err = c.st.QueryRow(ctx, c.q.exists, request).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return condErr(op, erasure.ErrNotFound, "")
	}
	return storeErr(op, err)
}
