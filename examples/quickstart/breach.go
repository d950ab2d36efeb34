package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/insecuredevkeys"
	"github.com/gdprkit/gdpr/sqldialect"
)

// breachStep is step 18: a support agent's session is hijacked. The
// agent's reads are in the audit trail, which says whose records were
// read in the window, without the trail or the breach register ever
// holding a customer's ID. The breach is recorded when we become aware
// of it, the 72-hour clock of Art. 33(1) runs, the authority is notified
// in time, and each customer concerned is told once (Art. 34).
func breachStep(ctx context.Context, out io.Writer, db *sql.DB, d sqldialect.Dialect, prefix string,
	keys *insecuredevkeys.Keys, trail *audit.Log, keyring *crypto.Keyring, run string) error {
	store, err := sqlbreach.New(db, d, sqlbreach.WithTablePrefix(prefix))
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	// The key of the subjects' references in the notices' records: in
	// production a secret of its own, here derived from the development
	// pseudonym key.
	refKey, err := hkdf.Key(sha256.New, keys.PseudonymKey(), nil, "gdpr quickstart: breach subject references", breach.MinSubjectKeyLen)
	if err != nil {
		return err
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return err
	}
	log, err := breach.New(store, refKey,
		breach.WithRegister(register()),
		breach.WithLocation(berlin), // the 72 hours are shown where the controller is
		breach.WithTrail(trail),     // whose data was read, from the audit trail
		breach.WithKeys(keyring),    // whose encrypted data stayed unreadable
		breach.WithRecorder(trail))  // every change of the register, in the trail too
	if err != nil {
		return err
	}

	// The host records its own reads in the trail, as any access to
	// personal data: here the agent opens two customers' accounts.
	agent := gdpr.Staff("support-" + run)
	start := time.Now()
	customers := []gdpr.SubjectID{gdpr.SubjectID("ada-" + run), gdpr.SubjectID("bob-" + run)}
	for _, c := range customers {
		if err := trail.Record(ctx, gdpr.Event{Actor: agent, Action: "account.read", Subject: c,
			Purpose: "account", Categories: []string{"contact"}, Resource: "account/" + run, Outcome: gdpr.Success}); err != nil {
			return err
		}
	}

	// The controller becomes aware: the agent's session was used from an
	// unknown address. What is known goes in now; the rest follows
	// (Art. 33(4)).
	staff := gdpr.WithActor(ctx, gdpr.Staff("dpo"))
	b, err := log.Record(staff, breach.Report{Aware: time.Now(), Details: breach.Details{
		Description:       "A support agent's session was taken over and used to open customer accounts.",
		Nature:            []breach.Nature{breach.Confidentiality},
		Categories:        []string{"contact"},
		SubjectCategories: []string{"users"},
		Consequences:      "Names and e-mail addresses may be used for targeted phishing.",
		Measures:          "The session was ended, the agent's password reset, and a second factor made mandatory for support.",
		Advice:            "Be wary of messages that claim to come from us and ask you to sign in.",
		Contact:           breach.Contact{Name: "Data Protection Officer", Email: "privacy@example.com"},
	}})
	if err != nil {
		return err
	}
	// Who is affected: the agent's reads in the window, matched against
	// the customer list (streamed; one of them was never read, and the
	// customer erased in step 12 can no longer be matched).
	list := append([]gdpr.SubjectID{gdpr.SubjectID("user-" + run), gdpr.SubjectID("cyd-" + run)}, customers...)
	scope := breach.Scope{TrailQuery: gdpr.TrailQuery{Since: start.Add(-time.Second), Until: time.Now().Add(time.Second), Actor: agent}}
	affected, err := log.Affected(staff, b.ID, scope, func(yield func(gdpr.SubjectID, error) bool) {
		for _, s := range list {
			if !yield(s, nil) {
				return
			}
		}
	}, nil)
	if err != nil {
		return err
	}
	if _, err := log.Update(staff, b.ID, breach.Details{Subjects: affected.Subjects, Records: affected.Entries}); err != nil {
		return err
	}
	if _, err := log.Assess(staff, b.ID, breach.Assessment{Risk: breach.HighRisk,
		Reasoning: "Contact data of identifiable customers in the hands of an attacker who can impersonate us."}); err != nil {
		return err
	}
	b, err = log.NotifyAuthority(staff, b.ID, breach.Notification{Authority: "Berliner Beauftragte für Datenschutz und Informationsfreiheit"})
	if err != nil {
		return err
	}
	// Each customer concerned is told by the mail hook (here: counted).
	sent := 0
	comms, err := log.NotifySubjects(staff, b.ID, scope, func(yield func(gdpr.SubjectID, error) bool) {
		for _, s := range list {
			if !yield(s, nil) {
				return
			}
		}
	}, breach.NotifierFunc(func(_ context.Context, _ gdpr.SubjectID, n breach.SubjectNotice) error {
		sent++ // a host sends n.Text to the customer's address
		return nil
	}))
	if err != nil {
		return err
	}
	notice, err := log.AuthorityNotice(ctx, b.ID)
	if err != nil {
		return err
	}
	step(out, 18, "breach %s: the hijacked account's reads concern %d of %d customers (%d entries); due %s (72 hours), authority notified in time: %v, %d items to follow; customers told: %d sent, %d failed",
		b.ID, affected.Subjects, affected.Candidates, affected.Entries, b.Clock.Due.Format("Mon 2 Jan 15:04 MST"),
		!b.Clock.Late(b.Notifications[0].At), len(notice.ToFollow), comms.Sent, comms.Failed)
	if sent != int(comms.Sent) {
		return fmt.Errorf("the mail hook sent %d notices, the register counts %d", sent, comms.Sent)
	}
	return nil
}
