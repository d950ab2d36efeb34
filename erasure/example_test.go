package erasure_test

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
)

// accounts is a host's own table of personal data.
type accounts map[gdpr.SubjectID]string

func (a accounts) EraseSubject(_ context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	if _, ok := a[s]; !ok {
		return gdpr.ErasureReport{}, nil
	}
	delete(a, s)
	return gdpr.ErasureReport{Erased: 1}, nil
}

// invoices are kept for ten years under tax law: the target erases
// nothing and says why.
type invoices struct{}

func (invoices) EraseSubject(context.Context, gdpr.SubjectID) (gdpr.ErasureReport, error) {
	return gdpr.ErasureReport{Exemptions: []gdpr.Exemption{{Category: "invoices", Records: 3,
		Ground: gdpr.GroundLegalObligation, Reason: "kept for ten years under the tax code"}}}, nil
}

func Example() {
	ctx := context.Background()
	subjectKey := []byte("an example key of 32 bytes or more!") // from a secret store
	users := accounts{"user-42": "ann@example.org"}
	e, err := erasure.New(memerasure.New(), subjectKey,
		erasure.WithTargets(
			erasure.Target{Name: "accounts", Eraser: users},
			erasure.Target{Name: "invoices", Eraser: invoices{}},
		),
		erasure.WithClock(func() time.Time { return time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC) }),
	)
	if err != nil {
		panic(err)
	}
	// The subject asks, signed in: no further identity check is needed.
	r, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "user-42", Channel: "web"})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.State, "due by", r.Deadline.LastDay.Format("2 January 2006"))

	// A worker (Run) or the host's job system (Process) does the work.
	r, err = e.Process(ctx, r.ID)
	if err != nil {
		panic(err)
	}
	for _, s := range r.Steps {
		fmt.Println(s.Target, s.Outcome, s.Count)
	}
	for _, x := range r.Exemptions() {
		fmt.Println("kept:", x.Category, x.Ground.Article())
	}
	fmt.Println(r.State, r.State.DPV(), "subject kept:", r.Subject != "")
	// Output:
	// verified due by 10 April 2026
	// accounts erased 1
	// invoices retained 0
	// kept: invoices Art. 17(3)(b)
	// completed_with_exemptions dpv:RequestFulfilled subject kept: false
}

func ExampleEngine_Replay() {
	ctx := context.Background()
	users := accounts{"user-1": "a", "user-2": "b"}
	journal := memerasure.NewJournal() // in production: another database, or a FileJournal
	e, _ := erasure.New(memerasure.New(), []byte("an example key of 32 bytes or more!"),
		erasure.WithTargets(erasure.Target{Name: "accounts", Eraser: users}), erasure.WithJournal(journal))
	r, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "user-1"})
	e.Process(ctx, r.ID)

	// A backup from last week is restored: user-1 is back.
	users["user-1"] = "a"
	rep, err := e.Replay(ctx, []gdpr.SubjectID{"user-1", "user-2"})
	if err != nil {
		panic(err)
	}
	fmt.Println("checked", rep.Checked, "erased again", rep.Matched)
	_, back := users["user-1"]
	fmt.Println("user-1 present:", back, "user-2 present:", users["user-2"] != "")
	// Output:
	// checked 2 erased again 1
	// user-1 present: false user-2 present: true
}

func ExampleCodeVerifier() {
	ctx := context.Background()
	var inbox string
	v, _ := erasure.NewCodeVerifier(memerasure.NewCodeStore(), []byte("another key of at least 32 bytes!!"),
		func(_ context.Context, r gdpr.Request, code string) error {
			inbox = code // send it to the address on record for r.Subject
			return nil
		}, erasure.CodeOptions{})
	e, _ := erasure.New(memerasure.New(), []byte("an example key of 32 bytes or more!"),
		erasure.WithTargets(erasure.Target{Name: "accounts", Eraser: accounts{}}), erasure.WithVerifier(v))
	r, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "user-7", Channel: "email"})
	fmt.Println(r.State)
	_, err := e.ConfirmIdentity(ctx, r.ID, "12345678x")
	fmt.Println(err)
	r, _ = e.ConfirmIdentity(ctx, r.ID, inbox)
	fmt.Println(r.State)
	// Output:
	// awaiting_identity
	// erasure confirm_identity: invalid verification code
	// verified
}

func ExampleVerifyReceipt() {
	ctx := context.Background()
	key := ed25519.NewKeyFromSeed(make([]byte, 32)) // the controller's signing key
	e, _ := erasure.New(memerasure.New(), []byte("an example key of 32 bytes or more!"),
		erasure.WithTargets(erasure.Target{Name: "accounts", Eraser: accounts{"u": "x"}}),
		erasure.WithReceiptKey(key))
	r, _, _ := e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u"})
	e.Process(ctx, r.ID)
	jws, _ := e.Receipt(ctx, r.ID)

	// Anyone with the public key checks it, offline.
	rc, err := erasure.VerifyReceipt(jws, key.Public().(ed25519.PublicKey))
	if err != nil {
		panic(err)
	}
	fmt.Println(rc.State, rc.Steps[0].Target, rc.Steps[0].Outcome, rc.Steps[0].Count)
	// Output: completed accounts erased 1
}
