package sqlaudit

import (
	"context"
	"database/sql"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
)

// Append implements audit.Store. It runs one transaction:
//
//  1. take the append lock: SELECT size, root FROM <prefix>audit_head …
//     FOR UPDATE on PostgreSQL and MySQL; on SQLite, a write of the head row
//     first (UPDATE … SET size = size), which takes the database's write
//     lock before anything is read, whether or not the DSN asks for
//     BEGIN IMMEDIATE, then the read;
//  2. call fn with the head and a tlog.HashReader that reads in the
//     transaction (several indexes per query, each read at most once),
//     and is an audit.SaltReader whose salts are created in it;
//  3. check the Batch (see audit.Appender) and write it: on PostgreSQL one
//     statement inserts the entries and the hashes (unnest of arrays) and
//     moves the head; on MySQL and SQLite multi-row INSERTs, chunked as
//     the package doc says, then an UPDATE of the head;
//  4. commit.
//
// If the database aborts the transaction to break a deadlock or a
// serialization failure, Append runs it again, fn included, up to five
// times in all.
func (s *Store) Append(ctx context.Context, fn audit.AppendFunc) error {
	return sqlbase.Retry(ctx, func() error { return s.appendOnce(ctx, fn) })
}

func (s *Store) appendOnce(ctx context.Context, fn audit.AppendFunc) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return storeErr("append", err)
	}
	// Rolls back on every path but a commit, a panic in fn included, so
	// the lock is never left held.
	defer tx.Rollback()
	wrote, err := s.appendIn(ctx, tx, fn, false)
	if err != nil || !wrote {
		return err
	}
	if err := tx.Commit(); err != nil {
		return storeErr("append", err)
	}
	return nil
}

// Tx returns an audit.SaltAppender whose Append runs inside tx, a
// transaction that the caller began on the Store's database: an audit
// entry then commits or rolls back with the host's own writes, in one
// transaction (audit.Log.AppendTx). Append takes the same append lock as
// Store.Append, in tx, so the lock is held until the caller commits or
// rolls back tx: keep such transactions short, as every other append of
// the log waits for them.
//
// Append never commits or rolls back tx, and never retries: a deadlock or
// serialization failure is returned (wrapped, as a *dialect.ServerError
// code), and the caller retries its whole transaction. It calls fn and
// writes the batch under a savepoint, rolled back unless the batch is
// written, so a refused batch (audit.ErrConflict) or an error of fn
// leaves tx as it was (the append lock aside) and usable, with none of the
// salts fn created through the audit.SaltReader.
//
// On PostgreSQL at REPEATABLE READ or SERIALIZABLE, the lock fails with a
// serialization failure if another process appended after tx took its
// snapshot. On SQLite, begin tx with BEGIN IMMEDIATE (modernc.org/sqlite:
// _txlock=immediate in the DSN); a deferred transaction that has already
// read may fail with SQLITE_BUSY when Append asks for the write lock.
//
// The Appender is an audit.SaltAppender: its Salt does what Store.Salt
// does, inside tx, and audit.Log.AppendTx creates a new subject's salt
// through it. That matters on SQLite, which has one writer at a time: while
// tx holds the write lock, a write by any other connection waits for tx to
// end, and fails when the busy timeout expires if tx waits for it in turn.
// A salt created in tx is rolled back with tx: a caller must not keep a
// pseudonym derived from it (one whose salt equals fresh) beyond tx.
//
// Like tx itself, the Appender is for one goroutine at a time.
func (s *Store) Tx(tx *sql.Tx) audit.SaltAppender { return &txAppender{s: s, tx: tx} }

var _ audit.SaltAppender = (*txAppender)(nil)

type txAppender struct {
	s  *Store
	tx *sql.Tx
}

func (a *txAppender) Append(ctx context.Context, fn audit.AppendFunc) error {
	if a.tx == nil {
		return condErr("append", audit.ErrInvalid, "Tx needs a transaction")
	}
	_, err := a.s.appendIn(ctx, a.tx, fn, true)
	return err
}

