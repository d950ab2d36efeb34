package webhook_test

// A verifier and a signer written from the Standard Webhooks
// specification 1.0.0 (spec/standard-webhooks.md, "Signature scheme",
// "Webhook headers", "Verifying signatures"), apart from the package's own
// code: nothing here calls package webhook. The tests check the package's
// deliveries with them, and the package's Verifier against what they sign.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// specKey decodes a secret: "whsec_" and the base64 of the key.
func specKey(secret string) []byte {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic("bad test secret")
	}
	return k
}

// specSignature is "v1," and the base64 of HMAC-SHA256 over
// "{msg_id}.{timestamp}.{payload}".
func specSignature(secret, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, specKey(secret))
	m.Write([]byte(id + "." + ts + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// specHeaders returns the three headers of a delivery signed with each of
// secrets, at now.
func specHeaders(id string, now time.Time, body []byte, secrets ...string) http.Header {
	ts := strconv.FormatInt(now.Unix(), 10)
	var sigs []string
	for _, s := range secrets {
		sigs = append(sigs, specSignature(s, id, ts, body))
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", strings.Join(sigs, " "))
	return h
}

var (
	errSpecHeaders   = errors.New("spec: missing headers")
	errSpecStale     = errors.New("spec: timestamp outside tolerance")
	errSpecSignature = errors.New("spec: no matching signature")
)

// specVerify accepts a delivery if its timestamp is within tolerance of
// now, either way, and any v1 signature in the space-delimited list
// matches the one computed with secret, compared in constant time.
func specVerify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errSpecHeaders
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errSpecHeaders
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return errSpecStale
	}
	want := []byte(specSignature(secret, id, ts, body))
	for _, s := range strings.Split(sigs, " ") {
		if hmac.Equal([]byte(s), want) {
			return nil
		}
	}
	return errSpecSignature
}

// The spec's published test vector, as the official libraries' tests
// (libraries/*/tests, e.g. python/tests/test_webhooks.py
// test_sign_function, php testSignFunctionWorks) have it.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)
