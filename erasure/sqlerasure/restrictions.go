package sqlerasure

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/gdprkit/gdpr/internal/sqlbase"
)

// This file holds the Store's restrictions and objections (Art. 18 and
// 21), in <prefix>erasure_restrictions, and the supplementary statements
// of Art. 16, in <prefix>erasure_statements (migration 0004).

// restrictionBody is what the body column of a restriction holds: its
// fields that no query selects on, as JSON.
type restrictionBody struct {
	Ground          erasure.Ground    `json:"ground,omitempty"`
	Purposes        []gdpr.Purpose    `json:"purposes,omitempty"`
	DirectMarketing bool              `json:"direct_marketing,omitempty"`
	Since           time.Time         `json:"since,omitzero"`
	LiftedBy        string            `json:"lifted_by,omitempty"`
	Override        *erasure.Override `json:"override,omitempty"`
}

// restrictionCols are the columns a restriction is read from, in
// scanRestriction's order, and written to, in restrictionArgs' order.
const restrictionCols = "id, kind, subject_ref, lifted_us, version, body"

// statementCols are the columns of a statement, in scanStatement's order.
const statementCols = "id, subject_ref, target, field, sealed, at_us"

// The shapes of a ListRestrictions query: which of the filter's
// conditions it has.
const (
	listBySubject = 1 << iota
	listNotLifted
	listAfter
	listShapes
)

type restrictionQueries struct {
	create, get, version, update string
	// list holds one query per shape (listBySubject | listNotLifted |
	// listAfter), all in the statement cache.
	list                         [listShapes]string
	putStatement, listStatements string
	forgetRestrictions           string
	forgetStatements             string
}

func buildRestrictionQueries(d dialect.Dialect, p string) restrictionQueries {
	restr, stmts := p+"erasure_restrictions", p+"erasure_statements"
	cols := strings.Split(restrictionCols, ", ")
	set := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		set = append(set, c+" = ?")
	}
	q := restrictionQueries{
		create:             d.InsertIgnore(restr, cols...),
		get:                d.Rebind("SELECT " + restrictionCols + " FROM " + restr + " WHERE id = ?"),
		version:            d.Rebind("SELECT version FROM " + restr + " WHERE id = ?"),
		update:             d.Rebind("UPDATE " + restr + " SET " + strings.Join(set, ", ") + " WHERE id = ? AND version = ?"),
		putStatement:       d.InsertIgnore(stmts, strings.Split(statementCols, ", ")...),
		listStatements:     d.Rebind("SELECT " + statementCols + " FROM " + stmts + " WHERE subject_ref = ? ORDER BY id"),
		forgetRestrictions: d.Rebind("DELETE FROM " + restr + " WHERE subject_ref = ?"),
		forgetStatements:   d.Rebind("DELETE FROM " + stmts + " WHERE subject_ref = ?"),
	}
	if d == dialect.MySQL {
		// A plain INSERT whose duplicate-key error is the conflict, as
		// for Create: ON DUPLICATE KEY UPDATE would count a duplicate as
		// one row affected on a connection with clientFoundRows set.
		q.create = "INSERT INTO " + restr + " (" + restrictionCols + ") VALUES (" + placeholders(len(cols)) + ")"
	}
	for shape := range listShapes {
		var conds []string
		if shape&listBySubject != 0 {
			conds = append(conds, "subject_ref = ?")
		}
		if shape&listNotLifted != 0 {
			conds = append(conds, "lifted_us IS NULL")
		}
		if shape&listAfter != 0 {
			conds = append(conds, "id > ?")
		}
		where := ""
		if len(conds) > 0 {
			where = " WHERE " + strings.Join(conds, " AND ")
		}
		q.list[shape] = d.Rebind("SELECT " + restrictionCols + " FROM " + restr + where + " ORDER BY id LIMIT ?")
	}
	return q
}

