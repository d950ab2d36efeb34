package sqlretention

import (
	"context"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr/internal/dialect"
	"github.com/gdprkit/gdpr/retention"
)

// Errors. Every error is a *retention.Error whose Op is
// "sqlretention.<method>"; the conditions of the contract wrap the retention
// sentinels with fixed texts, database errors are redacted to their
// codes.

func condErr(op string, sentinel error, detail string) error {
	return &retention.Error{Op: "sqlretention." + op, Err: fmt.Errorf("%w: %s", sentinel, detail)}
}

// storeErr wraps a database error, with the server's message withheld
// (dialect.Redact): servers quote bound values in their messages and
// details, and those values are subject IDs. A
// *retention.Error passes unchanged.
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ee *retention.Error
	if errors.As(err, &ee) {
		return err
	}
	return &retention.Error{Op: "sqlretention." + op, Err: dialect.Redact(err)}
}

var errNilContext = fmt.Errorf("%w: nil context", retention.ErrInvalid)

// checkCtx refuses a nil context (database/sql would panic on it), and
// returns the error of one that is done before the call starts.
func checkCtx(op string, ctx context.Context) error {
	if ctx == nil {
		return &retention.Error{Op: "sqlretention." + op, Field: "ctx", Err: errNilContext}
	}
	if err := ctx.Err(); err != nil {
		return &retention.Error{Op: "sqlretention." + op, Err: err}
	}
	return nil
}

// fieldErr is the error of op about an input field: retention.ErrInvalid
// with a fixed detail.
func fieldErr(op, field, detail string) error {
	return &retention.Error{Op: "sqlretention." + op, Field: field, Err: fmt.Errorf("%w: %s", retention.ErrInvalid, detail)}
}