// Salt does what Store.Salt does, in the Appender's transaction; see Tx.
// On MySQL the read after a lost insert race is a locking read, which sees
// the winner's salt whatever tx's snapshot.
func (a *txAppender) Salt(ctx context.Context, ref, fresh []byte) ([]byte, error) {
	if a.tx == nil {
		return nil, condErr("salt", audit.ErrInvalid, "Tx needs a transaction")
	}
	return a.s.salt(ctx, txRunner{a.s, a.tx}, a.s.q.saltGetLocked, ref, fresh)
}

// txRunner runs the Store's prepared statements in a transaction.
type txRunner struct {
	s  *Store
	tx *sql.Tx
}

func (r txRunner) QueryRow(ctx context.Context, q string, args ...any) sqlstmt.Row {
	return r.s.txQueryRow(ctx, r.tx, q, args...)
}

func (r txRunner) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return r.s.txExec(ctx, r.tx, q, args...)
}

// appendIn runs an append in tx and reports whether it wrote anything.
// With sp, the writes run under a savepoint, rolled back if they fail.
func (s *Store) appendIn(ctx context.Context, tx *sql.Tx, fn audit.AppendFunc, sp bool) (bool, error) {
	if s.q.touchHead != "" {
		res, err := s.txExec(ctx, tx, s.q.touchHead)
		if err != nil {
			return false, storeErr("append", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return false, storeErr("append", err)
		} else if n != 1 {
			return false, headErr("append", sql.ErrNoRows)
		}
	}
	var size int64
	var root []byte
	if err := s.txQueryRow(ctx, tx, s.q.lockHead).Scan(&size, &root); err != nil {
		return false, headErr("append", err)
	}
	head, err := makeHead(size, root)
	if err != nil {
		return false, err
	}

	// In a caller's transaction, fn's salts (SaltReader) and the batch
	// are written under a savepoint, rolled back unless both are; in the
	// Store's own, the transaction is rolled back.
	if sp {
		if _, err := tx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
			return false, storeErr("append", err)
		}
	}
	wrote, err := s.appendLocked(ctx, tx, head, fn)
	if sp {
		if err != nil || !wrote {
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+savepoint); rerr != nil {
				if err == nil {
					err = storeErr("append", rerr)
				}
				return false, err
			}
		}
		if _, rerr := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+savepoint); rerr != nil && err == nil {
			err = storeErr("append", rerr)
		}
	}
	if err != nil {
		return false, err
	}
	return wrote, nil
}

// appendLocked calls fn under the append lock and writes its batch; it
// reports whether it wrote anything (salts included).
func (s *Store) appendLocked(ctx context.Context, tx *sql.Tx, head audit.Head, fn audit.AppendFunc) (bool, error) {
	r := &txHashReader{ctx: ctx, s: s, tx: tx, seen: map[int64]tlog.Hash{}}
	b, err := fn(head, r)
	r.done = true
	if err != nil {
		return false, err
	}
	if b == nil {
		return false, nil
	}
	if err := checkBatch(head, b); err != nil {
		return false, err
	}
	if len(b.Entries) == 0 {
		return false, nil // nothing to write; the head stays as it is
	}
	if err := s.write(ctx, tx, head, b); err != nil {
		return false, err
	}
	return true, nil
}

