package sqlerasure

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"time"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
)

// maxRounds bounds the batches of candidates one Acquire reads.
const maxRounds = 4

// batchSize is how many candidates Acquire reads per batch to lease up to
// n requests: more than n, since several may be one subject's.
func batchSize(n int) int { return min(2*n+8, 2*erasure.MaxLimit) }

// Acquire implements erasure.Store in one transaction. It reads due
// requests (ready_us, which is next_us for verified and in-progress
// requests and NULL otherwise, not after now) whose subject has no live
// lease, in (ready_us, id) order, locking them FOR UPDATE SKIP LOCKED on
// PostgreSQL and MySQL/MariaDB, so concurrent Acquires read different
// rows instead of waiting (SQLite has one writer, whose lock the
// transaction holds). Of each subject it keeps the oldest, and for up to n
// subjects, in subject order (so two Acquires take the lease rows in one
// order and do not deadlock), it takes the lease with one conditional
// upsert on the lease table's primary key, subject_ref: it inserts the
// lease, or takes over one whose until_us is not after now, and leaves a
// live one alone. Racing upserts of one subject serialise on the key and
// the condition is evaluated on the row as committed, so one subject is
// never leased twice. On MySQL/MariaDB the token is read back to tell
// whether the upsert took the lease (rows affected would say so only
// without clientFoundRows). Up to maxRounds batches of candidates are
// read while fewer than n are leased. On SQLite a plain read first looks
// for a candidate, and only if there is one does the transaction take
// the database's write lock.
func (s *Store) Acquire(ctx context.Context, owner string, now time.Time, ttl time.Duration, n int) ([]erasure.Leased, error) {
	const op = "Acquire"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if err := checkLen(op, "owner", owner, MaxIDLen); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, fieldErr(op, "n", "must be 1 or more")
	}
	if ttl <= 0 {
		return nil, fieldErr(op, "ttl", "must be positive")
	}
	nowUS := sqlbase.Micros(now)
	until := sqlbase.Micros(now.Add(ttl))
	if s.q.touch != "" {
		// SQLite: a read, which no writer blocks, before the write lock
		// that the transaction takes first: idle workers polling for
		// work do not queue for the database's one writer.
		var id string
		err := s.st.QueryRow(ctx, s.q.anyDue, nowUS, nowUS).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		if err != nil {
			return nil, storeErr(op, err)
		}
	}
	var out []erasure.Leased
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		seen := map[string]bool{}
		var last *erasure.Request
		var lastReady int64
		k := batchSize(n)
		for round := 0; round < maxRounds && len(out) < n; round++ {
			var rows *sql.Rows
			var err error
			if last == nil {
				rows, err = s.st.TxQuery(ctx, tx, s.q.candidates, nowUS, nowUS, k)
			} else {
				rows, err = s.st.TxQuery(ctx, tx, s.q.candidatesAfter, nowUS, nowUS, lastReady, lastReady, last.ID, k)
			}
			if err != nil {
				return err
			}
			var batch []erasure.Request
			for rows.Next() {
				r, err := scanRequest(rows)
				if err != nil {
					rows.Close()
					return err
				}
				batch = append(batch, r)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(batch) == 0 {
				break
			}
			l := batch[len(batch)-1]
			last, lastReady = &l, sqlbase.Micros(l.NextAt)
			var fresh []erasure.Request // the oldest of each subject not seen yet
			for _, r := range batch {
				if !seen[r.SubjectRef] {
					seen[r.SubjectRef] = true
					fresh = append(fresh, r)
				}
			}
			for len(fresh) > 0 && len(out) < n {
				take := fresh[:min(len(fresh), n-len(out))]
				fresh = fresh[len(take):]
				slices.SortFunc(take, func(a, b erasure.Request) int {
					switch {
					case a.SubjectRef < b.SubjectRef:
						return -1
					case a.SubjectRef > b.SubjectRef:
						return 1
					}
					return 0
				})
				var got []erasure.Leased
				for _, r := range take {
					lease, ok, err := s.take(ctx, tx, r, owner, nowUS, until)
					if err != nil {
						return err
					}
					if ok {
						got = append(got, erasure.Leased{Request: r, Lease: lease})
					}
				}
				// Back in ready order.
				slices.SortFunc(got, func(a, b erasure.Leased) int {
					return compareReady(a.Request, b.Request)
				})
				out = append(out, got...)
			}
			if len(batch) < k {
				break
			}
		}
		slices.SortFunc(out, func(a, b erasure.Leased) int { return compareReady(a.Request, b.Request) })
		return nil
	})
	if err != nil {
		return nil, storeErr(op, err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func compareReady(a, b erasure.Request) int {
	if c := a.NextAt.Compare(b.NextAt); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// take tries to lease r's subject for r in tx.
func (s *Store) take(ctx context.Context, tx *sql.Tx, r erasure.Request, owner string, nowUS, until int64) (erasure.Lease, bool, error) {
	token := newToken()
	var args []any
	if s.b.D == dialect.MySQL {
		args = []any{r.SubjectRef, r.ID, owner, token, until, nowUS, r.ID, nowUS, owner, nowUS, token, nowUS, until}
	} else {
		args = []any{r.SubjectRef, r.ID, owner, token, until, nowUS}
	}
	res, err := s.st.TxExec(ctx, tx, s.q.takeLease, args...)
	if err != nil {
		return erasure.Lease{}, false, err
	}
	var ok bool
	if s.b.D == dialect.MySQL {
		var got string
		if err := s.st.TxQueryRow(ctx, tx, s.q.leaseToken, r.SubjectRef).Scan(&got); err != nil {
			return erasure.Lease{}, false, err
		}
		ok = got == token
	} else {
		n, err := res.RowsAffected()
		if err != nil {
			return erasure.Lease{}, false, err
		}
		ok = n == 1
	}
	if !ok {
		return erasure.Lease{}, false, nil
	}
	return erasure.Lease{Subject: r.SubjectRef, Request: r.ID, Owner: owner, Token: token, Until: sqlbase.FromMicros(until)}, true, nil
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// AcquireID implements erasure.Store in one transaction: it locks the
// request's row (FOR UPDATE; SQLite's write lock), then takes its
// subject's lease with Acquire's upsert. A live lease on the subject is
// erasure.ErrLeased.
func (s *Store) AcquireID(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (erasure.Leased, error) {
	const op = "AcquireID"
	if err := checkCtx(op, ctx); err != nil {
		return erasure.Leased{}, err
	}
	if err := checkLen(op, "owner", owner, MaxIDLen); err != nil {
		return erasure.Leased{}, err
	}
	if ttl <= 0 {
		return erasure.Leased{}, fieldErr(op, "ttl", "must be positive")
	}
	nowUS := sqlbase.Micros(now)
	until := sqlbase.Micros(now.Add(ttl))
	var out erasure.Leased
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := scanRequest(s.st.TxQueryRow(ctx, tx, s.q.lockOne, id))
		if errors.Is(err, sql.ErrNoRows) {
			return condErr(op, erasure.ErrNotFound, "")
		}
		if err != nil {
			return err
		}
		l, ok, err := s.take(ctx, tx, r, owner, nowUS, until)
		if err != nil {
			return err
		}
		if !ok {
			return condErr(op, erasure.ErrLeased, "")
		}
		out = erasure.Leased{Request: r, Lease: l}
		return nil
	})
	if err != nil {
		return erasure.Leased{}, storeErr(op, err)
	}
	return out, nil
}

// hold extends l to until in tx if it is held at now: its row has l's
// subject, request and token, and an until_us after now. Otherwise it
// returns erasure.ErrLeaseLost. On MySQL, whose rows affected leave out a
// matched row that the UPDATE did not change (an until equal to the
// stored one), a read tells the two apart.
func (s *Store) hold(ctx context.Context, tx *sql.Tx, op string, l erasure.Lease, now, until time.Time) error {
	nowUS, untilUS := sqlbase.Micros(now), sqlbase.Micros(until)
	args := []any{untilUS, l.Subject, l.Request, l.Token, nowUS}
	var res sql.Result
	var err error
	if tx != nil {
		res, err = s.st.TxExec(ctx, tx, s.q.holdLease, args...)
	} else {
		res, err = s.st.Exec(ctx, s.q.holdLease, args...)
	}
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	if s.b.D == dialect.MySQL && untilUS > nowUS {
		var stored int64
		var row interface{ Scan(...any) error }
		if tx != nil {
			row = s.st.TxQueryRow(ctx, tx, s.q.leaseUntil, l.Subject, l.Request, l.Token)
		} else {
			row = s.st.QueryRow(ctx, s.q.leaseUntil, l.Subject, l.Request, l.Token)
		}
		err := row.Scan(&stored)
		if err == nil && stored == untilUS {
			return nil
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
	}
	return condErr(op, erasure.ErrLeaseLost, "")
}

// Renew implements erasure.Store: one UPDATE of the lease's row where
// subject, request and token match and until_us is after now.
func (s *Store) Renew(ctx context.Context, l erasure.Lease, now, until time.Time) error {
	const op = "Renew"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	err := sqlbase.Retry(ctx, func() error { return s.hold(ctx, nil, op, l, now, until) })
	return storeErr(op, err)
}

// Release implements erasure.Store: one DELETE of the lease's row where
// subject, request and token match.
func (s *Store) Release(ctx context.Context, l erasure.Lease) error {
	const op = "Release"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	err := sqlbase.Retry(ctx, func() error {
		_, err := s.st.Exec(ctx, s.q.release, l.Subject, l.Request, l.Token)
		return err
	})
	return storeErr(op, err)
}
