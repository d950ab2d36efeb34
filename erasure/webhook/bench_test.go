package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/erasure/webhook"
)

// Signing and verifying against their raw baseline, HMAC-SHA256 over the
// same bytes in the same run; see BENCHMARKS.md.
//
//	go test -run '^$' -bench 'Sign|Verify|Seen' -benchmem -count 5 ./erasure/webhook/

// rawMAC is the baseline: a new HMAC-SHA256 keyed with the secret's key,
// over the signed content id.timestamp.body, its sum.
func rawMAC(key, content []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(content)
	return m.Sum(nil)
}

func benchInput(b *testing.B) (webhook.Secret, []byte, string, []byte) {
	s := mustSecret(b, secretA)
	body := payload("0190a3b2-7d1e-7f00-8a2b-123456789012-3")
	id := "0190a3b2-7d1e-7f00-8a2b-123456789012-3"
	content := []byte(id + "." + strconv.FormatInt(t0.Unix(), 10) + "." + string(body))
	return s, body, id, content
}

func BenchmarkSign(b *testing.B) {
	s, body, id, content := benchInput(b)
	key := specKey(secretA)
	b.Run("raw-hmac", func(b *testing.B) {
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			rawMAC(key, content)
		}
	})
	b.Run("sign", func(b *testing.B) {
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			webhook.Sign(s, id, t0, body)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s, body, id, content := benchInput(b)
	key := specKey(secretA)
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(t0.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(s, id, t0, body))
	want := rawMAC(key, content)
	v, err := webhook.NewVerifier([]webhook.Secret{s}, webhook.WithClock(func() time.Time { return t0 }), webhook.WithSeen(nopSeen{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("raw-hmac", func(b *testing.B) {
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			if !hmac.Equal(rawMAC(key, content), want) {
				b.Fatal("mismatch")
			}
		}
	})
	// Headers, tolerance, signature (and a claim in a store that keeps
	// nothing): the check of any payload.
	b.Run("authenticate", func(b *testing.B) {
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			if _, _, err := v.Authenticate(b.Context(), h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	// And the payload decoded and checked.
	b.Run("verify", func(b *testing.B) {
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			if _, err := v.Verify(b.Context(), h, body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkSeen is the default replay store's Claim of a new ID, which
// expires, against a plain map insert and delete.
func BenchmarkSeen(b *testing.B) {
	ids := make([]string, 1<<12)
	for i := range ids {
		ids[i] = "0190a3b2-7d1e-7f00-8a2b-12345678" + strconv.Itoa(10000+i) + "-3"
	}
	b.Run("map-baseline", func(b *testing.B) {
		m := map[string]time.Time{}
		i := 0
		for b.Loop() {
			m[ids[i%len(ids)]] = t0
			delete(m, ids[(i+len(ids)/2)%len(ids)])
			i++
		}
	})
	b.Run("memseen", func(b *testing.B) {
		s := webhook.NewMemSeen(0)
		i := 0
		for b.Loop() {
			// One second per claim, each claimed for 2048 s: the set holds
			// 2048 IDs, and each Claim expires one.
			now := t0.Add(time.Duration(i) * time.Second)
			if c, err := s.Claim(b.Context(), ids[i%len(ids)], now, now.Add(time.Duration(len(ids)/2)*time.Second)); c != webhook.ClaimNew || err != nil {
				b.Fatal(c, err)
			}
			i++
		}
	})
}
