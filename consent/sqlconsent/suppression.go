package sqlconsent

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/internal/dialect"
)

// The suppression list (consent.Suppressions) is the table
// <prefix>consent_suppression (migration 0004): a 32-byte hash as the
// primary key and the time of the stop, nothing else. No column names a
// subject, so DeleteSubject leaves it alone, as the list must outlive
// erasure.

// suppressionTable is the name of the suppression list's table.
func (s *Store) suppressionTable() string { return s.b.Table("consent_suppression") }

// maxSuppressedBatch bounds the hashes one Suppressed query looks up.
const maxSuppressedBatch = 64

// Suppress implements consent.Suppressions with one upsert per entry that
// keeps the later time: INSERT … ON CONFLICT DO UPDATE (PostgreSQL, SQLite)
// or ON DUPLICATE KEY UPDATE (MySQL/MariaDB). Entries are independent and
// idempotent, so a failure part-way is repaired by calling again.
func (s *Store) Suppress(ctx context.Context, entries ...consent.Suppression) error {
	t := s.suppressionTable()
	var q string
	switch s.b.D {
	case dialect.MySQL:
		q = "INSERT INTO " + t + " (hash, at_us) VALUES (?, ?) ON DUPLICATE KEY UPDATE at_us = GREATEST(at_us, VALUES(at_us))"
	case dialect.Postgres:
		q = "INSERT INTO " + t + " (hash, at_us) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET at_us = GREATEST(" + t + ".at_us, EXCLUDED.at_us)"
	default:
		q = "INSERT INTO " + t + " (hash, at_us) VALUES (?, ?) ON CONFLICT (hash) DO UPDATE SET at_us = MAX(at_us, excluded.at_us)"
	}
	q = s.b.D.Rebind(q)
	for _, e := range entries {
		if len(e.Hash) == 0 {
			return &consent.Error{Op: "suppress", Err: errors.New("sqlconsent: empty suppression hash")}
		}
		if _, err := s.st.Exec(ctx, q, e.Hash, e.Time.UnixMicro()); err != nil {
			return storeErr("suppress", err)
		}
	}
	return nil
}

// Suppressed implements consent.Suppressions, with one query per 64 hashes
// on the primary key.
func (s *Store) Suppressed(ctx context.Context, hashes [][]byte) ([]consent.Suppression, error) {
	var out []consent.Suppression
	seen := map[string]bool{}
	for len(hashes) > 0 {
		n := min(len(hashes), maxSuppressedBatch)
		batch := hashes[:n]
		hashes = hashes[n:]
		q := s.b.D.Rebind("SELECT hash, at_us FROM " + s.suppressionTable() +
			" WHERE hash IN (" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")")
		args := make([]any, n)
		for i, h := range batch {
			args[i] = h
		}
		rows, err := s.st.Query(ctx, q, args...)
		if err != nil {
			return nil, storeErr("suppressed", err)
		}
		for rows.Next() {
			var h []byte
			var at int64
			if err := rows.Scan(&h, &at); err != nil {
				rows.Close()
				return nil, storeErr("suppressed", err)
			}
			if !seen[string(h)] {
				seen[string(h)] = true
				out = append(out, consent.Suppression{Hash: append([]byte(nil), h...), Time: time.UnixMicro(at).UTC()})
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, storeErr("suppressed", err)
		}
	}
	return out, nil
}
