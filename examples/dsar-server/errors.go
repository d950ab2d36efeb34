package main

import (
	"errors"
	"net/http"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/gdprhttp"
)

// statusOf maps an error to the status of its answer: the app's own
// refusals carry theirs, a few of the library's sentinels map to a finer
// status than their root sentinel's, and the rest map by gdprhttp.Status
// (ErrInvalid 400, ErrNotFound 404, ErrConflict 409, ErrRestricted 403,
// ErrShredded 410, anything else 500).
func statusOf(err error) int {
	var ue *userError
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &ue):
		return ue.status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, erasure.ErrIllegalTransition), errors.Is(err, erasure.ErrRefused):
		return http.StatusConflict
	case errors.Is(err, crypto.ErrRestricted):
		return http.StatusForbidden
	case errors.Is(err, erasure.ErrTooManyAttempts):
		return http.StatusTooManyRequests
	case errors.Is(err, export.ErrSpent):
		return http.StatusGone
	case errors.Is(err, audit.ErrClosed), errors.Is(err, erasure.ErrNotify):
		return http.StatusServiceUnavailable // shutting down, or the mail hook is down: try again
	}
	return gdprhttp.Status(err)
}
