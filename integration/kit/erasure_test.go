package kit_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// wantOrder is the order of an erasure's targets kit.Open documents,
// with the host's target "crm": the export deliveries, the consent
// ledger, the host's targets, the keyring, the audit trail.
var wantOrder = []string{"deliveries", "consent", "crm", "keys", "audit"}

// links keeps the download links an access request's bundle was sent
// with.
type links struct {
	mu     sync.Mutex
	tokens map[gdpr.SubjectID][]export.Token
}

func (l *links) send(_ context.Context, r gdpr.Request, _ export.Delivery, ts []export.Token) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tokens == nil {
		l.tokens = map[gdpr.SubjectID][]export.Token{}
	}
	l.tokens[r.Subject] = append(l.tokens[r.Subject], ts...)
	return nil
}

func (l *links) of(s gdpr.SubjectID) []export.Token {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.tokens[s])
}

// TestErasureOrder erases a subject who has an access bundle waiting,
// consent on record, an encrypted field and entries on the trail, through
// a kit with a host target, while Run works in the background. The
// request's steps run in the documented order (deliveries, consent, the
// host's target, keys, audit), and so does the signed receipt; the host's
// target runs once, after the ledger has forgotten the subject and while
// their key still decrypts (what WithTargets promises a host). Once the
// request is completed the bundle's link no longer works, the subject's
// ciphertext is shredded, the trail has no entry linked to them and
// verifies, and the ledger has nothing of theirs, while another subject's
// data are untouched.
func TestErasureOrder(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		keys := testKeys(t)
		blobs, err := export.DirBlobs(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		sent := &links{}
		crm := newErased("crm")
		var k *kit.Kit
		s, other := subject("erased"), subject("bystander")
		var ct []byte

		// What the host's target sees when it runs.
		type seen struct {
			decrypted     bool
			decryptErr    error
			consentEvents int
			linked        int
		}
		var mu sync.Mutex
		var during []seen
		crm.during = func(ctx context.Context, got gdpr.SubjectID) error {
			if got != s {
				return fmt.Errorf("crm erased another subject than %s", s)
			}
			var w seen
			p, err := k.Keyring().Decrypt(ctx, got, emailField, ct)
			w.decrypted, w.decryptErr = err == nil && string(p) == string(s)+"@example.org", err
			hist, err := k.Ledger().History(ctx, got, "")
			if err != nil {
				return err
			}
			w.consentEvents = len(hist)
			linked, err := linkedEntries(ctx, k, got)
			if err != nil {
				return err
			}
			w.linked = len(linked)
			mu.Lock()
			during = append(during, w)
			mu.Unlock()
			return nil
		}
		var l *logs
		k, l = openKit(t, db, d, keys, kit.WithExports(blobs, sent.send), kit.WithTargets(crm.target()))
		startRun(t, k)

		// The subject's data, and a bystander's.
		for _, x := range []gdpr.SubjectID{s, other} {
			giveConsent(t, k, x)
		}
		ct = encrypt(t, k, s)
		otherCT := encrypt(t, k, other)
		if _, err := k.Keyring().Decrypt(ctx, s, emailField, ct); err != nil {
			t.Fatalf("Decrypt before the erasure: %v", err)
		}
		access := waitClosed(t, k, l, submit(t, k, erasure.Submission{Kind: gdpr.KindAccess, Subject: s}).ID)
		if access.State != erasure.StateCompleted || len(sent.of(s)) == 0 {
			t.Fatalf("access request %s, %d links sent; steps %+v", access.State, len(sent.of(s)), access.Steps)
		}
		if n := len(entriesOf(t, k, s)); n == 0 {
			t.Fatal("no audit entry is linked to the subject before the erasure: the check after it would prove nothing")
		}
		otherEntries := len(entriesOf(t, k, other))

		r := waitClosed(t, k, l, submit(t, k, erasure.Submission{Kind: gdpr.KindErasure, Subject: s}).ID)
		if r.State != erasure.StateCompleted {
			t.Fatalf("erasure %s; steps %+v; logs:\n%s", r.State, r.Steps, l)
		}

		// The order, from the request's steps.
		var names []string
		for i, st := range r.Steps {
			names = append(names, st.Target)
			if !st.Outcome.Done() || st.Outcome == erasure.OutcomeFailed {
				t.Errorf("step %s: outcome %q (%s)", st.Target, st.Outcome, st.Error)
			}
			if i > 0 && st.At.Before(r.Steps[i-1].At) {
				t.Errorf("step %s ended at %v, before the step before it (%s, %v)", st.Target, st.At, r.Steps[i-1].Target, r.Steps[i-1].At)
			}
		}
		if !slices.Equal(names, wantOrder) {
			t.Errorf("erasure steps %v, want %v", names, wantOrder)
		}
		for _, st := range r.Steps {
			switch st.Target {
			case "deliveries", "consent", "crm", "keys":
				if st.Outcome != erasure.OutcomeErased || st.Count < 1 {
					t.Errorf("step %s: %s %d, want something erased", st.Target, st.Outcome, st.Count)
				}
			}
		}
		// The receipt says the same.
		jws, err := k.Engine().Receipt(ctx, r.ID)
		if err != nil {
			t.Fatalf("Receipt: %v", err)
		}
		rc, err := erasure.VerifyReceipt(jws, keys.ReceiptKey.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatalf("VerifyReceipt: %v", err)
		}
		var rnames []string
		for _, st := range rc.Steps {
			rnames = append(rnames, st.Target)
		}
		if rc.Request != r.ID || rc.State != erasure.StateCompleted || !slices.Equal(rnames, wantOrder) {
			t.Errorf("receipt: request %s %s, steps %v; want %s completed, %v", rc.Request, rc.State, rnames, r.ID, wantOrder)
		}

		// The host's target ran once, between the ledger and the keyring.
		if n := crm.count(s); n != 1 {
			t.Errorf("the host's target erased the subject %d times, want 1", n)
		}
		mu.Lock()
		for _, w := range during {
			if !w.decrypted {
				t.Errorf("inside the host's target the subject's field did not decrypt (%v): the keyring ran before it", w.decryptErr)
			}
			if w.consentEvents != 0 {
				t.Errorf("inside the host's target the ledger still had %d events of the subject: consent had not run", w.consentEvents)
			}
			if w.linked == 0 {
				t.Error("inside the host's target no entry was linked to the subject: the trail had forgotten them already")
			}
		}
		mu.Unlock()

		// After it: nothing of the subject is left readable or linked.
		for _, tok := range sent.of(s) {
			if dl, err := k.Deliverer().Download(ctx, tok.Reveal()); err == nil {
				dl.Close()
				t.Error("an access bundle's link still works after the erasure")
			}
		}
		if _, err := k.Keyring().Decrypt(ctx, s, emailField, ct); !errors.Is(err, crypto.ErrShredded) {
			t.Errorf("Decrypt after the erasure: %v, want crypto.ErrShredded", err)
		}
		if es := entriesOf(t, k, s); len(es) != 0 {
			t.Errorf("%d entries still linked to the erased subject: %v", len(es), actions(es))
		}
		verifyTrail(t, k)
		if hist, err := k.Ledger().History(ctx, s, ""); err != nil || len(hist) != 0 {
			t.Errorf("ledger History after the erasure: %d events, %v", len(hist), err)
		}
		if ok, err := k.Ledger().Allowed(ctx, s, "newsletter"); err != nil || ok {
			t.Errorf("Allowed after the erasure: %v, %v; want false", ok, err)
		}

		// The bystander keeps everything.
		if p, err := k.Keyring().Decrypt(ctx, other, emailField, otherCT); err != nil || string(p) != string(other)+"@example.org" {
			t.Errorf("another subject's field after the erasure: %q, %v", p, err)
		}
		if ok, err := k.Ledger().Allowed(ctx, other, "newsletter"); err != nil || !ok {
			t.Errorf("another subject's consent after the erasure: %v, %v", ok, err)
		}
		if n := len(entriesOf(t, k, other)); n < otherEntries {
			t.Errorf("another subject's entries went from %d to %d", otherEntries, n)
		}
		if errs := l.errorLines(); len(errs) > 0 {
			t.Errorf("Run logged errors: %v", errs)
		}
	})
}

