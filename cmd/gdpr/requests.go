package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
)

// requestRow is what the command shows of a request: no subject, no
// parameters (a rectification's values are personal data).
type requestRow struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`
	State    string    `json:"state"`
	Channel  string    `json:"channel"`
	Received time.Time `json:"received"`
	Due      time.Time `json:"due"`
	Overdue  bool      `json:"overdue"`
}

func rowOf(r erasure.Request, now time.Time) requestRow {
	return requestRow{ID: r.ID, Kind: string(r.Kind), State: string(r.State), Channel: r.Channel,
		Received: r.Received, Due: r.Deadline.Due, Overdue: r.State.Open() && !now.Before(r.Deadline.Due)}
}

func (a *app) requestsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "requests",
		Short: "Data subjects' requests (package erasure): list, overdue, retry",
	}
	var states []string
	var kinds []string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the requests, oldest first, optionally of some states or kinds",
		Example: `  gdpr requests list --state failed --json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listRequests(cmd.Context(), states, kinds, false)
		},
	}
	list.Flags().StringSliceVar(&states, "state", nil, "keep the requests in these states (received, verifying, in_progress, failed, completed, …)")
	list.Flags().StringSliceVar(&kinds, "kind", nil, "keep the requests of these kinds (erasure, access, portability, restriction, …)")
	overdue := &cobra.Command{
		Use:     "overdue",
		Short:   "List the open requests past their deadline (Art. 12(3)); exit code 1 if there are any",
		Example: `  gdpr requests overdue || page-the-dpo`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listRequests(cmd.Context(), nil, nil, true)
		},
	}
	var anchor string
	retry := &cobra.Command{
		Use:   "retry ID",
		Short: "Put a failed request back in progress at its first unfinished step, for the application's workers",
		Long: `retry moves a failed request back in progress, recorded in the audit trail as
done by the operator ($USER, or --as): the application's workers take it
up. The command itself erases nothing: the targets are the application's.`,
		Example: `  gdpr requests retry 0196d3c4-2f00-7000-8000-000000000001 --as alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			trail, tdb, err := a.openTrail(cmd.Context(), anchor, "")
			if err != nil {
				return err
			}
			defer tdb.Close()
			defer trail.Close(context.WithoutCancel(cmd.Context()))
			eng, db, err := a.openEngine(erasure.WithRecorder(trail))
			if err != nil {
				return err
			}
			defer db.Close()
			ctx := gdpr.WithActor(cmd.Context(), a.operator())
			r, err := eng.Retry(ctx, args[0])
			if err != nil {
				return err
			}
			if a.json {
				return a.writeJSON(rowOf(r, time.Now()))
			}
			fmt.Fprintf(a.out, "request %s is %s again; the application's workers take it up\n", r.ID, r.State)
			return nil
		},
	}
	retry.Flags().StringVar(&anchor, "anchor", "", "the audit trail's anchor directory, checked as the trail is opened")
	retry.Flags().StringVar(&a.as, "as", "", "the operator's name for the audit trail (default $USER)")
	var journal, subjects, subjectKeyFile string
	replay := &cobra.Command{
		Use:   "replay --journal FILE --subjects FILE",
		Short: "After a backup restore, submit again the erasures done since the backup, for the application's workers",
		Long: `replay matches the subject IDs found in the restored data (--subjects: one per
line, "-" for standard input) against the erasure journal (--journal, the
application's erasure.FileJournal, kept apart from the database) and submits,
verified, an erasure request for each subject the journal names. The
application's workers run them with its targets; this command erases nothing
itself. The subject key (--subject-key-file or GDPR_SUBJECT_KEY_FILE) is the
application's erasure subject key, which the journal's references are keyed
with.`,
		Example: `  psql -Atc 'SELECT id FROM accounts' | gdpr requests replay --journal /var/lib/app/erasure-journal.jsonl --subjects -`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if journal == "" || subjects == "" {
				return usageErr("give --journal and --subjects")
			}
			if subjectKeyFile == "" {
				return usageErr("--subject-key-file: the application's erasure subject key")
			}
			raw, err := readSecret("subject-key-file", subjectKeyFile)
			if err != nil {
				return err
			}
			key := keyBytes(raw)
			ids, err := readSubjects(subjects)
			if err != nil {
				return err
			}
			j, err := erasure.OpenFileJournal(journal)
			if err != nil {
				return usageErr("--journal: %v", err)
			}
			defer j.Close()
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
			store, err := sqlerasure.New(db, d, sqlerasure.WithTablePrefix(a.prefix))
			if err != nil {
				return err
			}
			// The command's Engine accepts erasure requests but never
			// runs one: its one target refuses, should it ever be asked.
			notHere := erasure.Target{Name: "application", Eraser: gdpr.EraserFunc(func(context.Context, gdpr.SubjectID) (gdpr.ErasureReport, error) {
				return gdpr.ErasureReport{}, fmt.Errorf("the command line erases nothing: the application's workers run replayed requests")
			})}
			eng, err := erasure.New(store, key, erasure.WithJournal(j), erasure.WithTargets(notHere), erasure.WithRecorder(trail))
			if err != nil {
				return usageErr("%v", err)
			}
			rep, err := eng.ReplaySubmit(gdpr.WithActor(cmd.Context(), a.operator()), ids)
			if err != nil {
				return interrupted(cmd.Context(), "replay", "run it again: it is idempotent", err)
			}
			if a.json {
				return a.writeJSON(rep)
			}
			fmt.Fprintf(a.out, "%d subjects checked, %d erased before the restore; %d erasure requests submitted for the application's workers\n",
				rep.Checked, rep.Matched, len(rep.Requests))
			for _, r := range rep.Requests {
				fmt.Fprintf(a.out, "  %s (%s), replays %s\n", r.ID, r.State, r.Of)
			}
			return nil
		},
	}
	replay.Flags().StringVar(&journal, "journal", "", "the application's erasure journal file")
	replay.Flags().StringVar(&subjects, "subjects", "", `a file of the subject IDs in the restored data, one per line ("-": standard input)`)
	replay.Flags().StringVar(&subjectKeyFile, "subject-key-file", os.Getenv("GDPR_SUBJECT_KEY_FILE"), "file of the application's erasure subject key, raw or hex (default $GDPR_SUBJECT_KEY_FILE)")
	replay.Flags().StringVar(&anchor, "anchor", "", "the audit trail's anchor directory, checked as the trail is opened")
	replay.Flags().StringVar(&a.as, "as", "", "the operator's name for the audit trail (default $USER)")
	c.AddCommand(list, overdue, retry, replay)
	return c
}

// readSubjects reads subject IDs, one per line, from path ("-": standard
// input). The error names a line, never its content.
func readSubjects(path string) ([]gdpr.SubjectID, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageErr("--subjects: cannot read the file")
		}
		defer f.Close()
		r = f
	}
	var out []gdpr.SubjectID
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff") // a byte-order mark
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		s := gdpr.SubjectID(line)
		if err := s.Validate(); err != nil || strings.ContainsFunc(line, invisible) {
			return nil, usageErr("--subjects: line %d is not a subject ID", n)
		}
		out = append(out, s)
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, usageErr("--subjects: a line longer than 1 MiB")
	} else if err != nil {
		return nil, usageErr("--subjects: cannot read the file")
	}
	return out, nil
}

// invisible reports a format character (a byte-order mark, a zero-width
// space or joiner, a bidirectional mark) that would make an ID look like
// another and match nothing.
func invisible(r rune) bool { return unicode.Is(unicode.Cf, r) }

// operator is the staff member the command acts for.
func (a *app) operator() gdpr.Actor {
	name := a.as
	if name == "" {
		name = os.Getenv("USER")
	}
	if name == "" {
		name = "operator"
	}
	return gdpr.Staff(name)
}

func (a *app) listRequests(ctx context.Context, states, kinds []string, overdue bool) error {
	eng, db, err := a.openEngine()
	if err != nil {
		return err
	}
	defer db.Close()
	f := erasure.Filter{Limit: erasure.MaxLimit}
	for _, s := range states {
		f.States = append(f.States, erasure.State(s))
	}
	for _, k := range kinds {
		f.Kinds = append(f.Kinds, gdpr.RequestKind(k))
	}
	now := time.Now()
	rows := []requestRow{}
	for {
		var page []erasure.Request
		if overdue {
			page, err = eng.Overdue(ctx, f)
		} else {
			page, err = eng.List(ctx, f)
		}
		if err != nil {
			return err
		}
		for _, r := range page {
			rows = append(rows, rowOf(r, now))
		}
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
	}
	if a.json {
		if err := a.writeJSON(rows); err != nil {
			return err
		}
	} else {
		for _, r := range rows {
			fmt.Fprintf(a.out, "%s  %-12s %-12s received %s  due %s%s\n", r.ID, r.Kind, r.State,
				r.Received.Format("2006-01-02"), r.Due.Format("2006-01-02 15:04 MST"), map[bool]string{true: "  OVERDUE"}[r.Overdue])
		}
	}
	if overdue && len(rows) > 0 {
		return problem("%d requests overdue", len(rows))
	}
	return nil
}

// openEngine opens the request engine over the requests' store. It has no
// targets and runs no worker: the command reads requests and changes their
// state; the application's workers do the work. Its subject key is random:
// listing and retrying compute no subject reference.
func (a *app) openEngine(opts ...erasure.Option) (*erasure.Engine, *sql.DB, error) {
	db, d, err := openDB(a.dsn)
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlerasure.New(db, d, sqlerasure.WithTablePrefix(a.prefix))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	key := make([]byte, erasure.MinSubjectKeyLen)
	rand.Read(key)
	eng, err := erasure.New(store, key, opts...)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return eng, db, nil
}
