package scale_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/sqldialect"
)

var emailField = crypto.Field{Table: "profiles", Column: "email", Category: "contact"}

// batchStore is a crypto.Store whose Create keeps the record in memory
// instead of inserting it: a Keyring over it makes and wraps every
// subject's keyset itself (Encrypt of a subject without a key), and the
// suite writes the records with COPY. Everything else goes to the real
// store, which holds the Keyring's own keys.
type batchStore struct {
	crypto.Store
	mu   sync.Mutex
	recs []crypto.Record
}

func (b *batchStore) Get(ctx context.Context, ref string) (crypto.Record, error) {
	if len(ref) == 64 { // a subject's Ref: not written yet
		return crypto.Record{}, &crypto.Error{Op: "get", Err: crypto.ErrNotFound}
	}
	return b.Store.Get(ctx, ref)
}

func (b *batchStore) Create(_ context.Context, r crypto.Record) error {
	b.mu.Lock()
	b.recs = append(b.recs, r)
	b.mu.Unlock()
	return nil
}

func (b *batchStore) take() []crypto.Record {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.recs
	b.recs = nil
	return out
}

// copyKeys writes records with COPY on the plain pool.
func (e *env) copyKeys(ctx context.Context, recs []crypto.Record) error {
	conn, err := e.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		rows := make([][]any, len(recs))
		for i, r := range recs {
			rows[i] = []any{r.Ref, r.Wrapped, r.KEK, r.Version, r.Created.UnixMicro(), r.Updated.UnixMicro()}
		}
		_, err := pc.CopyFrom(ctx, pgx.Identifier{prefix + "crypto_keys"},
			[]string{"ref", "wrapped", "kek", "version", "created_us", "updated_us"}, pgx.CopyFromRows(rows))
		return err
	})
}

