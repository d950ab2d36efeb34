package sqlretention

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/retention"
)

// releasedUntil is the until_us of a released lease: before every now.
const releasedUntil = math.MinInt64

// AcquireSweep implements retention.Store: one conditional upsert on the
// sweeps table's primary key, name. It inserts the lease, or takes over
// one whose until_us is not after now (keeping its checkpoint), and
// leaves a live one alone, which is retention.ErrLeased. Racing upserts
// of one name serialise on the key and the condition is evaluated on the
// row as committed, so two never both take the lease. On PostgreSQL and
// SQLite it is INSERT … ON CONFLICT (name) DO UPDATE … WHERE until_us <=
// now, whose rows affected tell; on MySQL/MariaDB INSERT … ON DUPLICATE
// KEY UPDATE with IF(until_us <= now, …) per column, in a transaction
// that reads the token back (rows affected would tell only without
// clientFoundRows).
func (s *Store) AcquireSweep(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (retention.Lease, error) {
	const op = "AcquireSweep"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Lease{}, err
	}
	if err := checkKey(op, "name", name); err != nil {
		return retention.Lease{}, err
	}
	if err := checkKey(op, "owner", owner); err != nil {
		return retention.Lease{}, err
	}
	if ttl <= 0 {
		return retention.Lease{}, fieldErr(op, "ttl", "must be positive")
	}
	token := newLeaseToken()
	nowUS, untilUS := sqlbase.Micros(now), sqlbase.Micros(now.Add(ttl))
	var ok bool
	var err error
	if s.b.D == dialect.MySQL {
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := s.st.TxExec(ctx, tx, s.q.takeSweep, name, owner, token, untilUS,
				nowUS, owner, nowUS, token, nowUS, untilUS); err != nil {
				return err
			}
			var got string
			if err := s.st.TxQueryRow(ctx, tx, s.q.sweepToken, name).Scan(&got); err != nil {
				return err
			}
			ok = got == token
			return nil
		})
	} else {
		err = sqlbase.Retry(ctx, func() error {
			res, err := s.st.Exec(ctx, s.q.takeSweep, name, owner, token, untilUS, nowUS)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			ok = n == 1
			return err
		})
	}
	if err != nil {
		return retention.Lease{}, storeErr(op, err)
	}
	if !ok {
		return retention.Lease{}, condErr(op, retention.ErrLeased, "another sweeper holds the sweep's lease")
	}
	return retention.Lease{Name: name, Owner: owner, Token: token, Until: sqlbase.FromMicros(untilUS)}, nil
}