// checkBatch checks b against the head it was computed from, as the
// audit.Appender contract says, and the entries against the Store's limits.
func checkBatch(h audit.Head, b *audit.Batch) error {
	n := int64(len(b.Entries))
	if b.Size != h.Size+n {
		return condErr("append", audit.ErrConflict, "batch of %d entries moves the head from %d to %d", n, h.Size, b.Size)
	}
	for i, e := range b.Entries {
		if e.Index != h.Size+int64(i) {
			return condErr("append", audit.ErrConflict, "batch entry %d has index %d, want %d", i, e.Index, h.Size+int64(i))
		}
		switch {
		case e.Body == nil:
			return condErr("append", audit.ErrInvalid, "entry %d has no body", e.Index)
		case len(e.Body) > MaxBodyLen:
			return condErr("append", audit.ErrInvalid, "entry %d has a body of %d bytes, more than %d", e.Index, len(e.Body), MaxBodyLen)
		case len(e.Subject) > MaxSubjectLen:
			return condErr("append", audit.ErrInvalid, "entry %d has a subject of %d bytes, more than %d", e.Index, len(e.Subject), MaxSubjectLen)
		case len(e.Actor) > MaxActorLen:
			return condErr("append", audit.ErrInvalid, "entry %d has an actor of %d bytes, more than %d", e.Index, len(e.Actor), MaxActorLen)
		}
	}
	if want := tlog.StoredHashCount(b.Size) - tlog.StoredHashCount(h.Size); int64(len(b.Hashes)) != want {
		return condErr("append", audit.ErrConflict, "batch to size %d has %d hashes, want %d", b.Size, len(b.Hashes), want)
	}
	if n == 0 && b.Root != h.Root {
		return condErr("append", audit.ErrConflict, "empty batch changes the root at size %d", h.Size)
	}
	return nil
}

// write writes a checked batch in tx and moves the head.
func (s *Store) write(ctx context.Context, tx *sql.Tx, h audit.Head, b *audit.Batch) error {
	var moved int64
	if s.d == dialect.Postgres {
		times := make([]int64, len(b.Entries))
		subjects := make([][]byte, len(b.Entries))
		actors := make([][]byte, len(b.Entries))
		bodies := make([][]byte, len(b.Entries))
		for i, e := range b.Entries {
			times[i], subjects[i], actors[i], bodies[i] = sqlbase.Micros(e.Time), e.Subject, e.Actor, e.Body
		}
		res, err := s.txExec(ctx, tx, s.q.pgWrite,
			h.Size, s.b.Arrays.Int64s(times), s.b.Arrays.Byteas(subjects), s.b.Arrays.Byteas(actors), s.b.Arrays.Byteas(bodies),
			tlog.StoredHashIndex(0, h.Size), s.hashArray(b.Hashes),
			b.Size, b.Root[:], h.Size)
		if err != nil {
			return writeErr(err)
		}
		if moved, err = res.RowsAffected(); err != nil {
			return writeErr(err)
		}
	} else {
		if err := s.insertEntries(ctx, tx, b.Entries); err != nil {
			return writeErr(err)
		}
		if err := s.insertHashes(ctx, tx, tlog.StoredHashIndex(0, h.Size), b.Hashes); err != nil {
			return writeErr(err)
		}
		res, err := s.txExec(ctx, tx, s.q.setHead, b.Size, b.Root[:], h.Size)
		if err != nil {
			return writeErr(err)
		}
		if moved, err = res.RowsAffected(); err != nil {
			return writeErr(err)
		}
	}
	if moved != 1 {
		// Not reachable while the head is locked; a safeguard.
		return condErr("append", audit.ErrConflict, "the head moved from %d during the append", h.Size)
	}
	return nil
}

func writeErr(err error) error {
	if dialect.IsUniqueViolation(err) {
		return condErr("append", audit.ErrConflict, "an index of the batch is already stored")
	}
	return storeErr("append", err)
}

// insertEntries writes entries with multi-row INSERTs of at most
// s.chunks.entries rows and about chunkBytes of data each.
func (s *Store) insertEntries(ctx context.Context, tx *sql.Tx, es []audit.StoredEntry) error {
	for len(es) > 0 {
		n, size := 0, 0
		for n < len(es) && n < s.chunks.entries && (n == 0 || size+len(es[n].Body) <= chunkBytes) {
			size += len(es[n].Body) + len(es[n].Subject) + len(es[n].Actor)
			n++
		}
		args := make([]any, 0, 5*n)
		for _, e := range es[:n] {
			args = append(args, e.Index, sqlbase.Micros(e.Time), nullBytes(e.Subject), nullBytes(e.Actor), e.Body)
		}
		q := "INSERT INTO " + s.q.entriesT + " (" + entryCols + ") VALUES " + placeholders(n, 5)
		if err := s.execChunk(ctx, tx, q, fixedSize(n, s.chunks.entries), args); err != nil {
			return err
		}
		es = es[n:]
	}
	return nil
}

