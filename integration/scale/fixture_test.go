package scale_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/insecuredevkeys"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// fixture is what the parts share: the keys, the register, and what
// earlier parts left for later ones.
type fixture struct {
	e  *env
	kk kit.Keys
	// previous are the KEKs retired by the key part's rotation, passed
	// to every later kit as crypto.WithPreviousKEKs.
	previous []crypto.KEK
	reg      *gdpr.Register
}

// subj is the i'th generated subject; SQL spells it
// 'subj-' || lpad(i::text, 7, '0').
func subj(i int64) gdpr.SubjectID { return gdpr.SubjectID(fmt.Sprintf("subj-%07d", i)) }

const subjSQL = "'subj-' || lpad(%s::text, 7, '0')"

// erased is the subject the erasure part erases: one with consent events,
// a key and audit entries.
const erased = 7

func openFixture(e *env) *fixture {
	t := e.t
	t.Helper()
	dev, err := insecuredevkeys.Load(t.TempDir() + "/keys.json")
	if err != nil {
		t.Fatal(err)
	}
	signer, verifier, err := dev.AuditSigner()
	if err != nil {
		t.Fatal(err)
	}
	subjectKey := make([]byte, 32)
	rand.Read(subjectKey)
	f := &fixture{e: e, reg: register(), kk: kit.Keys{KEK: dev.KEK(), AuditSigner: signer, AuditVerifier: verifier,
		PseudonymKey: dev.PseudonymKey(), SubjectKey: subjectKey, ReceiptKey: dev.ReceiptKey(),
		UnsubscribeSecrets: [][]byte{dev.UnsubscribeSecret()}}}
	// The first kit migrates every store's tables.
	k := f.openKit(t)
	if err := k.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return f
}

func register() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "newsletter", Name: "Monthly newsletter", Purpose: "newsletter", Basis: gdpr.Consent,
			DirectMarketing: true, SubjectCategories: []string{"subscribers"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "e-mail address"}},
			Retention:      gdpr.RetentionRule{Description: "until the subscriber withdraws"},
		}},
	}
}

// openKit opens a kit on the capturing pool with the caches off (so an
// erasure completes at once, and every key load is a cold one), closed
// when t ends unless the caller closes it first.
func (f *fixture) openKit(t testing.TB, opts ...kit.Option) *kit.Kit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	base := []kit.Option{
		kit.WithTablePrefix(prefix),
		kit.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		kit.WithCryptoOptions(crypto.WithCache(0, 0), crypto.WithPreviousKEKs(f.previous...)),
		kit.WithAuditOptions(audit.WithPseudonymCache(0, 0)),
		kit.WithErasureOptions(erasure.WithPoll(50*time.Millisecond), erasure.WithRestrictionCache(50*time.Millisecond)),
	}
	if len(f.previous) == 0 {
		base[2] = kit.WithCryptoOptions(crypto.WithCache(0, 0))
	}
	k, err := kit.Open(ctx, f.e.cdb, sqldialect.Postgres, f.reg, f.kk, append(base, opts...)...)
	if err != nil {
		t.Fatalf("kit.Open: %v", err)
	}
	t.Cleanup(func() { k.Close(context.Background()) })
	return k
}
