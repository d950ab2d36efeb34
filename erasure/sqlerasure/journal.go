package sqlerasure

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/internal/sqlstmt"
	"github.com/gdprkit/gdpr/sqldialect"
)

// Journal is an erasure.Journal in a SQL database: the table
// <prefix>erasure_journal, with a migration component of its own
// ("erasure_journal"), so that it can live in another database than the
// Store (it should: see erasure.Journal). It is safe for concurrent use
// by many goroutines and by many processes sharing the database.
type Journal struct {
	b  *sqlbase.Base
	st *sqlstmt.Cache
	q  journalQueries
}

var _ erasure.Journal = (*Journal)(nil)

// NewJournal returns a Journal over db, a database of dialect d. It does
// not touch the database; call its Migrate once at start-up (or apply
// JournalMigrations with your own tool) before use. The *sql.DB stays
// the caller's to close. A nil db, an unknown dialect or a bad option is
// an error wrapping erasure.ErrInvalid.
func NewJournal(db *sql.DB, d sqldialect.Dialect, opts ...Option) (*Journal, error) {
	b, err := journalSchema.Open(db, d, opts...)
	if err != nil {
		return nil, renameOp(err, "sqlerasure.NewJournal")
	}
	return &Journal{b: b, st: b.Stmt, q: buildJournalQueries(b.D, b.Prefix)}, nil
}

// Migrate creates or updates the Journal's table, recorded in the version
// table of the Journal's database under the component "erasure_journal".
// It is idempotent and safe to run from several processes at once, and
// behind PgBouncer.
func (j *Journal) Migrate(ctx context.Context) error { return j.b.Migrate(ctx) }

// Close releases the Journal's prepared statements; the *sql.DB stays
// open. A Journal may be used after Close.
func (j *Journal) Close() error { return j.b.Close() }

// JournalMigrations returns the Journal's schema for dialect d with the
// given table prefix, as versioned files (0001_erasure_journal.sql), for
// hosts that apply migrations with their own tool. Apply them under a
// version table or tool state of their own: they are numbered apart from
// Migrations'.
func JournalMigrations(d sqldialect.Dialect, prefix string) (fs.FS, error) {
	f, err := journalSchema.Migrations(d, prefix)
	if err != nil {
		return nil, renameOp(err, "sqlerasure.JournalMigrations")
	}
	return f, nil
}

type journalQueries struct {
	table, append string
}

func buildJournalQueries(d dialect.Dialect, p string) journalQueries {
	t := p + "erasure_journal"
	return journalQueries{table: t, append: d.InsertIgnore(t, "request_id", "subject_ref", "completed_us", "targets")}
}

// Append implements erasure.Journal: one INSERT that inserts nothing when
// the request ID is stored already (ON CONFLICT DO NOTHING, ON DUPLICATE
// KEY UPDATE request_id = request_id on MySQL).
func (j *Journal) Append(ctx context.Context, e erasure.JournalEntry) error {
	const op = "Append"
	if err := checkCtx(op, ctx); err != nil {
		return err
	}
	if e.RequestID == "" {
		return fieldErr(op, "request", "empty request ID")
	}
	if err := checkLen(op, "request", e.RequestID, MaxIDLen); err != nil {
		return err
	}
	if err := checkLen(op, "subject_ref", e.SubjectRef, MaxIDLen); err != nil {
		return err
	}
	targets := e.Targets
	if targets == nil {
		targets = []string{}
	}
	b, err := json.Marshal(targets)
	if err != nil {
		return storeErr(op, err)
	}
	err = sqlbase.Retry(ctx, func() error {
		_, err := j.st.Exec(ctx, j.q.append, e.RequestID, e.SubjectRef, sqlbase.Micros(e.Completed), string(b))
		return err
	})
	return storeErr(op, err)
}

// Match implements erasure.Journal: one query per 500 distinct refs on
// the index of subject_ref, the entries then sorted by Completed and
// RequestID.
func (j *Journal) Match(ctx context.Context, refs []string) ([]erasure.JournalEntry, error) {
	const op = "Match"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	uniq := slices.Clone(refs)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	var out []erasure.JournalEntry
	for len(uniq) > 0 {
		chunk := uniq[:min(len(uniq), maxIn)]
		uniq = uniq[len(chunk):]
		args := make([]any, len(chunk))
		for i, r := range chunk {
			args[i] = r
		}
		q := j.b.D.Rebind("SELECT request_id, subject_ref, completed_us, targets FROM " + j.q.table +
			" WHERE subject_ref IN (" + placeholders(len(chunk)) + ")")
		rows, err := j.b.DB.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, storeErr(op, err)
		}
		for rows.Next() {
			var e erasure.JournalEntry
			var completed int64
			var targets []byte
			if err := rows.Scan(&e.RequestID, &e.SubjectRef, &completed, &targets); err != nil {
				rows.Close()
				return nil, storeErr(op, err)
			}
			e.Completed = sqlbase.FromMicros(completed)
			if err := json.Unmarshal(targets, &e.Targets); err != nil {
				rows.Close()
				return nil, storeErr(op, fmt.Errorf("decoding the stored targets of request %s: malformed", errs.Show(e.RequestID)))
			}
			if len(e.Targets) == 0 {
				e.Targets = nil
			}
			out = append(out, e)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, storeErr(op, err)
		}
	}
	slices.SortFunc(out, func(a, b erasure.JournalEntry) int {
		return cmp.Or(a.Completed.Compare(b.Completed), cmp.Compare(a.RequestID, b.RequestID))
	})
	return out, nil
}