// encodeSweep returns the checkpoint column of sw, its times to the
// microsecond in UTC as every time the Store keeps, refusing one it
// cannot keep unchanged: more than retention.MaxTargets targets, a
// cursor longer than retention.MaxCursorLen, a string that is not valid
// UTF-8 (JSON would replace its bytes), or more than MaxStateLen bytes of
// JSON.
func encodeSweep(op string, sw retention.Sweep) (string, error) {
	if len(sw.Targets) > retention.MaxTargets {
		return "", fieldErr(op, "sweep.targets", fmt.Sprintf("more than %d targets", retention.MaxTargets))
	}
	if !utf8.ValidString(sw.ID) {
		return "", fieldErr(op, "sweep.id", "not valid UTF-8")
	}
	for i, t := range sw.Targets {
		field := "sweep.targets[" + strconv.Itoa(i) + "]"
		if len(t.Cursor) > retention.MaxCursorLen {
			return "", fieldErr(op, field+".cursor", fmt.Sprintf("longer than %d bytes", retention.MaxCursorLen))
		}
		for _, v := range []string{t.Target, t.Category, string(t.Action), t.Cursor} {
			if !utf8.ValidString(v) {
				return "", fieldErr(op, field, "a string that is not valid UTF-8")
			}
		}
	}
	sw.Started, sw.Finished = storedTime(sw.Started), storedTime(sw.Finished)
	sw.Targets = slices.Clone(sw.Targets)
	for i := range sw.Targets {
		sw.Targets[i].Cutoff = storedTime(sw.Targets[i].Cutoff)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sw); err != nil {
		return "", fieldErr(op, "sweep", "does not encode as JSON")
	}
	if b.Len() > MaxStateLen+1 {
		return "", fieldErr(op, "sweep", fmt.Sprintf("longer than %d bytes as JSON", MaxStateLen))
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// SaveSweep implements retention.Store: one UPDATE of the sweep's row
// setting the checkpoint and until_us, WHERE name and token match and
// until_us is after now. No row matched is retention.ErrLeaseLost. On
// MySQL/MariaDB, whose rows affected leave out a matched row the UPDATE
// did not change (the same checkpoint and until again), a read of the
// row's until_us tells the two apart.
func (s *Store) SaveSweep(ctx context.Context, l retention.Lease, sw retention.Sweep, now, until time.Time) error {
	const op = "SaveSweep"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := checkKey(op, "name", l.Name); err != nil {
		return err
	}
	if sw.Name != l.Name {
		return fieldErr(op, "sweep.name", "a checkpoint is of its lease's sweep")
	}
	state, err := encodeSweep(op, sw)
	if err != nil {
		return err
	}
	token := storable(l.Token)
	nowUS, untilUS := sqlbase.Micros(now), sqlbase.Micros(until)
	var held bool
	err = sqlbase.Retry(ctx, func() error {
		res, err := s.st.Exec(ctx, s.q.saveSweep, state, untilUS, l.Name, token, nowUS)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		held = n == 1
		if held || s.b.D != dialect.MySQL || untilUS <= nowUS {
			return nil
		}
		// Matched but unchanged: the row's until_us is untilUS, which is
		// after now, so the condition held.
		var stored int64
		err = s.st.QueryRow(ctx, s.q.sweepUntil, l.Name, token).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		held = err == nil && stored == untilUS
		return err
	})
	if err != nil {
		return storeErr(op, err)
	}
	if !held {
		return condErr(op, retention.ErrLeaseLost, "the sweep's lease expired or was taken over")
	}
	return nil
}

// ReleaseSweep implements retention.Store: one UPDATE of the sweep's row
// where name and token match, setting until_us before every instant and
// keeping the checkpoint. A lease lost or released already matches
// nothing, or a row whose lease has lapsed, and is no error.
func (s *Store) ReleaseSweep(ctx context.Context, l retention.Lease) error {
	const op = "ReleaseSweep"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := checkKey(op, "name", l.Name); err != nil {
		return err
	}
	token := storable(l.Token)
	if token == "" {
		return nil
	}
	err := sqlbase.Retry(ctx, func() error {
		_, err := s.st.Exec(ctx, s.q.freeSweep, int64(releasedUntil), l.Name, token)
		return err
	})
	return storeErr(op, err)
}

// LastSweep implements retention.Store: one query by primary key of the
// checkpoint. No row, or a row whose lease was taken but no checkpoint
// saved, is retention.ErrNotFound.
func (s *Store) LastSweep(ctx context.Context, name string) (retention.Sweep, error) {
	const op = "LastSweep"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Sweep{}, err
	}
	if err := checkKey(op, "name", name); err != nil {
		return retention.Sweep{}, err
	}
	notFound := condErr(op, retention.ErrNotFound, "no checkpoint of that sweep")
	var state sql.NullString
	err := sqlbase.Retry(ctx, func() error { return s.st.QueryRow(ctx, s.q.lastSweep, name).Scan(&state) })
	if errors.Is(err, sql.ErrNoRows) || err == nil && !state.Valid {
		return retention.Sweep{}, notFound
	}
	if err != nil {
		return retention.Sweep{}, storeErr(op, err)
	}
	var sw retention.Sweep
	if err := json.Unmarshal([]byte(state.String), &sw); err != nil {
		return retention.Sweep{}, storeErr(op, errors.New("the stored checkpoint does not decode"))
	}
	return sw, nil
}
