package memconsent_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// mayEmail is host code under test: it asks a consent.Store whether a
// newsletter may go out by e-mail.
func mayEmail(ctx context.Context, s consent.Store, subject gdpr.SubjectID, now time.Time) (bool, error) {
	cur, err := s.Latest(ctx, consent.Query{Subject: subject, Purpose: "newsletter", Contact: consent.Email, At: now})
	if errors.Is(err, consent.ErrNotFound) {
		return false, nil // never asked: no consent
	} else if err != nil {
		return false, err
	}
	e := cur.Event
	fresh := cur.LatestMaterial <= e.Notice.Version
	unexpired := e.ExpiresAt.IsZero() || now.Before(e.ExpiresAt)
	return e.Kind == consent.Given && fresh && unexpired, nil
}

// The store as a fake: arrange a subject's history by appending events
// directly, then run the host code against it.
func Example() {
	ctx := context.Background()
	store := memconsent.New()
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

	_ = store.PutNotice(ctx, consent.Notice{
		ID: "newsletter", Version: 1, TextHash: "9f86d081884c7d65…", Material: true, Published: t0,
	})
	event := func(id string, kind consent.Kind, contact consent.Contact, at time.Time) consent.Event {
		return consent.Event{
			ID: id, Subject: "user-1", Purpose: "newsletter", Contact: contact, Kind: kind, Time: at,
			Actor: gdpr.SubjectActor(), Notice: consent.NoticeRef{ID: "newsletter", Version: 1},
			Method: consent.MethodCheckbox, Basis: gdpr.Consent,
		}
	}
	_ = store.Append(ctx, event("0195a1b2-0000-7000-8000-000000000001", consent.Given, consent.AllContacts, t0.Add(time.Hour)))
	_ = store.Append(ctx, event("0195a1b2-0000-7000-8000-000000000002", consent.Withdrawn, consent.SMS, t0.Add(2*time.Hour)))

	now := t0.Add(24 * time.Hour)
	ok, _ := mayEmail(ctx, store, "user-1", now)
	fmt.Println("e-mail after an SMS-only withdrawal:", ok)

	_ = store.Append(ctx, event("0195a1b2-0000-7000-8000-000000000003", consent.Withdrawn, consent.AllContacts, t0.Add(3*time.Hour)))
	ok, _ = mayEmail(ctx, store, "user-1", now)
	fmt.Println("e-mail after withdrawal from every channel:", ok)

	n, _ := store.DeleteSubject(ctx, "user-1")
	ok, _ = mayEmail(ctx, store, "user-1", now)
	fmt.Println("erased events:", n, "e-mail after erasure:", ok)
	// Output:
	// e-mail after an SMS-only withdrawal: true
	// e-mail after withdrawal from every channel: false
	// erased events: 3 e-mail after erasure: false
}
