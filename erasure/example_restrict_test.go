package erasure_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// A subject contests the accuracy of their data: processing is
// restricted until the controller has checked, except on a ground of
// Art. 18(2); the lift is announced to the subject before it takes effect.
func ExampleEngine_Check() {
	ctx := context.Background()
	tell := erasure.NotifierFunc(func(_ context.Context, n erasure.Notice) error {
		fmt.Println("notice:", n.Type, n.Article)
		return nil
	})
	engine, _ := erasure.New(memerasure.New(), []byte("a 32-byte key from your secrets!"),
		erasure.WithNotifier(tell), erasure.WithRestrictionCache(0)) // 0: no cache, for the example
	const subject = gdpr.SubjectID("user-42")

	r, _, _ := engine.Submit(ctx, erasure.Submission{Kind: gdpr.KindRestriction, Subject: subject,
		Ground: erasure.GroundAccuracy, Authenticated: true})
	_, _ = engine.Process(ctx, r.ID)

	err := engine.Check(ctx, subject, "newsletter", gdpr.AllowNone)
	fmt.Println(errors.Is(err, gdpr.ErrRestricted), strings.ReplaceAll(err.Error(), r.ID, "<id>"))
	fmt.Println(engine.Check(ctx, subject, "newsletter", gdpr.AllowLegalClaims))

	lift, _, _ := engine.Submit(ctx, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: subject, Authenticated: true})
	_, _ = engine.Process(ctx, lift.ID)
	fmt.Println(engine.Check(ctx, subject, "newsletter", gdpr.AllowNone))
	// Output:
	// notice: completed Art. 18(1)
	// true erasure check: processing restricted: restriction <id> (Art. 18(1)(a))
	// <nil>
	// notice: lifting Art. 18(3)
	// notice: completed Art. 18(3)
	// <nil>
}

// An objection to processing on legitimate interests stops it until staff
// record compelling grounds; an objection to direct marketing is absolute.
func ExampleEngine_Override() {
	ctx := context.Background()
	reg := &gdpr.Register{
		Controller: gdpr.Party{Name: "Shop", Email: "dpo@shop.example"},
		Activities: []gdpr.Activity{
			{ID: "fraud", Basis: gdpr.LegitimateInterests, LegitimateInterestAssessment: "LIA-1",
				SubjectCategories: []string{"customers"}, DataCategories: []gdpr.Category{{ID: "orders"}},
				Retention: gdpr.RetentionRule{Description: "two years"}},
			{ID: "newsletter", Basis: gdpr.Consent, DirectMarketing: true,
				SubjectCategories: []string{"customers"}, DataCategories: []gdpr.Category{{ID: "contact"}},
				Retention: gdpr.RetentionRule{Description: "until withdrawn"}},
		},
	}
	ledger := func(_ context.Context, o erasure.Objection) error {
		fmt.Println("consent ledger:", o.Purpose, "direct marketing:", o.DirectMarketing, "overridden:", o.Overridden)
		return nil
	}
	engine, err := erasure.New(memerasure.New(), []byte("a 32-byte key from your secrets!"),
		erasure.WithRegister(reg), erasure.WithObjectionHook(ledger), erasure.WithRestrictionCache(0))
	if err != nil {
		panic(err)
	}
	const subject = gdpr.SubjectID("user-7")
	for _, s := range []erasure.Submission{
		{Kind: gdpr.KindObjection, Subject: subject, Purposes: []gdpr.Purpose{"fraud"}, Authenticated: true},
		{Kind: gdpr.KindObjection, Subject: subject, DirectMarketing: true, Authenticated: true},
	} {
		r, _, err := engine.Submit(ctx, s)
		if err != nil {
			panic(err)
		}
		_, _ = engine.Process(ctx, r.ID)
	}
	fmt.Println(errors.Is(engine.Check(ctx, subject, "fraud", gdpr.AllowNone), erasure.ErrObjected))

	staff := gdpr.WithActor(ctx, gdpr.Staff("dpo-1"))
	_, err = engine.Override(staff, subject, "fraud", "LIA-2026-07", "Fraud checks protect other customers.")
	fmt.Println(err, engine.Check(ctx, subject, "fraud", gdpr.AllowNone))
	_, err = engine.Override(staff, subject, "newsletter", "LIA-2026-08", "We like mail.")
	fmt.Println(errors.Is(err, erasure.ErrAbsolute))
	// Output:
	// consent ledger: fraud direct marketing: false overridden: false
	// consent ledger: newsletter direct marketing: true overridden: false
	// true
	// consent ledger: fraud direct marketing: false overridden: true
	// <nil> <nil>
	// true
}

// A rectification hands each corrected value to its Rectifier; until then
// the value is sealed at rest, and afterwards it is gone from the
// request.
func ExampleRectifier() {
	ctx := context.Background()
	crm := map[string]string{"email": "old@example.org"}
	engine, _ := erasure.New(memerasure.New(), []byte("a 32-byte key from your secrets!"),
		erasure.WithRectifiers(erasure.Rectifier{Name: "crm", Fields: []string{"email", "title"},
			Rectify: func(_ context.Context, _ gdpr.SubjectID, c erasure.Correction) error {
				if !c.Supplement {
					crm[c.Field] = c.Value
				}
				return nil
			}}))
	const subject = gdpr.SubjectID("user-9")
	r, _, err := engine.Submit(ctx, erasure.Submission{Kind: gdpr.KindRectification, Subject: subject, Authenticated: true,
		Corrections: []erasure.Correction{
			{Target: "crm", Field: "email", Value: "new@example.org"},
			{Target: "crm", Field: "title", Value: "My title is Dr., which your records omit.", Supplement: true},
		}})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Ask.Corrections[0], len(r.Ask.Corrections[0].Sealed) > 0)
	done, _ := engine.Process(ctx, r.ID)
	fmt.Println(done.State, crm["email"], done.Ask.Corrections[0].Sealed == nil)
	statements, _ := engine.Statements(ctx, subject)
	fmt.Println(statements[0].Field, statements[0].Text)

	_, _, err = engine.Submit(ctx, erasure.Submission{Kind: gdpr.KindRectification, Subject: subject,
		Corrections: []erasure.Correction{{Target: "crm", Field: "iban", Value: "DE00"}}})
	fmt.Println(errors.Is(err, erasure.ErrUnknownField))
	// Output:
	// erasure.Correction{crm.email} true
	// completed new@example.org true
	// title My title is Dr., which your records omit.
	// true
}
