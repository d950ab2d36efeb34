package fake_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/gdprtest/fake"
)

// signup is the host's code under test.
func signup(ctx context.Context, l *consent.Ledger, user string) error {
	_, err := l.Give(ctx, consent.Choice{Subject: gdpr.SubjectID(user), Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}, Method: consent.MethodCheckbox})
	return err
}

// A host's unit test gets the ledger, the keyring and the trail in one
// call, and asserts on the events.
func Example() {
	t := &testing.T{} // in a test: the test's *testing.T
	ctx := context.Background()

	k := fake.New(t, nil) // the Ledger, Keys and Trail over memory stores, wired together
	k.Ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("v1")})
	if err := signup(ctx, k.Ledger, "user-42"); err != nil {
		t.Fatal(err)
	}
	fmt.Println(k.Events.Actions()) // every event, in clear, for the test
	// Output: [consent.notice_published consent.given]
}
