package sqlretention

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/retention"
)

// validateHold refuses a hold that is not valid (retention.Hold.Validate,
// whose Field the error keeps), that has no Placed, or that the columns
// cannot keep.
func validateHold(op string, h retention.Hold) error {
	if err := h.Validate(); err != nil {
		var re *retention.Error
		if errors.As(err, &re) {
			return &retention.Error{Op: "sqlretention." + op, Field: re.Field, Err: re.Err}
		}
		return &retention.Error{Op: "sqlretention." + op, Err: err}
	}
	if h.Placed.IsZero() {
		return fieldErr(op, "placed", "a stored hold has Placed set")
	}
	// What Validate allows the columns keep; checked again, so that the
	// limits of the tables hold whatever Validate becomes.
	if err := checkCol(op, "id", h.ID, MaxIDLen); err != nil {
		return err
	}
	if err := checkCol(op, "subject", string(h.Subject), MaxIDLen); err != nil {
		return err
	}
	for i, c := range h.Categories {
		if err := checkCol(op, "categories["+strconv.Itoa(i)+"]", c, MaxIDLen); err != nil {
			return err
		}
	}
	if err := checkCol(op, "reason", h.Reason, MaxReasonLen); err != nil {
		return err
	}
	return checkActor(op, "placed_by", h.PlacedBy)
}

// checkKey refuses an empty key, or one its column cannot keep.
func checkKey(op, field, v string) error {
	if v == "" {
		return fieldErr(op, field, "empty")
	}
	return checkCol(op, field, v, MaxIDLen)
}

func checkActor(op, field string, a gdpr.Actor) error {
	if err := checkCol(op, field, string(a.Kind), MaxKindLen); err != nil {
		return err
	}
	return checkCol(op, field, a.ID, MaxIDLen)
}

// stored returns h as the Store keeps it and returns it: times at
// microsecond precision in UTC, no categories as nil.
func stored(h retention.Hold) retention.Hold {
	h.Placed = storedTime(h.Placed)
	h.Until, h.Released = storedTime(h.Until), storedTime(h.Released)
	if len(h.Categories) == 0 {
		h.Categories = nil
	}
	return h
}

func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return sqlbase.FromMicros(sqlbase.Micros(t))
}

// samePlacement reports whether two holds were placed with the same
// contents: a retry of PlaceHold. The release, which ReleaseHold alone
// writes, is not compared, so a retry that comes after a release is still
// a retry.
func samePlacement(a, b retention.Hold) bool {
	return a.ID == b.ID && a.Subject == b.Subject && slices.Equal(a.Categories, b.Categories) &&
		a.Reason == b.Reason && a.PlacedBy == b.PlacedBy && a.Placed.Equal(b.Placed) && a.Until.Equal(b.Until)
}

