package affected_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestCanaryScan: a breach taken through every step — recorded,
// updated, assessed, subjects found, the authority notified, subjects
// told, published, closed — with subject IDs that are canaries; then
// every column of every row of the breach tables is read raw, and no
// canary is there, in clear, in hex or in base64.
func TestCanaryScan(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := context.Background()
		db := testdb.Open(t, d)
		as := testdb.Migrated(t, d, db, sqlaudit.New)
		bs := testdb.Migrated(t, d, db, sqlbreach.New)
		pkey := make([]byte, 32)
		rand.Read(pkey)
		skey, _, _ := audit.GenerateKey("breach.test/canary")
		signer, verifier, _ := audit.NewSigner(skey)
		trail, err := audit.New(ctx, as, pkey, signer, verifier, audit.WithAnchor(&audit.FileAnchor{Dir: t.TempDir()}))
		if err != nil {
			t.Fatal(err)
		}
		defer trail.Close(ctx)
		var canaries []gdpr.SubjectID
		since := time.Now().Add(-time.Minute)
		for i := range 20 {
			c := gdpr.SubjectID(fmt.Sprintf("CANARY-subject-%02d@example.org", i))
			canaries = append(canaries, c)
			if err := trail.Record(ctx, gdpr.Event{Actor: gdpr.Staff("CANARY-agent"), Action: "crm.read", Subject: c,
				Categories: []string{"contact"}, Resource: "customer/x", Outcome: gdpr.Success}); err != nil {
				t.Fatal(err)
			}
		}
		log, err := breach.New(bs, pkey, breach.WithTrail(trail), breach.WithRecorder(trail))
		if err != nil {
			t.Fatal(err)
		}
		b, err := log.Record(ctx, breach.Report{Aware: time.Now().Add(-time.Second), Details: breach.Details{
			Description: "An agent's account was misused.", Nature: []breach.Nature{breach.Confidentiality}, Categories: []string{"contact"}}})
		if err != nil {
			t.Fatal(err)
		}
		list := func(yield func(gdpr.SubjectID, error) bool) {
			for _, c := range canaries {
				if !yield(c, nil) {
					return
				}
			}
		}
		scope := breach.Scope{TrailQuery: gdpr.TrailQuery{Since: since, Until: time.Now().Add(time.Second), Actor: gdpr.Staff("CANARY-agent")}}
		if a, err := log.Affected(ctx, b.ID, scope, list, nil); err != nil || a.Subjects != 20 {
			t.Fatalf("Affected = %+v, %v", a, err)
		}
		steps := []func() error{
			func() error {
				_, err := log.Update(ctx, b.ID, breach.Details{Subjects: 20, Records: 20, Consequences: "phishing", Measures: "reset",
					Contact: breach.Contact{Name: "DPO", Email: "dpo@shop.example"}})
				return err
			},
			func() error {
				_, err := log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: "contact data"})
				return err
			},
			func() error {
				_, err := log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "the authority", Final: true})
				return err
			},
			func() error {
				_, err := log.NotifySubjects(ctx, b.ID, scope, list, breach.NotifierFunc(func(_ context.Context, s gdpr.SubjectID, _ breach.SubjectNotice) error {
					if strings.HasSuffix(string(s), "07@example.org") {
						return fmt.Errorf("mailbox of %s full", s) // an error that names the subject
					}
					return nil
				}))
				return err
			},
			func() error {
				_, err := log.Publish(ctx, b.ID, breach.Public{Channel: "website", Reasoning: "one customer unreachable"})
				return err
			},
			func() error { _, err := log.Close(ctx, b.ID, "done"); return err },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		got, err := log.Get(ctx, b.ID)
		if err != nil || got.Communications.Sent != 19 || got.Communications.Failed != 1 {
			t.Fatalf("Get = %+v, %v", got.Communications, err)
		}
		for _, table := range []string{"gdpr_breach_events", "gdpr_breach_notices"} {
			scanTable(t, db, table, append(canaries, "CANARY-agent"))
		}
	})
}

// scanTable reads every column of every row of table as bytes and fails
// if any holds a canary in clear, in hex or in base64.
func scanTable(t *testing.T, db *sql.DB, table string, canaries []gdpr.SubjectID) {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(vals...); err != nil {
			t.Fatal(err)
		}
		n++
		for i, v := range vals {
			cell := string(*v.(*sql.RawBytes))
			for _, c := range canaries {
				for _, form := range []string{string(c), hex.EncodeToString([]byte(c)), base64.StdEncoding.EncodeToString([]byte(c)), strings.ToLower(string(c))} {
					if strings.Contains(strings.ToLower(cell), strings.ToLower(form)) {
						t.Errorf("%s.%s holds %s", table, cols[i], c)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("%s is empty: nothing scanned", table)
	}
}
