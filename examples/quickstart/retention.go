package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// openHolds opens the legal holds and the sweeps' lease and checkpoints
// in the same database. The store is also the request engine's
// gdpr.LegalHolds: a held subject's data are kept from an erasure.
func openHolds(ctx context.Context, db *sql.DB, d sqldialect.Dialect, prefix string, trail gdpr.Recorder) (*sqlretention.Store, *retention.Holds, error) {
	store, err := sqlretention.New(db, d, sqlretention.WithTablePrefix(prefix))
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	holds, err := retention.NewHolds(store, retention.WithRegister(register()), retention.WithRecorder(trail))
	if err != nil {
		return nil, nil, err
	}
	return store, holds, nil
}

// openLogins creates the host's own sign-in log: who signed in when,
// from where. The Deleter needs an index on (time, key).
func openLogins(ctx context.Context, db *sql.DB, d sqldialect.Dialect, prefix string) (string, error) {
	table := prefix + "login_log"
	ddl := []string{"CREATE TABLE IF NOT EXISTS " + table + " (id VARCHAR(64) NOT NULL PRIMARY KEY, subject VARCHAR(255) NULL, at_us BIGINT NULL, ip VARCHAR(45) NULL" +
		map[bool]string{true: ", INDEX " + table + "_at (at_us, id)", false: ""}[d == sqldialect.MySQL] + ")"}
	if d != sqldialect.MySQL {
		ddl = append(ddl, "CREATE INDEX IF NOT EXISTS "+table+"_at ON "+table+" (at_us, id)")
	}
	for _, q := range ddl {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return "", err
		}
	}
	return table, nil
}

// sweepLogins is step 16: the sign-in log is kept six months (the
// register's "security" activity). Two other users have signed in over
// the months; one of them is under a legal hold. A sweep deletes what
// has expired, keeps what the hold covers, and the notices name whoever
// is about to lose data.
func sweepLogins(ctx context.Context, out io.Writer, db *sql.DB, d sqldialect.Dialect, prefix string,
	store *sqlretention.Store, holds *retention.Holds, trail gdpr.Recorder, run string) error {
	table, err := openLogins(ctx, db, d, prefix)
	if err != nil {
		return err
	}
	now := time.Now()
	visitor, claimant := gdpr.SubjectID("visitor-"+run), gdpr.SubjectID("claimant-"+run)
	logins := []struct {
		subject gdpr.SubjectID
		ago     time.Duration
	}{
		{visitor, 240 * 24 * time.Hour}, {visitor, 210 * 24 * time.Hour}, {visitor, 175 * 24 * time.Hour},
		{claimant, 240 * 24 * time.Hour}, {claimant, 7 * 24 * time.Hour},
	}
	ins := "INSERT INTO " + table + " (id, subject, at_us, ip) VALUES (?, ?, ?, ?)"
	if d == sqldialect.Postgres {
		ins = "INSERT INTO " + table + " (id, subject, at_us, ip) VALUES ($1, $2, $3, $4)"
	}
	for i, l := range logins {
		if _, err := db.ExecContext(ctx, ins, fmt.Sprintf("%s-%d", run, i), string(l.subject), now.Add(-l.ago).UnixMicro(), "192.0.2.10"); err != nil {
			return err
		}
	}
	// A claim about the claimant's account is pending: their sign-ins
	// are kept, past their period, until it is settled (Art. 17(3)(e)).
	hold, err := holds.Place(ctx, retention.Hold{ID: "case-" + run, Subject: claimant, Categories: []string{"logins"},
		Reason: "a claim about account misuse is pending", PlacedBy: gdpr.Staff("legal-1"), Until: now.AddDate(1, 0, 0)})
	if err != nil {
		return err
	}

	// The policies: the register's periods (logins: six months, from
	// collection), and in code the one the register only describes
	// (contact data go 30 days after the account is closed; that table
	// has a sweeper of its own).
	deleter, err := sqlretention.NewDeleter(db, d, sqlretention.Table{Name: table, Key: "id", Subject: "subject",
		Time: "at_us", TimeUnit: sqlretention.UnixMicros})
	if err != nil {
		return err
	}
	defer deleter.Close()
	sweeper, err := retention.NewSweeper(store,
		retention.WithRegister(register()),
		retention.WithPolicies(retention.Policy{Category: "contact", Period: gdpr.Period{Days: 30}, From: retention.FromRelationshipEnd}),
		retention.WithTargets(retention.Target{Name: "login_log", Category: "logins", Deleter: deleter}),
		retention.WithRecorder(trail))
	if err != nil {
		return err
	}
	// Before a sweep deletes anything: who loses data within 14 days,
	// to warn them (a host e-mails them a link to keep their account).
	var warned []string
	for n, err := range sweeper.Notices(ctx, 14*24*time.Hour) {
		if err != nil {
			return err
		}
		if n.Subject == visitor || n.Subject == claimant {
			warned = append(warned, string(n.Subject))
		}
	}
	// A host runs this every night on every instance (sweeper.Run with
	// jitter): one at a time sweeps, under the lease.
	report, err := sweeper.Sweep(ctx)
	if err != nil {
		return err
	}
	t := report.Targets[0]
	left := map[gdpr.SubjectID]int{}
	for _, s := range []gdpr.SubjectID{visitor, claimant} {
		q := "SELECT COUNT(*) FROM " + table + " WHERE subject = ?"
		if d == sqldialect.Postgres {
			q = "SELECT COUNT(*) FROM " + table + " WHERE subject = $1"
		}
		var n int
		if err := db.QueryRowContext(ctx, q, string(s)).Scan(&n); err != nil {
			return err
		}
		left[s] = n
	}
	step(out, 16, "retention sweep of %s: sign-ins before %s deleted: %d, kept under legal hold: %d; %s keeps %d of 3, %s (hold %s) keeps %d of 2; warned ahead: %v",
		t.Target, t.Cutoff.Format(time.DateOnly), t.Acted, t.HeldRecords, string(visitor), left[visitor], string(claimant), hold.ID, left[claimant], warned)
	return nil
}