// encodeCategories returns the categories column: a JSON array, NULL for
// none.
func encodeCategories(cats []string) (any, error) {
	if len(cats) == 0 {
		return nil, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cats); err != nil {
		return nil, err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// ends returns the ends_us column: the earlier of Until and Released,
// NULL when neither is set.
func ends(h retention.Hold) any {
	switch {
	case h.Until.IsZero():
		return nullMicros(h.Released)
	case h.Released.IsZero() || h.Until.Before(h.Released):
		return nullMicros(h.Until)
	}
	return nullMicros(h.Released)
}

// errHoldTaken ends a PlaceHold's transaction whose ID is another hold's.
var errHoldTaken = errors.New("hold ID taken")

// PlaceHold implements retention.Store: one transaction that inserts the
// hold's row unless its ID is taken (INSERT … ON CONFLICT DO NOTHING, on
// MySQL/MariaDB ON DUPLICATE KEY UPDATE id = id), then a row per
// category. Of concurrent placers of one ID the primary key lets one
// insert; the others wait for it to commit, insert nothing, and read the
// row it wrote: the same placement (ID, subject, categories in order,
// reason, placed by, placed and until, times to the microsecond) is a
// retry and not an error, other contents are retention.ErrExists.
func (s *Store) PlaceHold(ctx context.Context, h retention.Hold) error {
	const op = "PlaceHold"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if err := validateHold(op, h); err != nil {
		return err
	}
	h = stored(h)
	cats, err := encodeCategories(h.Categories)
	if err != nil {
		return fieldErr(op, "categories", "does not encode")
	}
	var there retention.Hold
	err = s.tx(ctx, func(tx *sql.Tx) error {
		res, err := s.st.TxExec(ctx, tx, s.q.insHold, h.ID, nullString(string(h.Subject)), cats, h.Reason,
			string(h.PlacedBy.Kind), h.PlacedBy.ID, sqlbase.Micros(h.Placed), nullMicros(h.Until), nullMicros(h.Released),
			string(h.ReleasedBy.Kind), h.ReleasedBy.ID, ends(h))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			there, err = scanHold(s.st.TxQueryRow(ctx, tx, s.q.getHold, h.ID))
			if err != nil {
				return err
			}
			return errHoldTaken
		}
		for _, c := range h.Categories {
			if _, err := s.st.TxExec(ctx, tx, s.q.insCat, h.ID, c); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errHoldTaken) {
		if samePlacement(there, h) {
			return nil
		}
		return condErr(op, retention.ErrExists, "a hold of that ID exists with other contents")
	}
	return storeErr(op, err)
}

// ReleaseHold implements retention.Store: one transaction of one UPDATE
// of the hold's row, by primary key, WHERE released_us IS NULL AND
// (until_us IS NULL OR until_us > at), and a read of the row as it is
// afterwards. Of concurrent releases one writes; the others find the hold
// released and change nothing.
func (s *Store) ReleaseHold(ctx context.Context, id string, at time.Time, by gdpr.Actor) (retention.Hold, error) {
	const op = "ReleaseHold"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Hold{}, err
	}
	if err := checkKey(op, "id", id); err != nil {
		return retention.Hold{}, err
	}
	if at.IsZero() {
		return retention.Hold{}, fieldErr(op, "at", "a release needs its time")
	}
	if by.IsZero() || by.Validate() != nil {
		return retention.Hold{}, fieldErr(op, "by", "a release needs a valid actor")
	}
	if err := checkActor(op, "by", by); err != nil {
		return retention.Hold{}, err
	}
	notFound := condErr(op, retention.ErrNotFound, "no hold of that ID")
	atUS := sqlbase.Micros(at)
	var out retention.Hold
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.st.TxExec(ctx, tx, s.q.release, atUS, string(by.Kind), by.ID, atUS, id, atUS); err != nil {
			return err
		}
		var err error
		out, err = scanHold(s.st.TxQueryRow(ctx, tx, s.q.getHold, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return retention.Hold{}, notFound
	}
	if err != nil {
		return retention.Hold{}, storeErr(op, err)
	}
	return out, nil
}

// PurgeHolds implements retention.Store in one transaction: the
// categories of the holds whose ends_us (the earlier of their until and
// release) is before the instant, then the holds, each one DELETE on the
// ends_us index. A zero before is an error wrapping retention.ErrInvalid
// ("before").
func (s *Store) PurgeHolds(ctx context.Context, before time.Time) (int64, error) {
	const op = "PurgeHolds"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	if before.IsZero() {
		return 0, fieldErr(op, "before", "a purge needs its cut-off")
	}
	us := sqlbase.Micros(before)
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.st.TxExec(ctx, tx, s.q.purgeCats, us); err != nil {
			return err
		}
		res, err := s.st.TxExec(ctx, tx, s.q.purgeHolds, us)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, storeErr(op, err)
	}
	return n, nil
}

// GetHold implements retention.Store: one query by primary key.
func (s *Store) GetHold(ctx context.Context, id string) (retention.Hold, error) {
	const op = "GetHold"
	if err := checkCtx(op, ctx); err != nil {
		return retention.Hold{}, err
	}
	if err := checkKey(op, "id", id); err != nil {
		return retention.Hold{}, err
	}
	notFound := condErr(op, retention.ErrNotFound, "no hold of that ID")
	var h retention.Hold
	err := sqlbase.Retry(ctx, func() error {
		var err error
		h, err = scanHold(s.st.QueryRow(ctx, s.q.getHold, id))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return retention.Hold{}, notFound
	}
	if err != nil {
		return retention.Hold{}, storeErr(op, err)
	}
	return h, nil
}

// ListHolds implements retention.Store: one query in primary-key (ID)
// order, WHERE id > f.After, LIMIT the page, with f's conditions in SQL:
// Subject is subject = ? OR subject IS NULL; Category is categories IS
// NULL OR a row of the hold and the category in retention_hold_cats;
// InForce is placed_us <= t AND (ends_us IS NULL OR ends_us > t).
func (s *Store) ListHolds(ctx context.Context, f retention.HoldFilter) ([]retention.Hold, error) {
	const op = "ListHolds"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	limit := f.Limit
	switch {
	case limit == 0:
		limit = retention.DefaultLimit
	case limit < 0 || limit > retention.MaxLimit:
		return nil, fieldErr(op, "limit", "a limit is 0 (the default) to 1000")
	}
	if !validText(f.After) {
		return nil, fieldErr(op, "after", "not valid UTF-8 text without NUL")
	}
	q, args := s.q.listHolds(s.b.D, f, limit)
	var out []retention.Hold
	err := sqlbase.Retry(ctx, func() error {
		var err error
		out, err = s.queryHolds(ctx, q, args...)
		return err
	})
	if err != nil {
		return nil, storeErr(op, err)
	}
	if out == nil {
		out = []retention.Hold{}
	}
	return out, nil
}

// Holds implements retention.Store and gdpr.LegalHolds: the holds in
// force at now whose subject is subject or NULL, in pages of
// retention.MaxLimit by primary key until a short page, so every such
// hold is returned however many there are. Each page is one query; the
// pages are not one snapshot, so a hold placed or released during the
// call may be seen or not.
func (s *Store) Holds(ctx context.Context, subject gdpr.SubjectID, now time.Time) ([]gdpr.Hold, error) {
	const op = "Holds"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	if subject.Validate() != nil {
		return nil, fieldErr(op, "subject", "not a valid subject ID")
	}
	subj, nowUS := storable(string(subject)), sqlbase.Micros(now)
	out := []gdpr.Hold{}
	after := ""
	for {
		var page []retention.Hold
		err := sqlbase.Retry(ctx, func() error {
			var err error
			page, err = s.queryHolds(ctx, s.q.inForceFor, subj, nowUS, nowUS, after, retention.MaxLimit)
			return err
		})
		if err != nil {
			return nil, storeErr(op, err)
		}
		for _, h := range page {
			out = append(out, h.Legal())
		}
		if len(page) < retention.MaxLimit {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

func (s *Store) queryHolds(ctx context.Context, q string, args ...any) ([]retention.Hold, error) {
	rows, err := s.st.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []retention.Hold
	for rows.Next() {
		h, err := scanHold(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// scanHold reads a row of holdCols.
func scanHold(row interface{ Scan(...any) error }) (retention.Hold, error) {
	var (
		h                        retention.Hold
		subject, cats            sql.NullString
		placedKind, releasedKind string
		placed                   int64
		until, released          sql.NullInt64
	)
	if err := row.Scan(&h.ID, &subject, &cats, &h.Reason, &placedKind, &h.PlacedBy.ID, &placed, &until, &released,
		&releasedKind, &h.ReleasedBy.ID); err != nil {
		return retention.Hold{}, err
	}
	h.Subject = gdpr.SubjectID(subject.String)
	if cats.Valid {
		if err := json.Unmarshal([]byte(cats.String), &h.Categories); err != nil {
			return retention.Hold{}, errors.New("a stored hold's categories do not decode")
		}
		if len(h.Categories) == 0 {
			h.Categories = nil
		}
	}
	h.PlacedBy.Kind, h.ReleasedBy.Kind = gdpr.ActorKind(placedKind), gdpr.ActorKind(releasedKind)
	h.Placed = sqlbase.FromMicros(placed)
	if until.Valid {
		h.Until = sqlbase.FromMicros(until.Int64)
	}
	if released.Valid {
		h.Released = sqlbase.FromMicros(released.Int64)
	}
	return h, nil
}
