package gdpr

import (
	"context"
	"fmt"
)

// Who acts and why travels with the request, in its context: a host sets
// them once, in the middleware that authenticates the caller, and every
// package of this module names that actor and purpose in the audit events
// it records for calls made with the context. Without them a package names
// itself (a system actor such as "crypto") and no purpose.

type actorKey struct{}

type purposeKey struct{}

// WithActor returns a copy of ctx that carries a as the actor of every
// call made with it: the staff member behind a support tool, the subject
// in their privacy center, the worker running a sweep. An invalid Actor
// is carried as given; packages validate it when they use it and refuse
// the call with an error wrapping ErrInvalid.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor WithActor put in ctx, and whether there was
// one. A nil ctx has none.
func ActorFrom(ctx context.Context) (Actor, bool) {
	if ctx == nil {
		return Actor{}, false
	}
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// WithPurpose returns a copy of ctx that carries p as the purpose of the
// processing done with it (Art. 5(1)(b)), e.g. "support" when a staff
// member opens a ticket and decrypts the customer's address.
func WithPurpose(ctx context.Context, p Purpose) context.Context {
	return context.WithValue(ctx, purposeKey{}, p)
}

// PurposeFrom returns the purpose WithPurpose put in ctx, and whether
// there was one. A nil ctx has none.
func PurposeFrom(ctx context.Context) (Purpose, bool) {
	if ctx == nil {
		return "", false
	}
	p, ok := ctx.Value(purposeKey{}).(Purpose)
	return p, ok
}

type allowanceKey struct{}

// Allowance is a ground of Art. 18(2) on which data whose processing is
// restricted may still be processed, or, for an objection under Art. 21(1),
// the legal claims that Art. 21(1) itself admits. A caller that processes
// under one says so in its context (WithAllowance); a restriction check
// (erasure.Engine.Check, and the crypto Guard built on it) answers
// accordingly, and records that the allowance was relied on.
type Allowance string

// The allowances of Art. 18(2). AllowNone is the zero value: processing
// with no exception claimed.
const (
	AllowNone Allowance = ""
	// AllowStorage: storing the data, which a restriction never forbids
	// ("with the exception of storage", Art. 18(2)): a backup, a key
	// rotation, a re-encryption.
	AllowStorage Allowance = "storage"
	// AllowConsent: processing with the data subject's consent.
	AllowConsent Allowance = "consent"
	// AllowLegalClaims: for the establishment, exercise or defence of
	// legal claims (also an exception to an objection, Art. 21(1)).
	AllowLegalClaims Allowance = "legal_claims"
	// AllowOtherPerson: for the protection of the rights of another
	// natural or legal person.
	AllowOtherPerson Allowance = "protection_of_others"
	// AllowPublicInterest: for reasons of important public interest of
	// the Union or of a Member State.
	AllowPublicInterest Allowance = "public_interest"
)

// Allowances lists the allowances of Art. 18(2), AllowNone aside.
func Allowances() []Allowance {
	return []Allowance{AllowStorage, AllowConsent, AllowLegalClaims, AllowOtherPerson, AllowPublicInterest}
}

// Validate reports whether a is AllowNone or one of Allowances; the error
// wraps ErrInvalid and quotes the value only when it looks like a key.
func (a Allowance) Validate() error {
	switch a {
	case AllowNone, AllowStorage, AllowConsent, AllowLegalClaims, AllowOtherPerson, AllowPublicInterest:
		return nil
	}
	return fmt.Errorf("%w: unknown allowance %s (Art. 18(2) admits storage, consent, legal_claims, protection_of_others, public_interest)", ErrInvalid, showKey(string(a)))
}

// WithAllowance returns a copy of ctx that carries a: the calls made with
// it process restricted data on that ground of Art. 18(2). The caller is
// accountable for the claim; the packages that honour it record it.
func WithAllowance(ctx context.Context, a Allowance) context.Context {
	return context.WithValue(ctx, allowanceKey{}, a)
}

// AllowanceFrom returns the allowance WithAllowance put in ctx, or
// AllowNone. A nil ctx has none.
func AllowanceFrom(ctx context.Context) Allowance {
	if ctx == nil {
		return AllowNone
	}
	a, _ := ctx.Value(allowanceKey{}).(Allowance)
	return a
}
