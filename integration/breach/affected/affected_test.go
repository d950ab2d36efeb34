// Package affected_test finds the subjects of a breach from a real audit
// trail (audit.Log) and keyring (crypto.Keyring), on every database.
package affected_test

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/membreach"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

const (
	nEntries  = 100_000
	nSubjects = 10_000
)

func subject(i int) gdpr.SubjectID { return gdpr.SubjectID(fmt.Sprintf("customer-%05d", i)) }

// world is a trail of nEntries reads of nSubjects customers' records by
// ten support agents, one second apart, and what a breach of agent-3's
// account over a window of it must find.
type world struct {
	base, since, until time.Time
	want               []gdpr.SubjectID // read by agent-3 in the window, in candidate order
	unintelligible     []gdpr.SubjectID // of want: payment data only, key made before the window
	outside            map[gdpr.SubjectID]bool
}

func paymentOnly(i int) bool { return i%7 == 0 }
func hasKey(i int) bool      { return i%7 == 0 && i%2 == 0 }

func build(t *testing.T, trail *audit.Log, keys *crypto.Keyring) world {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	w := world{base: now.Add(-nEntries * time.Second), outside: map[gdpr.SubjectID]bool{}}
	w.since, w.until = w.base.Add(40_000*time.Second), w.base.Add(60_000*time.Second)
	// The keys of the customers with encrypted payment data, made before
	// the window (the Keyring's clock says an hour before the trail).
	for i := 0; i < nSubjects; i++ {
		if hasKey(i) {
			if _, err := keys.Encrypt(ctx, subject(i), crypto.Field{Table: "payments", Column: "card"}, []byte("4111 1111 1111 1111")); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := mrand.New(mrand.NewPCG(1, 2))
	in := map[int]bool{}
	batch := make([]gdpr.Event, 0, audit.MaxAppend)
	for n := 0; n < nEntries; n++ {
		s := r.IntN(nSubjects)
		agent := r.IntN(10)
		at := w.base.Add(time.Duration(n) * time.Second)
		cats := []string{"contact", "orders"}
		if paymentOnly(s) {
			cats = []string{"payment"}
		}
		batch = append(batch, gdpr.Event{Time: at, Actor: gdpr.Staff(fmt.Sprintf("agent-%d", agent)), Action: "crm.read",
			Subject: subject(s), Categories: cats, Resource: fmt.Sprintf("customer/%d", s), Outcome: gdpr.Success})
		if agent == 3 {
			if !at.Before(w.since) && at.Before(w.until) {
				in[s] = true
			} else {
				w.outside[subject(s)] = true
			}
		}
		if len(batch) == cap(batch) || n == nEntries-1 {
			if _, err := trail.Append(ctx, batch...); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	for i := 0; i < nSubjects; i++ {
		if in[i] {
			w.want = append(w.want, subject(i))
			delete(w.outside, subject(i))
			if paymentOnly(i) && hasKey(i) {
				w.unintelligible = append(w.unintelligible, subject(i))
			}
		}
	}
	return w
}

// candidates is the host's customer list, with 1,000 never recorded.
func candidates(yield func(gdpr.SubjectID, error) bool) {
	for i := 0; i < nSubjects+1000; i++ {
		if !yield(subject(i), nil) {
			return
		}
	}
}

func run(t *testing.T, as audit.Store, ks crypto.Store, bs breach.Store, salts func() int64) {
	ctx := context.Background()
	pkey := make([]byte, 32)
	rand.Read(pkey)
	skey, _, err := audit.GenerateKey("breach.test/trail")
	if err != nil {
		t.Fatal(err)
	}
	signer, verifier, err := audit.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.New(ctx, as, pkey, signer, verifier, audit.WithAnchor(&audit.FileAnchor{Dir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	defer trail.Close(ctx)
	kek, err := crypto.EphemeralKEK("kms-v3")
	if err != nil {
		t.Fatal(err)
	}
	keyClock := time.Now().Add(-nEntries*time.Second - time.Hour)
	keys, err := crypto.New(ctx, ks, kek, crypto.WithClock(func() time.Time { return keyClock }))
	if err != nil {
		t.Fatal(err)
	}
	w := build(t, trail, keys)
	log, err := breach.New(bs, pkey, breach.WithTrail(trail), breach.WithKeys(keys), breach.WithRecorder(trail))
	if err != nil {
		t.Fatal(err)
	}
	b, err := log.Record(ctx, breach.Report{Aware: time.Now().Add(-time.Hour), Details: breach.Details{
		Description: "agent-3's session token was stolen and used to read customer records.",
		Nature:      []breach.Nature{breach.Confidentiality}, Categories: []string{"contact", "orders", "payment"}}})
	if err != nil {
		t.Fatal(err)
	}
	before := salts()
	scope := breach.Scope{TrailQuery: gdpr.TrailQuery{Since: w.since, Until: w.until, Actor: gdpr.Staff("agent-3")},
		Encrypted: []string{"payment"}, SafeKEKs: []string{"kms-v3"}}
	var got, apart []gdpr.SubjectID
	a, err := log.Affected(ctx, b.ID, scope, candidates, func(s breach.Subject) error {
		if w.outside[s.ID] {
			t.Errorf("%s was read by agent-3 only outside the window", s.ID)
		}
		if s.First.Before(w.since) || !s.Last.Before(w.until) {
			t.Errorf("%s: entries from %v to %v, outside the window", s.ID, s.First, s.Last)
		}
		got = append(got, s.ID)
		if s.Unintelligible {
			apart = append(apart, s.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, w.want) {
		t.Errorf("found %d subjects, want %d (agent-3's reads in the window)", len(got), len(w.want))
	}
	if !slices.Equal(apart, w.unintelligible) || len(apart) == 0 {
		t.Errorf("%d unintelligible, want %d", len(apart), len(w.unintelligible))
	}
	if a.Subjects != int64(len(w.want)) || a.Candidates != nSubjects+1000 || a.Unmatched != 0 || a.Entries < 1500 {
		t.Errorf("counts %+v", a)
	}
	if after := salts(); after != before {
		t.Errorf("matching the candidates made %d salts (the 1,000 never recorded must leave no trace)", after-before)
	}
	t.Logf("%d entries in the window by agent-3, %d subjects, %d unintelligible, %d read only outside the window",
		a.Entries, a.Subjects, a.Unintelligible, len(w.outside))
	// The trail still verifies with the breach's own entries in it.
	if rep, err := trail.Verify(ctx, audit.VerifyOptions{}); err != nil || !rep.OK() {
		t.Errorf("Verify = %+v, %v", rep, err)
	}
}

// saltCounting counts the salts a memaudit Store is asked to create
// outside an append (Store.Salt): matching candidates must ask for none.
type saltCounting struct {
	*memaudit.Store
	n atomic.Int64
}

func (s *saltCounting) Salt(ctx context.Context, ref, fresh []byte) ([]byte, error) {
	s.n.Add(1)
	return s.Store.Salt(ctx, ref, fresh)
}

func TestAffectedMemory(t *testing.T) {
	as := &saltCounting{Store: memaudit.New()}
	run(t, as, memkeys.New(), membreach.New(), as.n.Load)
}

func TestAffectedSQL(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		db := testdb.Open(t, d)
		as := testdb.Migrated(t, d, db, sqlaudit.New)
		ks := testdb.Migrated(t, d, db, sqlkeys.New)
		bs := testdb.Migrated(t, d, db, sqlbreach.New)
		run(t, as, ks, bs, func() int64 {
			var n int64
			if err := db.QueryRow("SELECT COUNT(*) FROM gdpr_audit_salts").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		})
	})
}
