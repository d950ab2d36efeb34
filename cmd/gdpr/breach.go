package main

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
)

func (a *app) breachCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "breach",
		Short: "Personal-data breaches (Art. 33, 34): the register and the notice to the authority",
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List every breach with its deadline, risk and notifications",
		Example: `  gdpr breach list --json | jq '.[] | select(.notified | not)'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, db, err := a.openBreaches()
			if err != nil {
				return err
			}
			defer db.Close()
			type row struct {
				ID       string    `json:"id"`
				Aware    time.Time `json:"aware"`
				Due      time.Time `json:"due,omitzero"`
				Risk     string    `json:"risk"`
				Notified bool      `json:"notified"`
				Late     bool      `json:"late"`
				Closed   bool      `json:"closed"`
			}
			var rows []row
			now := time.Now()
			for b, err := range log.List(cmd.Context()) {
				if err != nil {
					return err
				}
				r := row{ID: b.ID, Aware: b.Clock.Aware, Due: b.Clock.Due, Risk: string(b.Assessment.Risk),
					Notified: b.Notified(), Closed: !b.Closed.IsZero()}
				if r.Risk == "" {
					r.Risk = "unassessed"
				}
				if b.Notified() {
					r.Late = b.Clock.Late(b.Notifications[0].At)
				} else {
					r.Late = b.Clock.Late(now)
				}
				rows = append(rows, r)
			}
			if a.json {
				if rows == nil {
					rows = []row{}
				}
				return a.writeJSON(rows)
			}
			for _, r := range rows {
				state := "open"
				if r.Closed {
					state = "closed"
				}
				due := "no 72-hour period (a processor's breach)"
				if !r.Due.IsZero() {
					due = "due " + r.Due.Format("2006-01-02 15:04 MST")
				}
				fmt.Fprintf(a.out, "%s  aware %s  %s  risk %s  notified %v  late %v  %s\n",
					r.ID, r.Aware.Format("2006-01-02 15:04 MST"), due, r.Risk, r.Notified, r.Late, state)
			}
			return nil
		},
	}
	var format string
	notice := &cobra.Command{
		Use:   "notice ID",
		Short: "Write the notification of a breach to the supervisory authority, as JSON or a readable HTML page",
		Example: `  gdpr breach notice 0196d3c4-2f00-7000-8000-000000000001 --format html > notice.html
  gdpr breach notice 0196d3c4-2f00-7000-8000-000000000001 --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "html" {
				return usageErr("--format: json or html")
			}
			log, db, err := a.openBreaches()
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := log.AuthorityNotice(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if format == "html" {
				return n.WriteHTML(a.out)
			}
			return a.writeJSON(n)
		},
	}
	notice.Flags().StringVar(&format, "format", "json", "json or html")
	c.AddCommand(list, notice)
	return c
}

// openBreaches opens the breach register for reading. Reading needs no
// secret: the subject key keys the references of notices to subjects,
// which listing and rendering do not make, so a random one stands in.
func (a *app) openBreaches() (*breach.Log, *sql.DB, error) {
	db, d, err := openDB(a.dsn)
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlbreach.New(db, d, sqlbreach.WithTablePrefix(a.prefix))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	key := make([]byte, breach.MinSubjectKeyLen)
	rand.Read(key)
	log, err := breach.New(store, key)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return log, db, nil
}
