package breach_test

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/membreach"
)

// The 72 hours of Art. 33(1): a breach found on a Friday at 16:05 in
// Berlin is due on the Monday at 17:00, weekend or not.
func ExampleNewClock() {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	c := breach.NewClock(time.Date(2026, 5, 15, 16, 5, 0, 0, berlin), berlin)
	fmt.Println("starts:", c.Start.Format("Mon 2 Jan 15:04"))
	fmt.Println("due:   ", c.Due.Format("Mon 2 Jan 15:04 MST"))
	// Output:
	// starts: Fri 15 May 17:00
	// due:    Mon 18 May 17:00 CEST
}

// Record a breach, notify the authority late (with the reasons), and see
// what is still to follow.
func ExampleLog() {
	ctx := context.Background()
	now := time.Date(2026, 5, 18, 9, 0, 0, 0, time.UTC)
	log, err := breach.New(membreach.New(), bytes.Repeat([]byte{1}, 32), // a real key: 32 random bytes from your secret store
		breach.WithClock(func() time.Time { return now }))
	if err != nil {
		panic(err)
	}
	b, err := log.Record(ctx, breach.Report{
		Aware: time.Date(2026, 5, 14, 22, 40, 0, 0, time.UTC),
		Details: breach.Details{
			Description: "A backup of the customer database was left readable in a public bucket.",
			Nature:      []breach.Nature{breach.Confidentiality},
			Categories:  []string{"contact"},
		},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("due:", b.Clock.Due.Format(time.RFC3339))
	_, err = log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "The supervisory authority"})
	fmt.Println(err)
	b, _ = log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "The supervisory authority",
		DelayReasons: "The bucket's owner could not be identified until Monday morning."})
	fmt.Println("notified:", b.Notified())
	n, _ := log.AuthorityNotice(ctx, b.ID)
	for _, it := range n.ToFollow {
		fmt.Println("to follow:", it.Article, it.What)
	}
	// Output:
	// due: 2026-05-17T23:00:00Z
	// breach notify: DelayReasons: late notification: a notification after the 72 hours of Art. 33(1) must give the reasons for the delay
	// notified: true
	// to follow: Art. 33(3)(a) categories of data subjects
	// to follow: Art. 33(3)(a) approximate number of data subjects
	// to follow: Art. 33(3)(a) approximate number of personal data records
	// to follow: Art. 33(3)(b) contact point for more information
	// to follow: Art. 33(3)(c) likely consequences
	// to follow: Art. 33(3)(d) measures taken or proposed
}

// The communication to a subject, in plain language.
func ExampleBreach_SubjectNotice() {
	b := breach.Breach{ID: "0196d3c4-2f00-7000-8000-000000000001", Details: breach.Details{
		Description:  "Someone used a support agent's account to read customer records on 11 May.",
		Consequences: "You may receive convincing fake messages that mention your orders.",
		Measures:     "We locked the account and now require a second factor for every agent.",
		Advice:       "Do not answer messages that ask for your password; we never ask for it.",
		Contact:      breach.Contact{Name: "Data Protection Officer", Email: "dpo@shop.example"},
	}}
	fmt.Print(b.SubjectNotice("Example Shop GmbH").Text)
	// Output:
	// We are writing to tell you about a personal data breach at Example Shop GmbH that concerns your personal data.
	//
	// What happened
	// Someone used a support agent's account to read customer records on 11 May.
	//
	// What this may mean for you
	// You may receive convincing fake messages that mention your orders.
	//
	// What we have done
	// We locked the account and now require a second factor for every agent.
	//
	// What you can do
	// Do not answer messages that ask for your password; we never ask for it.
	//
	// Whom to contact
	// Data Protection Officer, dpo@shop.example
	//
	// Breach reference: 0196d3c4-2f00-7000-8000-000000000001
}
