package consent_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

func Example() {
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	ledger, _ := consent.New(memconsent.New(), consent.WithClock(func() time.Time { return now }))

	// Publish the text the subject will see.
	text := "May we e-mail you our monthly newsletter? You can unsubscribe at any time."
	_, _ = ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText(text), Language: "en"})

	// The subject ticks the box.
	now = now.Add(time.Minute)
	e, err := ledger.Give(ctx, consent.Choice{
		Subject: "user-42", Purpose: "newsletter",
		Notice:   consent.NoticeRef{ID: "newsletter", Version: 1},
		Method:   consent.MethodCheckbox,
		Evidence: consent.Evidence{IPPrefix: consent.TruncateIP(netip.MustParseAddr("198.51.100.23")), UserAgent: "Firefox/Linux"},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Kind, e.Evidence.IPPrefix)

	d, _ := ledger.Decide(ctx, consent.Query{Subject: "user-42", Purpose: "newsletter"})
	fmt.Println(d.Allowed, d.Reason, d.Event.ID == e.ID)

	// Withdrawal is as easy as giving.
	now = now.Add(time.Hour)
	_, _ = ledger.Withdraw(ctx, consent.Choice{Subject: "user-42", Purpose: "newsletter"})
	d, _ = ledger.Decide(ctx, consent.Query{Subject: "user-42", Purpose: "newsletter"})
	fmt.Println(d.Allowed, d.Reason)
	// Output:
	// given 198.51.100.0/24
	// true given true
	// false withdrawn
}

func ExampleLedger_Request() {
	ctx := context.Background()
	ledger, _ := consent.New(memconsent.New())
	_, _ = ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("…")})

	// Sign-up: record the pending consent and e-mail the link.
	_, token, _ := ledger.Request(ctx, consent.Choice{Subject: "user-7", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}})
	fmt.Println(strings.HasPrefix(token, "c1."))
	ok, _ := ledger.Allowed(ctx, "user-7", "newsletter")
	fmt.Println("before confirmation:", ok)

	// The subject clicks the link.
	_, err := ledger.Confirm(ctx, token, consent.Evidence{})
	fmt.Println(err)
	ok, _ = ledger.Allowed(ctx, "user-7", "newsletter")
	fmt.Println("after confirmation:", ok)

	_, err = ledger.Confirm(ctx, token, consent.Evidence{})
	fmt.Println("used again:", errors.Is(err, consent.ErrTokenUsed))
	// Output:
	// true
	// before confirmation: false
	// <nil>
	// after confirmation: true
	// used again: true
}

func ExampleUnsubscriber() {
	secret := []byte("0123456789abcdef0123456789abcdef") // 32 random bytes in real life
	u, _ := consent.NewUnsubscriber(secret)
	token, _ := u.Sign(consent.Claims{Subject: "user-42", Purpose: "newsletter", Contact: consent.Email})
	fmt.Println(strings.Contains(token, "user-42"))

	claims, err := u.Verify(token) // no database needed
	fmt.Println(string(claims.Subject), claims.Purpose, claims.Contact, err)
	// Output:
	// false
	// user-42 newsletter email <nil>
}

func ExampleVerifyReceipt() {
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(nil)
	controller := consent.Controller{Name: "Example Ltd", Contact: "Data Protection Officer",
		Address: consent.PostalAddress{StreetAddress: "1 Example Street", PostalCode: "10115", Locality: "Berlin", Country: "DE"},
		Email:   "privacy@example.com", Phone: "+49 30 1234567", PolicyURL: "https://example.com/privacy"}
	ledger, _ := consent.New(memconsent.New(), consent.WithReceipts(priv, controller, "EU"))
	_, _ = ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("…")})
	e, _ := ledger.Give(ctx, consent.Choice{Subject: "user-42", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}})

	_, jws, _ := ledger.Receipt(ctx, e.ID) // hand this to the subject

	r, err := consent.VerifyReceipt(jws, pub)
	fmt.Println(err, r.Version, r.PIIPrincipalID, r.ConsentReceiptID == e.ID)
	// Output:
	// <nil> KI-CR-v1.1.0 user-42 true
}

