package gdpr

import "context"

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
