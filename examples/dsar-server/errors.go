package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
)

// statusOf maps an error to the status of its answer: the app's own
// refusals carry theirs, the library's errors map by their sentinels, and
// anything else is a 500.
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
	}
	return libraryStatus(err)
}

func libraryStatus(err error) int {
	switch {
	case errors.Is(err, gdpr.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, gdpr.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, gdpr.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, gdpr.ErrRestricted):
		return http.StatusForbidden
	case errors.Is(err, gdpr.ErrShredded):
		return http.StatusGone
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