func ExampleLedger_Decide_register() {
	ctx := context.Background()
	reg := &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "mailings", Name: "Offers to customers", Purpose: "customer_offers",
			Basis: gdpr.LegitimateInterests, LegitimateInterestAssessment: "LIA-7",
			SubjectCategories: []string{"customers"}, DataCategories: []gdpr.Category{{ID: "contact"}},
			Retention: gdpr.RetentionRule{Description: "while a customer"},
		}},
	}
	ledger, err := consent.New(memconsent.New(), consent.WithRegister(reg))
	if err != nil {
		panic(err)
	}
	q := consent.Query{Subject: "user-42", Purpose: "customer_offers", Contact: consent.SMS}
	d, _ := ledger.Decide(ctx, q)
	fmt.Println(d.Allowed, d.Reason, d.Basis.Article())

	_, _ = ledger.Object(ctx, consent.Choice{Subject: "user-42", Purpose: "customer_offers", Contact: consent.SMS})
	d, _ = ledger.Decide(ctx, q)
	fmt.Println(d.Allowed, d.Reason)
	// Output:
	// true not_consent_based Art. 6(1)(f)
	// false objected
}

// The README's consent tour, over memconsent. A Ledger issues unsubscribe
// links only with WithUnsubscriber and receipts only with WithReceipts, so
// the tour configures both; the receipt is for the event Confirm returns.
func Example_readme() {
	ctx := context.Background()
	reg := &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "newsletter", Name: "Newsletter", Purpose: "newsletter", Basis: gdpr.Consent,
			SubjectCategories: []string{"subscribers"}, DataCategories: []gdpr.Category{{ID: "contact"}},
			Retention: gdpr.RetentionRule{Description: "until withdrawal"},
		}},
	}
	var auditLog gdpr.Recorder = gdpr.Discard                       // an *audit.Log in a host
	unsubscribeSecret := []byte("0123456789abcdef0123456789abcdef") // 32 random bytes in real life
	receiptPub, receiptKey, _ := ed25519.GenerateKey(nil)
	controller := consent.Controller{Name: "Example Ltd", Contact: "Data Protection Officer",
		Address: consent.PostalAddress{StreetAddress: "1 Example Street", PostalCode: "10115", Locality: "Berlin", Country: "DE"},
		Email:   "privacy@example.com", Phone: "+49 30 1234567", PolicyURL: "https://example.com/privacy"}
	text := "May we e-mail you our monthly newsletter?"
	addr := netip.MustParseAddr("198.51.100.23")
	send := func() { fmt.Println("sending") }

	store := memconsent.New() // in production: sqlconsent.New(db, dialect), then store.Migrate(ctx)
	unsub, _ := consent.NewUnsubscriber(unsubscribeSecret)
	ledger, _ := consent.New(store, consent.WithRegister(reg), consent.WithRecorder(auditLog),
		consent.WithUnsubscriber(unsub),                    // for UnsubscribeToken and Unsubscribe
		consent.WithReceipts(receiptKey, controller, "EU")) // for Receipt

	ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText(text)})

	// Double opt-in: nothing is allowed until the link comes back.
	_, token, _ := ledger.Request(ctx, consent.Choice{Subject: "user-42", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}, Method: consent.MethodCheckbox,
		Evidence: consent.Evidence{IPPrefix: consent.TruncateIP(addr)}})
	given, _ := ledger.Confirm(ctx, token, consent.Evidence{})

	// May we? The answer comes with the event that proves it (Art. 7(1)).
	d, _ := ledger.Decide(ctx, consent.Query{Subject: "user-42", Purpose: "newsletter", Contact: consent.Email})
	if d.Allowed {
		send()
	} // else d.Reason: none, refused, withdrawn, expired, stale, not_explicit, objected
	fmt.Println(d.Allowed, d.Reason, d.Event.ID == given.ID)

	// Withdrawal is as easy as giving: one call, or a signed link in every message.
	link, _ := ledger.UnsubscribeToken("user-42", "newsletter", consent.Email, 0)
	ledger.Unsubscribe(ctx, link, consent.Evidence{})
	d, _ = ledger.Decide(ctx, consent.Query{Subject: "user-42", Purpose: "newsletter", Contact: consent.Email})
	fmt.Println(d.Allowed, d.Reason)

	// A receipt the subject keeps (Kantara Consent Receipt 1.1, signed as a JWS).
	_, jws, _ := ledger.Receipt(ctx, given.ID)
	r, err := consent.VerifyReceipt(jws, receiptPub)
	fmt.Println(err, r.ConsentReceiptID == given.ID)

	// Erasure and access go through the root contracts.
	var _ gdpr.Eraser = ledger
	var _ gdpr.Exporter = ledger
	// Output:
	// sending
	// true given true
	// false withdrawn
	// <nil> true
}
