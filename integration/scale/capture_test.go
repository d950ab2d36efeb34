package scale_test

import (
	"bytes"
	"context"
	"database/sql/driver"
	"slices"
	"sync"
	"sync/atomic"
)

// capture records the statements run through captureConnector's
// connections while it is on: the text and the bound arguments, so that
// each can be EXPLAINed afterwards as the server planned it.
type capture struct {
	on    atomic.Bool
	mu    sync.Mutex
	stmts []captured
}

type captured struct {
	query string
	args  []driver.NamedValue
}

func (c *capture) start() {
	c.mu.Lock()
	c.stmts = nil
	c.mu.Unlock()
	c.on.Store(true)
}

func (c *capture) stop() []captured {
	c.on.Store(false)
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.stmts
	c.stmts = nil
	return out
}

func (c *capture) record(query string, args []driver.NamedValue) {
	if !c.on.Load() {
		return
	}
	cp := make([]driver.NamedValue, len(args))
	for i, a := range args {
		cp[i] = a
		if b, ok := a.Value.([]byte); ok {
			cp[i].Value = bytes.Clone(b)
		}
	}
	c.mu.Lock()
	c.stmts = append(c.stmts, captured{query, cp})
	c.mu.Unlock()
}

// captureConnector wraps the pgx stdlib connector; its connections record
// every statement into c and pass everything through.
type captureConnector struct {
	base driver.Connector
	c    *capture
}

func (cc *captureConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &captureConn{Conn: conn, c: cc.c}, nil
}

func (cc *captureConnector) Driver() driver.Driver { return cc.base.Driver() }

// The interfaces pgx's *stdlib.Conn implements, which captureConn
// forwards.
type fullConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.NamedValueChecker
	driver.SessionResetter
}

type captureConn struct {
	driver.Conn
	c *capture
}

var (
	_ driver.ConnPrepareContext = (*captureConn)(nil)
	_ driver.ConnBeginTx        = (*captureConn)(nil)
	_ driver.ExecerContext      = (*captureConn)(nil)
	_ driver.QueryerContext     = (*captureConn)(nil)
	_ driver.Pinger             = (*captureConn)(nil)
	_ driver.NamedValueChecker  = (*captureConn)(nil)
	_ driver.SessionResetter    = (*captureConn)(nil)
	_ driver.Validator          = (*captureConn)(nil)
)

func (c *captureConn) full() fullConn { return c.Conn.(fullConn) }

func (c *captureConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.full().PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &captureStmt{Stmt: s, query: query, c: c.c}, nil
}

func (c *captureConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.full().BeginTx(ctx, opts)
}

func (c *captureConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.c.record(query, args)
	return c.full().ExecContext(ctx, query, args)
}

func (c *captureConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.c.record(query, args)
	return c.full().QueryContext(ctx, query, args)
}

func (c *captureConn) Ping(ctx context.Context) error             { return c.full().Ping(ctx) }
func (c *captureConn) CheckNamedValue(v *driver.NamedValue) error { return c.full().CheckNamedValue(v) }
func (c *captureConn) ResetSession(ctx context.Context) error     { return c.full().ResetSession(ctx) }
func (c *captureConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type captureStmt struct {
	driver.Stmt
	query string
	c     *capture
}

func (s *captureStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.c.record(s.query, args)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *captureStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.c.record(s.query, args)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *captureStmt) CheckNamedValue(v *driver.NamedValue) error {
	if c, ok := s.Stmt.(driver.NamedValueChecker); ok {
		return c.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// distinct returns the statements with duplicates (same text and
// arguments) removed, in first-seen order.
func distinct(stmts []captured) []captured {
	var out []captured
	for _, s := range stmts {
		if !slices.ContainsFunc(out, func(o captured) bool { return o.query == s.query && sameArgs(o.args, s.args) }) {
			out = append(out, s)
		}
	}
	return out
}

func sameArgs(a, b []driver.NamedValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i].Value, b[i].Value
		if bx, ok := x.([]byte); ok {
			by, ok := y.([]byte)
			if !ok || !bytes.Equal(bx, by) {
				return false
			}
			continue
		}
		if x != y {
			return false
		}
	}
	return true
}
