package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// Exit codes a script can act on.
const (
	exitOK      = 0 // clean
	exitProblem = 1 // a problem found: a verification that fails, a register that does not validate
	exitUsage   = 2 // a usage, configuration or connection error
)

// problemError is a finding (exit code 1), as opposed to a failure to
// look (exit code 2).
type problemError struct{ msg string }

func (e *problemError) Error() string { return e.msg }

func problem(format string, args ...any) error {
	return &problemError{msg: fmt.Sprintf(format, args...)}
}

// app holds the flags every subcommand shares.
type app struct {
	out, errw io.Writer
	dsn       string
	prefix    string
	json      bool
	as        string
	secrets   secretFlags
}

// run runs the command line args and returns the exit code.
func run(args []string, out, errw io.Writer) int {
	a := &app{out: out, errw: errw}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errw)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal asks the work to stop at its next safe point; from
	// then on the default handling is back, so a second one ends the
	// process at once.
	go func() { <-ctx.Done(); stop() }()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(errw, "gdpr:", err)
	var p *problemError
	if errors.As(err, &p) {
		return exitProblem
	}
	return exitUsage
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "gdpr",
		Short: "The operator's command line for the gdpr library",
		Long: `gdpr verifies and proves the audit trail, reports and rotates the KEK,
lists and retries requests, runs the retention sweep, validates and renders
the record of processing activities and renders breach notifications,
against the production database.

The database comes from --dsn or GDPR_DSN: a PostgreSQL URL
(postgres://…), a MySQL DSN (user@tcp(host:3306)/db, or mysql://user@host/db)
or a SQLite file. Secrets come from files or the environment, never from
flags: --pseudonym-key-file (GDPR_PSEUDONYM_KEY_FILE), --audit-key-file
(GDPR_AUDIT_KEY_FILE), --subject-key-file (GDPR_SUBJECT_KEY_FILE), a KEK in a
KMS (--kek-uri hcvault://…, with VAULT_TOKEN) or a keyset file, or --dev-keys
for the development key set of insecuredevkeys (never in production).

Exit codes: 0 clean, 1 a problem found, 2 a usage or connection error.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.StringVar(&a.dsn, "dsn", os.Getenv("GDPR_DSN"), "the database (default $GDPR_DSN); keep a password out of it: use PGPASSFILE or ~/.my.cnf-style options of the driver")
	f.StringVar(&a.prefix, "prefix", "gdpr_", "the stores' table prefix")
	f.BoolVar(&a.json, "json", false, "machine-readable JSON output")
	a.secrets.flags(f)
	root.AddCommand(a.auditCmd(), a.keysCmd(), a.requestsCmd(), a.retentionCmd(), a.registerCmd(), a.breachCmd())
	return root
}

// usage wraps an error of the command's input (exit code 2).
func usageErr(format string, args ...any) error { return fmt.Errorf(format, args...) }
