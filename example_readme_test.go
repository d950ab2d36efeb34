package gdpr_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

// The README's tour of the shared vocabulary; README.md quotes it, and
// TestREADMESnippets keeps the two in step.
func Example_readme() {
	file := strings.NewReader(registerJSON)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	holidays, _ := gdpr.NewHolidays("2025-04-21")
	received := time.Date(2025, time.January, 31, 10, 0, 0, 0, time.UTC)

	reg, err := gdpr.ParseRegister(file) // the record of processing activities, Art. 30(1)
	if err != nil {
		var ve *gdpr.ValidationError
		if errors.As(err, &ve) {
			for _, p := range ve.Problems {
				fmt.Println(p.Path, p.Message) // e.g. activities[2].lia_ref: a legitimate-interest assessment reference is required …
			}
		}
		log.Fatal(err)
	}
	a, _ := reg.Activity("newsletter")
	fmt.Println(a.Basis.Article(), a.Basis.DPV()) // Art. 6(1)(a) dpv:Consent

	// A request received on 31 January is due at the end of 28 February
	// (29 in a leap year; or the next working day), by Regulation 1182/71.
	d := gdpr.NewDeadline(received, berlin, holidays)
	d, err = d.Extend("complex request with many data sources") // Art. 12(3): two further months
	fmt.Println(d.LastDay.Format("2 Jan 2006"), err)

	// Who acts, and why, travels in the context: every package's audit
	// events name them.
	ctx := gdpr.WithActor(context.Background(), gdpr.Staff("agent-17"))
	ctx = gdpr.WithPurpose(ctx, "support")
	actor, _ := gdpr.ActorFrom(ctx)
	fmt.Println(actor) // the staff ID is masked
	// Output:
	// Art. 6(1)(a) dpv:Consent
	// 28 Apr 2025 <nil>
	// staff:[id]
}
