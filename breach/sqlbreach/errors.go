package sqlbreach

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/internal/dialect"
)

// Errors. Every error is a *breach.Error whose Op is
// "sqlbreach.<method>"; the conditions of the contract wrap the breach
// sentinels with fixed texts, database errors are redacted to their
// codes.

func condErr(op, field string, sentinel error, detail string) error {
	return &breach.Error{Op: "sqlbreach." + op, Field: field, Err: fmt.Errorf("%w: %s", sentinel, detail)}
}

// storeErr wraps a database error, with the server's message withheld
// (dialect.Redact): servers quote bound values in their messages and
// details. A *breach.Error passes unchanged.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var be *breach.Error
	if errors.As(err, &be) {
		return err
	}
	return &breach.Error{Op: "sqlbreach." + op, Err: dialect.Redact(err)}
}

// checked returns the error of one of breach's argument checks
// (breach.CheckEvent, CheckNotice, CheckLimit) with the Store's Op, its
// Field and cause kept.
func checked(op string, err error) error {
	if err == nil {
		return nil
	}
	var be *breach.Error
	if errors.As(err, &be) {
		return &breach.Error{Op: "sqlbreach." + op, Field: be.Field, Err: be.Err}
	}
	return &breach.Error{Op: "sqlbreach." + op, Err: err}
}

var errNilContext = fmt.Errorf("%w: nil context", breach.ErrInvalid)

// checkCtx refuses a nil context (database/sql would panic on it), and
// returns the error of one that is done before the call starts.
func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &breach.Error{Op: "sqlbreach." + op, Field: "ctx", Err: errNilContext}
	}
	if err := ctx.Err(); err != nil {
		return &breach.Error{Op: "sqlbreach." + op, Err: err}
	}
	return nil
}