// TestTwoInstancesShareRequests opens two kits on one database, over two
// connection pools and at the same time (Open migrates, which must be safe
// on every instance at once), and runs both. Requests filed on either are
// processed exactly once: across both kits, the host's target erases each
// subject once and every request completes.
func TestTwoInstancesShareRequests(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		keys := testKeys(t)
		other := testdb.Reopen(t, d, db)
		crm := newErased("crm") // shared: the host's store is one
		var (
			kits [2]*kit.Kit
			ls   [2]*logs
			wg   sync.WaitGroup
			errs [2]error
			// byKit counts the host target's calls in each kit.
			byKit [2]atomic.Int64
		)
		for i, pool := range []*sql.DB{db, other} {
			wg.Go(func() {
				defer func() {
					if r := recover(); r != nil {
						errs[i] = fmt.Errorf("panic: %v", r)
					}
				}()
				l := &logs{}
				k, err := kit.Open(context.Background(), pool, d, register(), keys,
					append(fastOptions(t, l), kit.WithTargets(erasure.Target{Name: "crm", Eraser: gdpr.EraserFunc(
						func(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
							byKit[i].Add(1)
							return crm.EraseSubject(ctx, s)
						})}))...)
				kits[i], ls[i], errs[i] = k, l, err
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("kit %d: Open at the same time as the other: %v", i, err)
			}
			k := kits[i]
			t.Cleanup(func() {
				if err := k.Close(context.Background()); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
		for _, k := range kits {
			startRun(t, k)
		}

		const n = 12
		subjects := make([]gdpr.SubjectID, n)
		ids := make([]string, n)
		for i := range subjects {
			subjects[i] = subject(fmt.Sprintf("shared%02d", i))
			k := kits[i%2]
			encrypt(t, k, subjects[i])
			ids[i] = submit(t, k, erasure.Submission{Kind: gdpr.KindErasure, Subject: subjects[i]}).ID
		}
		for i, id := range ids {
			// Either kit sees every request: they share the store.
			r := waitClosed(t, kits[(i+1)%2], ls[(i+1)%2], id)
			if r.State != erasure.StateCompleted {
				t.Errorf("request %d: %s, steps %+v", i, r.State, r.Steps)
			}
		}
		for i, s := range subjects {
			if c := crm.count(s); c != 1 {
				t.Errorf("subject %d erased %d times by the host's target across both kits, want exactly 1", i, c)
			}
		}
		for i, l := range ls {
			if errs := l.errorLines(); len(errs) > 0 {
				t.Errorf("kit %d's Run logged errors: %v", i, errs)
			}
		}
		t.Logf("the host's target ran %d times in kit 0, %d in kit 1", byKit[0].Load(), byKit[1].Load())
		verifyTrail(t, kits[0])
	})
}