// encodeRestriction returns x as it is stored and read back (a deep copy,
// every time to the microsecond in UTC) and the values of the columns
// restrictionCols names.
func encodeRestriction(op string, x erasure.Restriction) (erasure.Restriction, []any, error) {
	for _, c := range []struct {
		field, v string
		max      int
	}{{"id", x.ID, MaxIDLen}, {"subject_ref", x.SubjectRef, MaxIDLen}, {"kind", string(x.Kind), MaxKeyLen}} {
		if err := checkLen(op, c.field, c.v, c.max); err != nil {
			return erasure.Restriction{}, nil, err
		}
	}
	x = x.Clone()
	x.Since, x.Lifted = utc(x.Since), utc(x.Lifted)
	if x.Override != nil {
		x.Override.At = utc(x.Override.At)
	}
	b, err := json.Marshal(restrictionBody{Ground: x.Ground, Purposes: x.Purposes, DirectMarketing: x.DirectMarketing,
		Since: x.Since, LiftedBy: x.LiftedBy, Override: x.Override})
	if err != nil {
		// A time outside the years JSON can hold, or the like.
		return erasure.Restriction{}, nil, fieldErr(op, "restriction", "cannot encode the restriction")
	}
	return x, []any{x.ID, string(x.Kind), x.SubjectRef, micros(x.Lifted), x.Version, string(b)}, nil
}

// scanRestriction reads the columns restrictionCols names.
func scanRestriction(row scanner) (erasure.Restriction, error) {
	var (
		x      erasure.Restriction
		kind   string
		liftUS sql.NullInt64
		raw    []byte
	)
	if err := row.Scan(&x.ID, &kind, &x.SubjectRef, &liftUS, &x.Version, &raw); err != nil {
		return erasure.Restriction{}, err
	}
	var b restrictionBody
	if err := json.Unmarshal(raw, &b); err != nil {
		// Not the decoder's text: it may quote the stored bytes.
		return erasure.Restriction{}, fmt.Errorf("decoding the stored body of restriction %s: malformed", errs.Show(x.ID))
	}
	x.Kind = gdpr.RequestKind(kind)
	if liftUS.Valid {
		x.Lifted = sqlbase.FromMicros(liftUS.Int64)
	}
	x.Ground, x.Purposes, x.DirectMarketing, x.LiftedBy, x.Override = b.Ground, b.Purposes, b.DirectMarketing, b.LiftedBy, b.Override
	x.Since = utc(b.Since)
	if x.Override != nil {
		x.Override.At = utc(x.Override.At)
	}
	return x, nil
}

func scanStatement(row scanner) (erasure.Statement, error) {
	var s erasure.Statement
	var atUS int64
	if err := row.Scan(&s.ID, &s.SubjectRef, &s.Target, &s.Field, &s.Sealed, &atUS); err != nil {
		return erasure.Statement{}, err
	}
	s.Sealed = bytes.Clone(s.Sealed)
	s.At = utc(sqlbase.FromMicros(atUS))
	return s, nil
}

