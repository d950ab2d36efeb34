// Package fake gives a host's unit tests, in one call, the module's
// components over their in-memory stores, wired as a host wires them in
// main: a consent ledger and a keyring that record into an audit trail,
// with an unsubscriber and consent receipts set up, and a
// gdprtest.Recorder that sees every event in clear for the test to assert
// on.
//
//	func TestSignup(t *testing.T) {
//		k := fake.New(t, register())
//		svc := signup.New(k.Ledger, k.Keys)
//		...
//		if got := k.Events.Actions(); !slices.Contains(got, "consent.given") {
//			t.Errorf("events %v; want consent.given", got)
//		}
//	}
//
// Requests is the request engine over the three: an erasure runs through
// the ledger, the keyring and the trail, in that order.
//
// Unlike package gdprtest, which imports only the root package, fake
// imports consent, crypto, audit, erasure, export and retention with
// their memory stores: a package of this module cannot use it in its own
// internal tests.
//
// The keys are made for each Kit and live only in memory. Nothing here is
// fit for production: the stores keep everything in memory, and the
// Recorder keeps subject IDs in clear.
package fake

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/memkeys"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/memerasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/memexport"
	"github.com/gdprkit/gdpr/gdprtest"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
)

// Kit is the module's components over in-memory stores. Every field is
// ready to use; the stores are there for tests that look beneath.
type Kit struct {
	// Ledger is a consent ledger with the Register given to New (if any),
	// an Unsubscriber, receipts signed by ReceiptKey and a suppression
	// list under a random key.
	Ledger *consent.Ledger
	// Keys is a keyring with an ephemeral KEK, decryptions audited.
	Keys *crypto.Keyring
	// Trail is the audit trail the Ledger and Keys record into (signed
	// checkpoints, no anchor). It is closed when the test ends.
	Trail *audit.Log
	// Events sees every event the Ledger and Keys record, in clear, in
	// order: what a test asserts on.
	Events *gdprtest.Recorder
	// Requests is a request engine whose erasures run through Ledger,
	// Keys and Trail, in that order, recording into Trail, with a Journal
	// (RequestJournal). Keys and Trail are targets without a wait: in one
	// process the erasure evicts the only cache there is. It carries out
	// restrictions, their lifts and objections itself, without a cache
	// (a change is seen at once): Keys refuses to decrypt a restricted
	// subject (its Guard is Requests.Guard), and an objection is recorded
	// in Ledger too (Ledger.Object, and Ledger.OverrideObjection for an
	// override), so that its decisions deny the purpose. It has the
	// Register given to New, and tells recipients through Recipients.
	// Access and portability requests are answered by Handler, which
	// builds the bundle with Export and delivers it with Deliveries;
	// rectification has no rectifier: add one with erasure.New over
	// RequestStore.
	Requests *erasure.Engine
	// Export builds access and portability bundles from Ledger, Keys,
	// Trail and Requests, with the Register given to New, signed by a
	// key ExportKey verifies.
	Export *export.Builder
	// Deliveries keeps the bundles behind single-use tokens, in
	// DeliveryStore and DeliveryBlobs; it is the first erasure target
	// of Requests, so no bundle outlives an erasure.
	Deliveries *export.Deliverer
	// Handler answers Requests' access and portability requests; the
	// tokens it would send the subject go to Links.
	Handler *export.Handler
	// Links records the download tokens Handler sends, by request ID.
	Links *Links
	// Recipients records the notices Requests sends to recipients
	// (Art. 19).
	Recipients *Recipients
	// Holds places and lifts legal holds in HoldStore, recording into
	// Trail; Requests keeps a held subject's data from an erasure
	// (Art. 17(3)(e)). A retention.Sweeper over HoldStore respects them
	// too.
	Holds *retention.Holds

	ConsentStore *memconsent.Store
	KeyStore     *memkeys.Store
	AuditStore   *memaudit.Store
	// RequestStore and RequestJournal are the Requests engine's.
	RequestStore   *memerasure.Store
	RequestJournal *memerasure.Journal
	// HoldStore keeps Holds' holds, and a Sweeper's lease and
	// checkpoints.
	HoldStore *memretention.Store
	// ReceiptKey verifies the Ledger's receipts.
	ReceiptKey ed25519.PublicKey
	// DeliveryStore and DeliveryBlobs are Deliveries'.
	DeliveryStore *memexport.Store
	DeliveryBlobs *memexport.Blobs
	// ExportKey verifies the manifests of Export's bundles (export.Open).
	ExportKey ed25519.PublicKey
}

// Links records the download tokens a Kit's Handler sends. It is safe
// for concurrent use.
type Links struct {
	mu     sync.Mutex
	tokens map[string][]export.Token
}

// Send records the tokens of request r; it is the Handler's send.
func (l *Links) Send(_ context.Context, r gdpr.Request, _ export.Delivery, tokens []export.Token) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tokens == nil {
		l.tokens = map[string][]export.Token{}
	}
	l.tokens[r.ID] = append([]export.Token(nil), tokens...)
	return nil
}

// Tokens returns the tokens last sent for the request, one per part.
func (l *Links) Tokens(request string) []export.Token {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]export.Token(nil), l.tokens[request]...)
}

// Controller is the controller named on the Kit's receipts.
var Controller = consent.Controller{
	Name:      "Example Controller Ltd",
	Contact:   "Data Protection Officer",
	Address:   consent.PostalAddress{StreetAddress: "1 Example Street", PostalCode: "10115", Locality: "Berlin", Country: "DE"},
	Email:     "privacy@example.com",
	Phone:     "+49 30 0000000",
	PolicyURL: "https://example.com/privacy",
}

