package sqlconsent_test

import (
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// marketingRegister rests "promotions", direct marketing, on legitimate
// interests.
func marketingRegister() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{ID: "promo", Purpose: "promotions", Basis: gdpr.LegitimateInterests, DirectMarketing: true,
			LegitimateInterestAssessment: "LIA-1", SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "contact"}}, Retention: gdpr.RetentionRule{Description: "while a customer"}}},
	}
}

// TestSoftOptInIsForItsChannel: a soft opt-in on one channel, like a
// consent, does not bear on a question about the purpose as a whole
// (consent.Event.Applies), so it cannot hide an objection on another
// channel; on every database.
func TestSoftOptInIsForItsChannel(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		l, err := consent.New(newStore(t, d), consent.WithRegister(marketingRegister()),
			consent.WithSuppressionKey([]byte("suppression-key-for-tests-0123456789")))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Publish(ctx, consent.Notice{ID: "checkout", Version: 1, TextHash: consent.HashText("checkout")}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Object(ctx, consent.Choice{Subject: "kim", Purpose: "promotions", Contact: consent.SMS}); err != nil {
			t.Fatal(err)
		}
		if _, err := l.RecordSoftOptIn(ctx, consent.CustomerContact{Subject: "kim", Purpose: "promotions", Contact: consent.Email,
			Sale: "order-1", Products: "books", OptOutOffered: true, Notice: consent.NoticeRef{ID: "checkout", Version: 1}}); err != nil {
			t.Fatal(err)
		}
		for contact, want := range map[consent.Contact]consent.Reason{
			consent.AllContacts: consent.ReasonObjected, consent.SMS: consent.ReasonObjected,
			consent.Email: consent.ReasonSoftOptIn, consent.Push: consent.ReasonNoOptIn,
		} {
			dec, err := l.Decide(ctx, consent.Query{Subject: "kim", Purpose: "promotions", Contact: contact})
			if err != nil || dec.Reason != want || dec.Allowed != (want == consent.ReasonSoftOptIn) {
				t.Errorf("Decide(%q) = %+v, %v; want %s", contact, dec, err, want)
			}
		}
	})
}