// keyPart gives each of e.sz.keys subjects a key: made and wrapped by a
// Keyring (Encrypt through a batchStore), written by COPY. Key records
// cannot be made on the server: each keyset is sealed under the KEK with
// its Ref as associated data, and the Ref is an HMAC of the subject under
// the Keyring's own key. Then it measures cold loads (the cache off) and
// Rewrap to a new KEK, cancelled a third of the way and resumed.
func (f *fixture) keyPart(t *testing.T) {
	e := f.e
	ctx := context.Background()
	const sec = "keys"
	N := e.sz.keys
	store, err := sqlkeys.New(e.cdb, sqldialect.Postgres, sqlkeys.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	kek1 := f.kk.KEK
	bs := &batchStore{Store: store}
	gen, err := crypto.New(ctx, bs, kek1, crypto.WithCache(0, 0))
	if err != nil {
		t.Fatalf("crypto.New: %v", err)
	}

	// Ciphertexts of a sample of subjects, to check the keys decrypt.
	type sample struct {
		s  gdpr.SubjectID
		ct []byte
	}
	every := max(N/2000, 1)
	var smu sync.Mutex
	var samples []sample

	start := time.Now()
	const workers = 2
	const flushAt = 20000
	var next atomic.Int64
	var copyTime atomic.Int64
	var wg sync.WaitGroup
	var werr error
	var emu sync.Mutex
	var cmu sync.Mutex // one COPY at a time
	for range workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= N {
					return
				}
				s := subj(i)
				ct, err := gen.Encrypt(ctx, s, emailField, []byte(string(s)+"@example.org"))
				if err != nil {
					emu.Lock()
					werr = err
					emu.Unlock()
					return
				}
				if i%every == 0 {
					smu.Lock()
					samples = append(samples, sample{s, ct})
					smu.Unlock()
				}
				if (i+1)%flushAt == 0 {
					cmu.Lock()
					t0 := time.Now()
					err := e.copyKeys(ctx, bs.take())
					copyTime.Add(int64(time.Since(t0)))
					cmu.Unlock()
					if err != nil {
						emu.Lock()
						werr = err
						emu.Unlock()
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if werr != nil {
		t.Fatalf("generate keys: %v", werr)
	}
	t0 := time.Now()
	if err := e.copyKeys(ctx, bs.take()); err != nil {
		t.Fatalf("COPY: %v", err)
	}
	copyTime.Add(int64(time.Since(t0)))
	genTime := time.Since(start)
	e.exec("keys: ANALYZE", "ANALYZE "+prefix+"crypto_keys")
	total := e.count("SELECT count(*) FROM " + prefix + "crypto_keys")
	if total != N+2 {
		t.Fatalf("%d key records, want %d and the Keyring's own 2", total, N)
	}
	e.figure(sec, "generated", fmt.Sprintf("%d records in %v (%s; made by Keyring.Encrypt in Go, %d goroutines, written by COPY in batches of %d, COPY %v of it); table %s",
		N, us(genTime), rate(N, genTime), workers, flushAt, us(time.Duration(copyTime.Load())), e.tableSize(prefix+"crypto_keys")))

	// Cold loads: a Keyring with the cache off reads and unwraps the key
	// on every call.
	cold, err := crypto.New(ctx, store, kek1, crypto.WithCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		p, err := cold.Decrypt(ctx, s.s, emailField, s.ct)
		if err != nil || string(p) != string(s.s)+"@example.org" {
			t.Fatalf("Decrypt %s after generation: %q, %v", s.s, p, err)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := int(min(N, 20000))
	lat := make(durations, 0, n)
	start = time.Now()
	for range n {
		s := subj(rng.Int64N(N))
		t0 := time.Now()
		if _, err := cold.Encrypt(ctx, s, emailField, []byte("x")); err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		lat = append(lat, time.Since(t0))
	}
	el := time.Since(start)
	e.figure(sec, "cold load (cache off: Get + unwrap + AEAD per Encrypt), 1 goroutine", fmt.Sprintf("%s; %v", rate(int64(n), el), lat))
	var done atomic.Int64
	start = time.Now()
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for range n / 8 {
				if _, err := cold.Encrypt(ctx, subj(r.Int64N(N)), emailField, []byte("x")); err != nil {
					t.Errorf("Encrypt: %v", err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	e.figure(sec, "cold load, 8 goroutines", rate(done.Load(), time.Since(start)))
	pc := e.explainCalls(func() { cold.Encrypt(ctx, subj(N/2), emailField, []byte("x")) })
	e.figure(sec, "cold load: EXPLAIN of its statements", pc.String())
	if len(pc.seqBig) > 0 {
		t.Errorf("a key load reads a big table sequentially: %v", pc.seqBig)
	}

	// Rewrap to a new KEK: cancelled once a third is done, then resumed
	// from the cursor it returned.
	kek2, err := crypto.EphemeralKEK("scale-kek-2")
	if err != nil {
		t.Fatal(err)
	}
	rw, err := crypto.New(ctx, store, kek2, crypto.WithPreviousKEKs(kek1), crypto.WithCache(0, 0))
	if err != nil {
		t.Fatalf("crypto.New with the new KEK: %v", err)
	}
	// The statements of one batch of 10, before the measured run.
	pc = e.explainCalls(func() {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		if _, err := rw.Rewrap(cctx, "", 10, func(crypto.RewrapProgress) { cancel() }); !errors.Is(err, context.Canceled) {
			t.Errorf("Rewrap of one batch: %v", err)
		}
	})
	e.figure(sec, "Rewrap: EXPLAIN of its statements (one batch of 10)", pc.String())
	if len(pc.seqBig) > 0 {
		t.Errorf("Rewrap reads a big table sequentially: %v", pc.seqBig)
	}
	const batch = 1000
	var calls int
	var lastLog time.Time
	progress := func(p crypto.RewrapProgress) {
		calls++
		if time.Since(lastLog) > 15*time.Second || p.Done {
			lastLog = time.Now()
			t.Logf("rewrap progress: visited %d, rewrapped %d, skipped %d, lost %d, cursor %.12s…, done %v", p.Visited, p.Rewrapped, p.Skipped, p.Lost, p.Cursor, p.Done)
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	start = time.Now()
	first, err := rw.Rewrap(rctx, "", batch, func(p crypto.RewrapProgress) {
		progress(p)
		if int64(p.Visited) >= total/3 {
			cancel()
		}
	})
	cancel()
	t1 := time.Since(start)
	if !errors.Is(err, context.Canceled) || first.Done {
		t.Fatalf("Rewrap cancelled: %+v, %v; want context.Canceled before the end", first, err)
	}
	stopped := calls
	start = time.Now()
	second, err := rw.Rewrap(ctx, first.Cursor, batch, progress)
	t2 := time.Since(start)
	if err != nil || !second.Done {
		t.Fatalf("Rewrap resumed: %+v, %v", second, err)
	}
	visited := int64(first.Visited + second.Visited)
	left := e.count("SELECT count(*) FROM "+prefix+"crypto_keys WHERE kek <> $1", kek2.ID)
	if left != 0 || visited != total || first.Lost+second.Lost != 0 {
		t.Errorf("after the resumed Rewrap: %d records still on the old KEK, %d visited of %d, %d lost", left, visited, total, first.Lost+second.Lost)
	}
	e.figure(sec, "Rewrap (batch 1000, 1 goroutine)", fmt.Sprintf("%d records in %v: %s; cancelled at %d visited (after %d progress calls, %v), resumed from its cursor: %d more in %v; %d left on the old KEK, none visited twice",
		visited, us(t1+t2), rate(visited, t1+t2), first.Visited, stopped, us(t1), second.Visited, us(t2), left))
	// Later kits hold the new KEK, and the old as a previous one.
	f.kk.KEK = kek2
	f.previous = []crypto.KEK{kek1}
	// The cold Keyring's samples still decrypt after the rotation.
	after, err := crypto.New(ctx, store, kek2, crypto.WithCache(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples[:min(len(samples), 100)] {
		if _, err := after.Decrypt(ctx, s.s, emailField, s.ct); err != nil {
			t.Fatalf("Decrypt after Rewrap with the new KEK alone: %v", err)
		}
	}
}