// execN runs the write q, again on a deadlock or serialization failure,
// and returns the rows it affected.
func (s *Store) execN(ctx context.Context, q string, args []any) (int64, error) {
	var n int64
	err := sqlbase.Retry(ctx, func() error {
		res, err := s.st.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// CreateRestriction implements erasure.Store with one INSERT that inserts
// nothing when the ID is stored already (ON CONFLICT DO NOTHING; on
// MySQL a plain INSERT whose duplicate-key error is read as such): no row
// inserted is erasure.ErrConflict. The stored Version is 1 whatever
// x.Version holds. An empty x.ID is an error wrapping erasure.ErrInvalid.
func (s *Store) CreateRestriction(ctx context.Context, x erasure.Restriction) error {
	const op = "CreateRestriction"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if x.ID == "" {
		return fieldErr(op, "id", "empty restriction ID")
	}
	x.Version = 1
	_, args, err := encodeRestriction(op, x)
	if err != nil {
		return err
	}
	n, err := s.execN(ctx, s.r.create, args)
	if dialect.IsUniqueViolation(err) {
		n, err = 0, nil
	}
	if err != nil {
		return storeErr(op, err)
	}
	if n != 1 {
		return condErr(op, erasure.ErrConflict, "the restriction ID exists")
	}
	return nil
}

// UpdateRestriction implements erasure.Store with one UPDATE … WHERE id
// = ? AND version = ?, a compare-and-set that concurrent writers from one
// Version serialise on: exactly one matches the row. When it matches
// none, a read of the stored version tells erasure.ErrConflict from
// erasure.ErrNotFound; nothing was written either way.
func (s *Store) UpdateRestriction(ctx context.Context, x erasure.Restriction) error {
	const op = "UpdateRestriction"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	expect := x.Version
	x.Version = expect + 1
	_, args, err := encodeRestriction(op, x)
	if err != nil {
		return err
	}
	n, err := s.execN(ctx, s.r.update, append(args[1:], x.ID, expect))
	if err != nil {
		return storeErr(op, err)
	}
	if n == 1 {
		return nil
	}
	var v int64
	err = s.st.QueryRow(ctx, s.r.version, x.ID).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return condErr(op, erasure.ErrNotFound, "")
	case err != nil:
		return storeErr(op, err)
	}
	return condErr(op, erasure.ErrConflict, "the stored version moved on")
}

// GetRestriction implements erasure.Store: one primary-key lookup.
func (s *Store) GetRestriction(ctx context.Context, id string) (erasure.Restriction, error) {
	const op = "GetRestriction"
	if err := checkCtx(op, ctx); err != nil {
		return erasure.Restriction{}, err
	}
	x, err := scanRestriction(s.st.QueryRow(ctx, s.r.get, id))
	if errors.Is(err, sql.ErrNoRows) {
		return erasure.Restriction{}, condErr(op, erasure.ErrNotFound, "")
	}
	return x, storeErr(op, err)
}

// ListRestrictions implements erasure.Store: one query in primary-key
// (ID) order, after f.After, at most the limit; the restrictions not
// lifted are read from an index of those rows alone (a partial index on
// PostgreSQL and SQLite, (lifted_us, id) on MySQL), one subject's from
// the index on (subject_ref, id).
func (s *Store) ListRestrictions(ctx context.Context, f erasure.RestrictionFilter) ([]erasure.Restriction, error) {
	const op = "ListRestrictions"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	limit := erasure.PageSize(f.Limit)
	shape := 0
	var args []any
	if f.SubjectRef != "" {
		shape |= listBySubject
		args = append(args, f.SubjectRef)
	}
	if !f.IncludeLifted {
		shape |= listNotLifted
	}
	if f.After != "" {
		shape |= listAfter
		args = append(args, f.After)
	}
	rows, err := s.st.Query(ctx, s.r.list[shape], append(args, limit)...)
	if err != nil {
		return nil, storeErr(op, err)
	}
	defer rows.Close()
	var out []erasure.Restriction
	for rows.Next() {
		x, err := scanRestriction(rows)
		if err != nil {
			return nil, storeErr(op, err)
		}
		out = append(out, x)
	}
	return out, storeErr(op, rows.Err())
}

// PutStatement implements erasure.Store: one INSERT that inserts nothing
// when the ID is stored already (ON CONFLICT DO NOTHING; ON DUPLICATE KEY
// UPDATE id = id on MySQL). An empty s.ID is an error wrapping
// erasure.ErrInvalid.
func (s *Store) PutStatement(ctx context.Context, st erasure.Statement) error {
	const op = "PutStatement"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if st.ID == "" {
		return fieldErr(op, "id", "empty statement ID")
	}
	for _, c := range []struct{ field, v string }{
		{"id", st.ID}, {"subject_ref", st.SubjectRef}, {"target", st.Target}, {"field", st.Field},
	} {
		if err := checkLen(op, c.field, c.v, MaxIDLen); err != nil {
			return err
		}
	}
	sealed := st.Sealed
	if sealed == nil {
		sealed = []byte{}
	}
	_, err := s.execN(ctx, s.r.putStatement, []any{st.ID, st.SubjectRef, st.Target, st.Field, sealed, sqlbase.Micros(utc(st.At))})
	return storeErr(op, err)
}

// ListStatements implements erasure.Store: one query on the index of
// (subject_ref, id).
func (s *Store) ListStatements(ctx context.Context, subjectRef string) ([]erasure.Statement, error) {
	const op = "ListStatements"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	rows, err := s.st.Query(ctx, s.r.listStatements, subjectRef)
	if err != nil {
		return nil, storeErr(op, err)
	}
	defer rows.Close()
	var out []erasure.Statement
	for rows.Next() {
		st, err := scanStatement(rows)
		if err != nil {
			return nil, storeErr(op, err)
		}
		out = append(out, st)
	}
	return out, storeErr(op, rows.Err())
}

// Forget implements erasure.Store: two DELETEs by subject_ref in one
// transaction, so that the count is of what was deleted, both or
// neither. The subject's requests are not touched.
func (s *Store) Forget(ctx context.Context, subjectRef string) (int64, error) {
	const op = "Forget"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	var total int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		total = 0
		for _, q := range []string{s.r.forgetRestrictions, s.r.forgetStatements} {
			res, err := s.st.TxExec(ctx, tx, q, subjectRef)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, storeErr(op, err)
	}
	return total, nil
}