// insertHashes writes hashes at consecutive storage indexes from first.
func (s *Store) insertHashes(ctx context.Context, tx *sql.Tx, first int64, hs []tlog.Hash) error {
	for len(hs) > 0 {
		n := min(len(hs), s.chunks.hashes)
		args := make([]any, 0, 2*n)
		for i := range hs[:n] {
			args = append(args, first+int64(i), hs[i][:])
		}
		q := "INSERT INTO " + s.q.hashesT + " (idx, hash) VALUES " + placeholders(n, 2)
		if err := s.execChunk(ctx, tx, q, fixedSize(n, s.chunks.hashes), args); err != nil {
			return err
		}
		first += int64(n)
		hs = hs[n:]
	}
	return nil
}

// fixedSize reports whether a chunk of n rows, of at most max, is of one
// of the sizes kept prepared: max itself (the full chunks of a large
// batch) and the powers of two (the group commit's batches, which under
// load hold as many entries as the instance has callers), at most
// 1 + log2(max) statements per table and connection.
func fixedSize(n, max int) bool { return n == max || n&(n-1) == 0 }

// execChunk runs a chunk's INSERT: prepared and kept when the chunk is
// of a fixed size (its text recurs), unprepared otherwise (on MySQL a
// round trip more), so that the server keeps a bounded number of prepared
// statements per connection.
func (s *Store) execChunk(ctx context.Context, tx *sql.Tx, q string, keep bool, args []any) error {
	var err error
	if keep {
		_, err = s.txExec(ctx, tx, q, args...)
	} else {
		_, err = tx.ExecContext(ctx, q, args...)
	}
	return err
}

// txExec runs one of the Store's statements in tx.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	return s.st.TxExec(ctx, tx, q, args...)
}

// txQueryRow runs one of the Store's queries in tx.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) sqlstmt.Row {
	return s.st.TxQueryRow(ctx, tx, q, args...)
}

func (s *Store) txQuery(tx *sql.Tx) rowsFunc {
	return func(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
		return s.st.TxQuery(ctx, tx, q, args...)
	}
}

// txHashReader is the tlog.HashReader an AppendFunc gets: it reads in the
// append's transaction, under the lock, and keeps what it read, so that
// asking again costs no query.
type txHashReader struct {
	ctx  context.Context
	s    *Store
	tx   *sql.Tx
	seen map[int64]tlog.Hash
	done bool // fn returned: the reader is no longer valid
}

// Salts implements audit.SaltReader in the append's transaction. The
// append lock is held, so no other append creates salts meanwhile; a
// Store.Salt outside an append may, and the insert that does nothing on a
// duplicate, then a read of the latest committed salt, agrees with it.
func (r *txHashReader) Salts(refs, fresh [][]byte) ([][]byte, error) {
	if r.done {
		return nil, condErr("salt", audit.ErrInvalid, "Salts called after the append function returned")
	}
	if len(refs) != len(fresh) {
		return nil, condErr("salt", audit.ErrInvalid, "%d refs and %d fresh salts", len(refs), len(fresh))
	}
	for i := range refs {
		if err := checkRef("salt", refs[i]); err != nil {
			return nil, err
		}
		if len(fresh[i]) == 0 || len(fresh[i]) > MaxSaltLen {
			return nil, condErr("salt", audit.ErrInvalid, "a salt must be 1 to %d bytes", MaxSaltLen)
		}
	}
	return r.s.txSalts(r.ctx, r.tx, refs, fresh)
}

func (r *txHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	var missing []int64
	for _, i := range indexes {
		if _, ok := r.seen[i]; !ok {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		got, err := r.s.readHashes(r.ctx, r.s.txQuery(r.tx), missing, true)
		if err != nil {
			return nil, err
		}
		for i, h := range got {
			r.seen[i] = h
		}
	}
	return ordered(indexes, r.seen)
}

// hashArray is hs as a bytea[] argument (package pgarray).
func (s *Store) hashArray(hs []tlog.Hash) any {
	v := make([][]byte, len(hs))
	for i := range hs {
		v[i] = hs[i][:]
	}
	return s.b.Arrays.Byteas(v)
}
