package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// targetsFile is the JSON file of the tables a sweep deletes from: what a
// host wires in code as retention.Target with a sqlretention.Deleter.
type targetsFile struct {
	Targets []struct {
		Name     string `json:"name"`
		Category string `json:"category"`
		Table    string `json:"table"`
		Key      string `json:"key"`
		Subject  string `json:"subject"`
		Time     string `json:"time"`
		// TimeUnit is "native" (default), "unix_seconds", "unix_millis"
		// or "unix_micros".
		TimeUnit string `json:"time_unit"`
		// From is the event Time holds: "collection" (default),
		// "last_activity", "relationship_end" or "host_time".
		From string `json:"from"`
	} `json:"targets"`
}

var timeUnits = map[string]sqlretention.TimeUnit{"": sqlretention.NativeTime, "native": sqlretention.NativeTime,
	"unix_seconds": sqlretention.UnixSeconds, "unix_millis": sqlretention.UnixMillis, "unix_micros": sqlretention.UnixMicros}

func (a *app) retentionCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "retention",
		Short: "Storage limitation (Art. 5(1)(e)): what a sweep would delete, and the sweep",
	}
	var registerFile, targets, anchor string
	var dry, run bool
	sweep := &cobra.Command{
		Use:   "sweep (--dry-run | --run) --register FILE --targets FILE",
		Short: "Count what the retention policies would delete now (--dry-run), or delete it (--run)",
		Long: `sweep takes each data category's retention period from the record of
processing activities (--register) and the tables to sweep from --targets, a
JSON file:

  {"targets": [{"name": "login_log", "category": "logins", "table": "login_log",
                "key": "id", "subject": "subject", "time": "at_us",
                "time_unit": "unix_micros", "from": "collection"}]}

Legal holds are obeyed. --run deletes in batches, with a checkpoint after each,
under the sweep's lease (one sweeper at a time): a sweep stopped by Ctrl-C
resumes from its checkpoint on the next --run. Every sweep is recorded in the
audit trail.`,
		Example: `  gdpr retention sweep --dry-run --register register.json --targets targets.json
  gdpr retention sweep --run --register register.json --targets targets.json --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dry == run {
				return usageErr("give one of --dry-run and --run")
			}
			reg, err := readRegister(registerFile)
			if err != nil {
				return err
			}
			var tf targetsFile
			b, err := os.ReadFile(targets)
			if err != nil {
				return usageErr("--targets: cannot read the file")
			}
			// A misspelt key must not fall back to a default that deletes
			// more (a time unit read as native).
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&tf); err != nil || len(tf.Targets) == 0 {
				return usageErr("--targets: a JSON object with a list of targets, with no unknown field")
			}
			for i, t := range tf.Targets {
				if t.Name == "" || t.Category == "" || t.Table == "" || t.Key == "" || t.Subject == "" || t.Time == "" {
					return usageErr("--targets: targets[%d]: name, category, table, key, subject and time are required", i)
				}
			}
			trail, tdb, err := a.openTrail(cmd.Context(), anchor, "")
			if err != nil {
				return err
			}
			defer tdb.Close()
			defer trail.Close(context.WithoutCancel(cmd.Context()))
			db, d, err := openDB(a.dsn)
			if err != nil {
				return err
			}
			defer db.Close()
			store, err := sqlretention.New(db, d, sqlretention.WithTablePrefix(a.prefix))
			if err != nil {
				return err
			}
			// Every column must exist before anything is swept: SQLite reads a
			// quoted name that is no column as a string, so a misspelt
			// subject column would match no legal hold.
			for i, t := range tf.Targets {
				if err := checkColumns(cmd.Context(), db, d, t.Table, t.Key, t.Subject, t.Time); err != nil {
					return usageErr("--targets: targets[%d]: %v", i, err)
				}
			}
			var ts []retention.Target
			for i, t := range tf.Targets {
				unit, ok := timeUnits[t.TimeUnit]
				if !ok {
					return usageErr("--targets: targets[%d].time_unit: native, unix_seconds, unix_millis or unix_micros", i)
				}
				from := retention.Start(t.From)
				if from == "" {
					from = retention.FromCollection
				}
				del, err := sqlretention.NewDeleter(db, d, sqlretention.Table{Name: t.Table, Key: t.Key, Subject: t.Subject,
					Time: t.Time, TimeUnit: unit, From: from})
				if err != nil {
					return usageErr("--targets: targets[%d]: %v", i, err)
				}
				ts = append(ts, retention.Target{Name: t.Name, Category: t.Category, Deleter: del})
			}
			p := a.newProgress("sweep", "batches", -1)
			var batches int64
			sw, err := retention.NewSweeper(store, retention.WithRegister(reg), retention.WithTargets(ts...),
				retention.WithRecorder(trail), retention.WithOwner("gdpr-cli"),
				retention.WithProgress(func(retention.Sweep) { batches++; p.set(batches, -1) }))
			if err != nil {
				return usageErr("%v", err)
			}
			ctx := gdpr.WithActor(cmd.Context(), a.operator())
			var res retention.Sweep
			if dry {
				res, err = sw.DryRun(ctx)
			} else {
				res, err = sw.Sweep(ctx)
			}
			p.finish()
			if err != nil {
				hint := "run it again with --run: it resumes from its checkpoint"
				if dry {
					hint = "run the dry run again"
				}
				return interrupted(cmd.Context(), "sweep", hint, err)
			}
			if a.json {
				return a.writeJSON(res)
			}
			verb := map[bool]string{true: "would act on", false: "acted on"}[dry]
			for _, t := range res.Targets {
				fmt.Fprintf(a.out, "%s (%s, %s): %s %d records before %s; %d kept under legal hold\n",
					t.Target, t.Category, t.Action, verb, t.Acted, t.Cutoff.Format("2006-01-02"), t.HeldRecords)
			}
			return nil
		},
	}
	sweep.Flags().BoolVar(&dry, "dry-run", false, "count, change nothing")
	sweep.Flags().BoolVar(&run, "run", false, "delete what has expired")
	sweep.Flags().StringVar(&registerFile, "register", "", "the record of processing activities (JSON), whose periods apply")
	sweep.Flags().StringVar(&targets, "targets", "", "the JSON file of the tables to sweep")
	sweep.Flags().StringVar(&anchor, "anchor", "", "the audit trail's anchor directory, checked as the trail is opened")
	sweep.Flags().StringVar(&a.as, "as", "", "the operator's name for the audit trail (default $USER)")
	c.AddCommand(sweep)
	return c
}

// checkColumns reports an error unless table has every one of cols.
func checkColumns(ctx context.Context, db *sql.DB, d sqldialect.Dialect, table string, cols ...string) error {
	var q string
	var args []any
	switch d {
	case sqldialect.SQLite:
		q, args = "SELECT name FROM pragma_table_info(?)", []any{table}
	case sqldialect.Postgres:
		q, args = "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1", []any{table}
	default:
		q, args = "SELECT column_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?", []any{table}
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("cannot read the table's columns")
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return fmt.Errorf("cannot read the table's columns")
		}
		have[strings.ToLower(c)] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cannot read the table's columns")
	}
	if len(have) == 0 {
		return fmt.Errorf("no table %s", show(table))
	}
	for _, c := range cols {
		if !have[strings.ToLower(c)] {
			return fmt.Errorf("table %s has no column %s", show(table), show(c))
		}
	}
	return nil
}

// show quotes a name the user gave if it is a plain identifier, and
// leaves out anything else.
func show(s string) string {
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return "(name not shown)"
		}
	}
	return strconv.Quote(s)
}

// readRegister reads and validates a register file.
func readRegister(path string) (*gdpr.Register, error) {
	if path == "" {
		return nil, usageErr("--register: the record of processing activities (JSON)")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageErr("--register: cannot read the file")
	}
	defer f.Close()
	reg, err := gdpr.ParseRegister(f)
	if err == nil {
		err = reg.Validate()
	}
	if err != nil {
		return nil, usageErr("--register: %v", err)
	}
	return reg, nil
}