// New returns a Kit; reg may be nil for a ledger without a Register (no
// purpose is then checked). New fails the test on any error, and closes
// the trail when the test ends.
func New(t testing.TB, reg *gdpr.Register) *Kit {
	t.Helper()
	ctx := context.Background()
	k := &Kit{Events: new(gdprtest.Recorder), ConsentStore: memconsent.New(), KeyStore: memkeys.New(), AuditStore: memaudit.New(),
		RequestStore: memerasure.New(), RequestJournal: memerasure.NewJournal(),
		DeliveryStore: memexport.New(), DeliveryBlobs: memexport.NewBlobs(), Links: &Links{},
		HoldStore: memretention.New()}

	skey, _, err := audit.GenerateKey("fake.example/audit")
	check(t, err)
	signer, verifier, err := audit.NewSigner(skey)
	check(t, err)
	k.Trail, err = audit.New(ctx, k.AuditStore, random(audit.MinKeySize), signer, verifier)
	check(t, err)
	t.Cleanup(func() { k.Trail.Close(context.Background()) })

	// Both the trail and the test's Recorder see every event.
	rec := gdpr.RecorderFunc(func(ctx context.Context, e gdpr.Event) error {
		if err := k.Trail.Record(ctx, e); err != nil {
			return err
		}
		return k.Events.Record(ctx, e)
	})

	kek, err := crypto.EphemeralKEK("fake-kek")
	check(t, err)
	guard := func(ctx context.Context, s gdpr.SubjectID) error {
		if k.Requests == nil {
			return errors.New("fake: the request engine is not ready")
		}
		return k.Requests.Guard(ctx, s)
	}
	k.Keys, err = crypto.New(ctx, k.KeyStore, kek, crypto.WithRecorder(rec), crypto.WithDecryptAudit(), crypto.WithGuard(guard))
	check(t, err)

	unsub, err := consent.NewUnsubscriber(random(32))
	check(t, err)
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	check(t, err)
	k.ReceiptKey = pub
	opts := []consent.Option{consent.WithRecorder(rec), consent.WithUnsubscriber(unsub),
		consent.WithReceipts(priv, Controller, "EU"), consent.WithSuppressionKey(random(32))}
	if reg != nil {
		opts = append(opts, consent.WithRegister(reg))
	}
	k.Ledger, err = consent.New(k.ConsentStore, opts...)
	check(t, err)
	k.Recipients = &Recipients{}

	epub, epriv, err := ed25519.GenerateKey(rand.Reader)
	check(t, err)
	k.ExportKey = epub
	// The engine is a source of its own history; it is made below.
	history := gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
		return k.Requests.ExportSubject(ctx, s, w)
	})
	xopts := []export.Option{export.WithRecorder(rec), export.WithSources(
		export.Source{Name: "consent", Exporter: k.Ledger},
		export.Source{Name: "keys", Exporter: k.Keys},
		export.Source{Name: "audit", Exporter: k.Trail},
		export.Source{Name: "requests", Exporter: history},
	)}
	if reg != nil {
		xopts = append(xopts, export.WithRegister(reg))
	}
	k.Export, err = export.New(epriv, xopts...)
	check(t, err)
	k.Deliveries, err = export.NewDeliverer(k.DeliveryStore, k.DeliveryBlobs, export.WithRecorder(rec))
	check(t, err)
	k.Handler, err = export.NewHandler(k.Export, k.Deliveries, k.Links.Send)
	check(t, err)

	hopts := []retention.Option{retention.WithRecorder(rec)}
	if reg != nil {
		hopts = append(hopts, retention.WithRegister(reg))
	}
	k.Holds, err = retention.NewHolds(k.HoldStore, hopts...)
	check(t, err)

	eopts := []erasure.Option{erasure.WithRecorder(rec), erasure.WithJournal(k.RequestJournal),
		erasure.WithLegalHolds(k.HoldStore),
		erasure.WithHandler(gdpr.KindAccess, k.Handler),
		erasure.WithHandler(gdpr.KindPortability, k.Handler),
		erasure.WithTargets(
			erasure.Target{Name: "deliveries", Eraser: k.Deliveries},
			erasure.Target{Name: "consent", Eraser: k.Ledger},
			erasure.Target{Name: "keys", Eraser: k.Keys, Latency: -1},
			erasure.Target{Name: "audit", Eraser: k.Trail, Latency: -1},
		),
		erasure.WithRestrictionCache(0),
		erasure.WithRecipients(k.Recipients, nil),
		erasure.WithObjectionHook(func(ctx context.Context, o erasure.Objection) error {
			c := consent.Choice{Subject: o.Subject, Purpose: o.Purpose, Basis: o.Basis}
			if o.Overridden {
				c.Evidence.Locator = o.Reference
				_, err := k.Ledger.OverrideObjection(ctx, c)
				return err
			}
			_, err := k.Ledger.Object(ctx, c)
			return err
		}),
	}
	if reg != nil {
		eopts = append(eopts, erasure.WithRegister(reg))
	}
	k.Requests, err = erasure.New(k.RequestStore, random(32), eopts...)
	check(t, err)
	return k
}

// Recipients is a RecipientNotifier that records every notice, for a
// test to assert on. It is safe for concurrent use.
type Recipients struct {
	mu      sync.Mutex
	notices []erasure.RecipientNotice
}

// NotifyRecipient records n.
func (r *Recipients) NotifyRecipient(_ context.Context, n erasure.RecipientNotice) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices = append(r.notices, n)
	return nil
}

// Notices returns the notices recorded, oldest first.
func (r *Recipients) Notices() []erasure.RecipientNotice {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]erasure.RecipientNotice(nil), r.notices...)
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("fake.New: %v", err)
	}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
