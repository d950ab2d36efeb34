package gdpr_test

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
)

func ExampleNewDeadline() {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		log.Fatal(err)
	}
	holidays, err := gdpr.NewHolidays("2025-04-21") // Easter Monday
	if err != nil {
		log.Fatal(err)
	}
	// An access request that arrived at 23:30 UTC on 30 January: already
	// 31 January in Paris.
	received := time.Date(2025, time.January, 30, 23, 30, 0, 0, time.UTC)
	d := gdpr.NewDeadline(received, paris, holidays)
	fmt.Println("received:", received.In(paris).Format("Mon 2 Jan 2006"))
	fmt.Println("last day:", d.LastDay.Format("Mon 2 Jan 2006"))
	fmt.Println("due:     ", d.Due.Format(time.RFC3339))

	// Two further months, counted from 28 February, not from 31 January.
	d, err = d.Extend("complexity: records in three systems")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("extended:", d.Extended, d.LastDay.Format("Mon 2 Jan 2006"))

	_, err = d.Extend("again")
	fmt.Println("second extension refused:", errors.Is(err, gdpr.ErrInvalid))
	// Output:
	// received: Fri 31 Jan 2025
	// last day: Fri 28 Feb 2025
	// due:      2025-03-01T00:00:00+01:00
	// extended: true Mon 28 Apr 2025
	// second extension refused: true
}

const registerJSON = `{
  "controller": {"name": "Example Shop GmbH", "email": "privacy@shop.example"},
  "activities": [
    {
      "id": "newsletter",
      "purpose": "newsletter",
      "basis": "consent",
      "subject_categories": ["subscribers"],
      "data_categories": [{"id": "contact"}],
      "retention": {"description": "until consent is withdrawn"}
    },
    {
      "id": "fraud",
      "purpose": "fraud_prevention",
      "basis": "legitimate_interests",
      "lia_ref": "LIA-2025-04",
      "subject_categories": ["customers"],
      "data_categories": [{"id": "payment"}, {"id": "device"}],
      "recipients": [{"name": "payment provider", "kind": "processor", "country": "NL"}],
      "transfers": [{"country": "US", "safeguard": "standard_contractual_clauses"}],
      "retention": {"period": "P6M"}
    }
  ]
}`

func ExampleParseRegister() {
	reg, err := gdpr.ParseRegister(strings.NewReader(registerJSON))
	if err != nil {
		log.Fatal(err)
	}
	a, ok := reg.Activity("fraud_prevention")
	if !ok {
		log.Fatal("no activity for fraud_prevention")
	}
	fmt.Println(a.ID, a.Basis, a.Basis.Article(), a.Basis.DPV())
	fmt.Println("retention:", a.Retention.Period)
	fmt.Println("transfer:", a.Transfers[0].Country, a.Transfers[0].Safeguard.Article())
	// Output:
	// fraud legitimate_interests Art. 6(1)(f) dpv:LegitimateInterest
	// retention: P6M
	// transfer: US Art. 46(2)(c)
}

func ExampleRegister_Validate() {
	reg := &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Shop GmbH"},
		Activities: []gdpr.Activity{{
			ID:                "analytics",
			Purpose:           "analytics",
			Basis:             gdpr.LegitimateInterests,
			SubjectCategories: []string{"visitors"},
			DataCategories:    []gdpr.Category{{ID: "usage"}, {ID: "usage"}},
			Recipients:        []gdpr.Recipient{{Name: "analytics vendor", Kind: gdpr.Processor, Country: "usa"}},
		}},
	}
	err := reg.Validate()
	var ve *gdpr.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	fmt.Println(errors.Is(err, gdpr.ErrInvalid))
	// Output:
	// controller: controller contact details are required (address, email, phone or url)
	// activities[0].lia_ref: a legitimate-interest assessment reference is required for basis legitimate_interests (Art. 6(1)(f))
	// activities[0].data_categories[1].id: duplicate data category ID "usage", first used by data_categories[0]
	// activities[0].recipients[0].country: country is not an ISO 3166-1 alpha-2 code (two upper-case letters)
	// activities[0].retention: a retention period or a description of the criteria is required (Art. 30(1)(f))
	// true
}
