package exporttest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
)

// base is the instant the suites count from: fixed, in 2025, so a
// store's clock plays no part.
var base = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

// at returns the instant n minutes after base.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// NewID returns a new delivery ID, a UUIDv7 as the Deliverer makes.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// TokenHash returns the SHA-256 of token, as a DeliveryPart's TokenHash.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// randomHash returns a fresh random 32-byte token hash.
func randomHash() []byte {
	b := make([]byte, 32)
	rand.Read(b)
	return b
}

// NewDelivery returns a delivery of subject with a fresh ID, made at
// created and expiring a day later, with parts parts, each with a fresh
// random TokenHash, a blob name of [a-z0-9-] and a size; no part is
// downloaded. It is an access bundle outside any request.
func NewDelivery(subject gdpr.SubjectID, created time.Time, parts int) export.Delivery {
	d := export.Delivery{
		ID: NewID(), Kind: gdpr.KindAccess, Subject: subject,
		Created: created, Expires: created.Add(24 * time.Hour),
	}
	for i := range parts {
		h := randomHash()
		d.Parts = append(d.Parts, export.DeliveryPart{
			TokenHash: h, Blob: "blob-" + hex.EncodeToString(h[:8]), Size: int64(1000*(i+1) + i),
		})
	}
	return d
}

// clone returns a deep copy of d.
func clone(d export.Delivery) export.Delivery {
	d.Parts = append([]export.DeliveryPart(nil), d.Parts...)
	for i := range d.Parts {
		d.Parts[i].TokenHash = bytes.Clone(d.Parts[i].TokenHash)
	}
	return d
}

// stored is d as a Store gives it back: every time to the microsecond.
func stored(d export.Delivery) export.Delivery {
	d = clone(d)
	d.Created, d.Expires = micro(d.Created), micro(d.Expires)
	for i := range d.Parts {
		d.Parts[i].Downloaded = micro(d.Parts[i].Downloaded)
	}
	return d
}

func micro(t time.Time) time.Time { return t.Truncate(time.Microsecond) }

// timeDiff says how got differs from want, compared as instants; "" if
// they are equal.
func timeDiff(got, want time.Time) string {
	if got.Equal(want) && got.IsZero() == want.IsZero() {
		return ""
	}
	return fmt.Sprintf("got %s, want %s", showTime(got), showTime(want))
}

func showTime(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339Nano)
}

// deliveryDiff lists how got differs from want.
func deliveryDiff(got, want export.Delivery) []string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s: got %q, want %q", name, g, w))
		}
	}
	str("ID", got.ID, want.ID)
	str("Request", got.Request, want.Request)
	str("Kind", string(got.Kind), string(want.Kind))
	// The subject is compared, never printed.
	if got.Subject != want.Subject {
		d = append(d, "Subject: not the one created")
	}
	if s := timeDiff(got.Created, want.Created); s != "" {
		d = append(d, "Created: "+s)
	}
	if s := timeDiff(got.Expires, want.Expires); s != "" {
		d = append(d, "Expires: "+s)
	}
	if len(got.Parts) != len(want.Parts) {
		return append(d, fmt.Sprintf("Parts: got %d, want %d", len(got.Parts), len(want.Parts)))
	}
	for i, gp := range got.Parts {
		wp := want.Parts[i]
		if !bytes.Equal(gp.TokenHash, wp.TokenHash) {
			d = append(d, fmt.Sprintf("Parts[%d].TokenHash: not the one created (in order)", i))
		}
		str(fmt.Sprintf("Parts[%d].Blob", i), gp.Blob, wp.Blob)
		if gp.Size != wp.Size {
			d = append(d, fmt.Sprintf("Parts[%d].Size: got %d, want %d", i, gp.Size, wp.Size))
		}
		if s := timeDiff(gp.Downloaded, wp.Downloaded); s != "" {
			d = append(d, fmt.Sprintf("Parts[%d].Downloaded: %s", i, s))
		}
	}
	return d
}

// wantDelivery fails t if got is not want as the Store keeps it.
func wantDelivery(t *testing.T, call string, got, want export.Delivery) {
	t.Helper()
	if d := deliveryDiff(got, stored(want)); len(d) > 0 {
		t.Errorf("%s returned a delivery that differs from the one stored (%s):\n\t%s", call, roundTripContract, strings.Join(d, "\n\t"))
	}
}

func ids(ds []export.Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// isNotFound, isConflict, isInvalid: the package's sentinel and the root
// package's both.
func isNotFound(err error) bool {
	return errors.Is(err, export.ErrNotFound) && errors.Is(err, gdpr.ErrNotFound)
}

func isConflict(err error) bool {
	return errors.Is(err, export.ErrConflict) && errors.Is(err, gdpr.ErrConflict)
}

func isInvalid(err error) bool {
	return errors.Is(err, export.ErrInvalid) && errors.Is(err, gdpr.ErrInvalid)
}
