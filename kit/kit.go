package kit

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// Keys are the secrets the library's parts need. In production each comes
// from a KMS or a secret store, the same on every instance and across
// restores; package insecuredevkeys makes a development set. Keys prints
// under every fmt verb, to log/slog and to encoding/json without a secret.
type Keys struct {
	// KEK wraps every subject's key (package crypto): a KMS key.
	KEK crypto.KEK
	// AuditSigner and AuditVerifier sign and check the audit trail's
	// checkpoints (audit.NewSigner).
	AuditSigner   note.Signer
	AuditVerifier note.Verifier
	// PseudonymKey keys the audit trail's subject pseudonyms (32 bytes).
	PseudonymKey []byte
	// SubjectKey keys the references that replace a closed request's
	// subject ID and name subjects in the erasure journal (at least
	// erasure.MinSubjectKeyLen bytes).
	SubjectKey []byte
	// ReceiptKey signs consent receipts, erasure receipts and export
	// manifests: one public key checks them all, each under a text of its
	// own, so no verifier takes another's.
	ReceiptKey ed25519.PrivateKey
	// UnsubscribeSecrets seal the unsubscribe links of bulk messages: the
	// first signs, all verify (rotation).
	UnsubscribeSecrets [][]byte
}

// Format prints Keys under every verb without a secret.
func (k Keys) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.GoString()) }

// GoString describes Keys for %#v, without a secret.
func (k Keys) GoString() string { return keysShown }

// MarshalJSON encodes Keys as a JSON string that describes them, without
// a secret: a host that logs or dumps its configuration as JSON shows
// none. Keys do not decode from JSON; load each from its secret store.
func (k Keys) MarshalJSON() ([]byte, error) { return []byte(`"` + keysShown + `"`), nil }

// LogValue describes Keys to log/slog, without a secret.
func (k Keys) LogValue() slog.Value { return slog.StringValue(keysShown) }

const keysShown = "kit.Keys{secrets not shown}"

// Kit is every part of the library, wired on one database. Its methods
// return the parts; each is safe for concurrent use, and a host calls
// them directly.
type Kit struct {
	reg        *gdpr.Register
	ledger     *consent.Ledger
	keyring    *crypto.Keyring
	trail      *audit.Log
	engine     *erasure.Engine
	deliverer  *export.Deliverer
	builder    *export.Builder
	holds      *retention.Holds
	holdStore  *sqlretention.Store
	sweeper    *retention.Sweeper
	closers    []interface{ Close() error }
	logger     *slog.Logger
	sweepEvery time.Duration
	drainEvery time.Duration
	closeOnce  sync.Once
}

// Open opens every part on db, in the dialect d: the consent ledger, the
// key store and its Keyring, the audit trail, the request engine, the
// export deliveries (with WithExports), the legal holds and, with
// WithRetention, the retention Sweeper. It applies the migrations first
// (unless WithoutMigrate). Every part records into the audit trail; the
// Keyring asks the engine, before every decryption, whether the
// subject's processing is restricted or objected to.
//
// An erasure runs its targets in this order: the export deliveries (no
// bundle outlives it), the consent ledger (with the audit records it still
// owes the trail), the host's targets (WithTargets), the keyring (the
// subject's key is destroyed, and with it every ciphertext, in every
// backup) and the audit trail last (it forgets the subject's pseudonym,
// unlinking every entry about them, the erasure's own included). An access
// or portability bundle has the sources "consent", the host's
// (WithSources), "keys", "audit" and "requests".
//
// The host owns db: Close closes the kit's parts, not db.
func Open(ctx context.Context, db *sql.DB, d sqldialect.Dialect, reg *gdpr.Register, keys Keys, opts ...Option) (*Kit, error) {
	if ctx == nil {
		return nil, invalid("ctx", "nil context")
	}
	if db == nil {
		return nil, invalid("db", "a nil *sql.DB")
	}
	if reg == nil {
		return nil, invalid("reg", "a nil Register")
	}
	s := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, invalid("opts", "a nil Option")
		}
		if err := o.apply(&s); err != nil {
			return nil, err
		}
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	if err := check(db, d, reg, keys, &s); err != nil {
		return nil, err
	}
	k := &Kit{reg: reg, logger: s.logger, sweepEvery: s.sweepEvery, drainEvery: s.drainEvery}
	if err := k.open(ctx, db, d, keys, &s); err != nil {
		// The trail, if it was made, runs background work: stop it too.
		_ = k.Close(ctx)
		return nil, err
	}
	return k, nil
}

type migrator interface {
	Migrate(ctx context.Context) error
	Close() error
}

func (k *Kit) open(ctx context.Context, db *sql.DB, d sqldialect.Dialect, keys Keys, s *settings) error {
	// The stores, migrated in a fixed order.
	consentStore, err := sqlconsent.New(db, d, sqlconsent.WithTablePrefix(s.prefix))
	if err != nil {
		return part("consent", err)
	}
	k.closers = append(k.closers, consentStore)
	keyStore, err := sqlkeys.New(db, d, sqlkeys.WithTablePrefix(s.prefix))
	if err != nil {
		return part("keys", err)
	}
	k.closers = append(k.closers, keyStore)
	auditStore, err := sqlaudit.New(db, d, sqlaudit.WithTablePrefix(s.prefix))
	if err != nil {
		return part("audit", err)
	}
	k.closers = append(k.closers, auditStore)
	requestStore, err := sqlerasure.New(db, d, sqlerasure.WithTablePrefix(s.prefix))
	if err != nil {
		return part("requests", err)
	}
	k.closers = append(k.closers, requestStore)
	deliveryStore, err := sqlexport.New(db, d, sqlexport.WithTablePrefix(s.prefix))
	if err != nil {
		return part("exports", err)
	}
	k.closers = append(k.closers, deliveryStore)
	holdStore, err := sqlretention.New(db, d, sqlretention.WithTablePrefix(s.prefix))
	if err != nil {
		return part("retention", err)
	}
	k.closers = append(k.closers, holdStore)
	k.holdStore = holdStore
	if s.migrate {
		for _, m := range []struct {
			name string
			m    migrator
		}{{"consent", consentStore}, {"keys", keyStore}, {"audit", auditStore}, {"requests", requestStore},
			{"exports", deliveryStore}, {"retention", holdStore}} {
			if err := m.m.Migrate(ctx); err != nil {
				return part(m.name, err)
			}
		}
	}

	// The audit trail first: every other part records into it.
	var auditOpts []audit.Option
	if s.anchor != nil {
		auditOpts = append(auditOpts, audit.WithAnchor(s.anchor))
	}
	if s.now != nil {
		auditOpts = append(auditOpts, audit.WithClock(s.now))
	}
	if k.trail, err = audit.New(ctx, auditStore, keys.PseudonymKey, keys.AuditSigner, keys.AuditVerifier,
		append(auditOpts, s.auditOpts...)...); err != nil {
		return part("audit", err)
	}

	if k.holds, err = retention.NewHolds(holdStore, k.retentionBase(s)...); err != nil {
		return part("retention", err)
	}

	// The Keyring's guard is the engine's restriction check; the engine is
	// made after the Keyring (the Keyring is one of its targets), and until
	// it is, the guard refuses.
	var engine atomic.Pointer[erasure.Engine]
	guard := func(ctx context.Context, subject gdpr.SubjectID) error {
		e := engine.Load()
		if e == nil {
			return errEngineNotReady
		}
		return e.Guard(ctx, subject)
	}
	cryptoOpts := []crypto.Option{crypto.WithRecorder(k.trail), crypto.WithDecryptAudit(), crypto.WithGuard(guard)}
	if s.now != nil {
		cryptoOpts = append(cryptoOpts, crypto.WithClock(s.now))
	}
	if k.keyring, err = crypto.New(ctx, keyStore, keys.KEK, append(cryptoOpts, s.cryptoOpts...)...); err != nil {
		return part("keys", err)
	}

	unsub, err := consent.NewUnsubscriber(keys.UnsubscribeSecrets...)
	if err != nil {
		return part("consent", err)
	}
	consentOpts := []consent.Option{consent.WithRegister(k.reg), consent.WithRecorder(k.trail), consent.WithUnsubscriber(unsub)}
	if s.controller != nil {
		consentOpts = append(consentOpts, consent.WithReceipts(keys.ReceiptKey, *s.controller, s.jurisdiction))
	}
	if s.now != nil {
		consentOpts = append(consentOpts, consent.WithClock(s.now))
	}
	if k.ledger, err = consent.New(consentStore, append(consentOpts, s.consentOpts...)...); err != nil {
		return part("consent", err)
	}

	sources := append([]export.Source{{Name: "consent", Exporter: k.ledger}}, s.sources...)
	sources = append(sources,
		export.Source{Name: "keys", Exporter: k.keyring},
		export.Source{Name: "audit", Exporter: k.trail},
		export.Source{Name: "requests", Exporter: gdpr.ExporterFunc(func(ctx context.Context, subject gdpr.SubjectID, w gdpr.RecordWriter) error {
			e := engine.Load()
			if e == nil {
				return errEngineNotReady
			}
			return e.ExportSubject(ctx, subject, w)
		})})
	exportOpts := []export.Option{export.WithRegister(k.reg), export.WithRecorder(k.trail), export.WithSources(sources...)}
	if s.now != nil {
		exportOpts = append(exportOpts, export.WithClock(s.now))
	}
	if k.builder, err = export.New(keys.ReceiptKey, append(exportOpts, s.exportOpts...)...); err != nil {
		return part("exports", err)
	}

	var targets []erasure.Target
	erasureOpts := []erasure.Option{erasure.WithRegister(k.reg), erasure.WithRecorder(k.trail),
		erasure.WithReceiptKey(keys.ReceiptKey), erasure.WithLegalHolds(holdStore)}
	if s.blobs != nil {
		deliveryOpts := []export.Option{export.WithRecorder(k.trail)}
		if s.now != nil {
			deliveryOpts = append(deliveryOpts, export.WithClock(s.now))
		}
		if k.deliverer, err = export.NewDeliverer(deliveryStore, s.blobs, append(deliveryOpts, s.deliveryOpts...)...); err != nil {
			return part("exports", err)
		}
		handler, err := export.NewHandler(k.builder, k.deliverer, s.send, s.handlerOpts...)
		if err != nil {
			return part("exports", err)
		}
		targets = append(targets, erasure.Target{Name: "deliveries", Eraser: k.deliverer})
		erasureOpts = append(erasureOpts, erasure.WithHandler(gdpr.KindAccess, handler), erasure.WithHandler(gdpr.KindPortability, handler))
	}
	targets = append(targets, erasure.Target{Name: "consent", Eraser: k.ledger})
	targets = append(targets, s.targets...)
	targets = append(targets, erasure.Target{Name: "keys", Eraser: k.keyring}, erasure.Target{Name: "audit", Eraser: k.trail})
	erasureOpts = append(erasureOpts, erasure.WithTargets(targets...))
	if s.journal != nil {
		erasureOpts = append(erasureOpts, erasure.WithJournal(s.journal))
	}
	if s.notifier != nil {
		erasureOpts = append(erasureOpts, erasure.WithNotifier(s.notifier))
	}
	if s.loc != nil {
		erasureOpts = append(erasureOpts, erasure.WithLocation(s.loc))
	}
	if s.now != nil {
		erasureOpts = append(erasureOpts, erasure.WithClock(s.now))
	}
	e, err := erasure.New(requestStore, keys.SubjectKey, append(erasureOpts, s.erasureOpts...)...)
	if err != nil {
		return part("requests", err)
	}
	k.engine = e
	engine.Store(e)

	if len(s.sweeps) > 0 {
		opts := append(k.retentionBase(s), retention.WithTargets(s.sweeps...))
		if s.loc != nil {
			opts = append(opts, retention.WithLocation(s.loc))
		}
		if k.sweeper, err = retention.NewSweeper(holdStore, append(opts, s.retentionOpts...)...); err != nil {
			return part("retention", err)
		}
	}
	return nil
}

func (k *Kit) retentionBase(s *settings) []retention.Option {
	opts := []retention.Option{retention.WithRegister(k.reg), retention.WithRecorder(k.trail)}
	if s.now != nil {
		opts = append(opts, retention.WithClock(s.now))
	}
	return opts
}

// errEngineNotReady is the guard's answer before the engine exists: no
// decryption until restrictions can be checked.
var errEngineNotReady = errors.New("kit: the request engine is not open yet")

// Register returns the record of processing activities every part checks against.
func (k *Kit) Register() *gdpr.Register { return k.reg }

// Ledger returns the consent ledger.
func (k *Kit) Ledger() *consent.Ledger { return k.ledger }

// Keyring returns the per-subject keys, for the host's encrypted fields
// and blind indexes.
func (k *Kit) Keyring() *crypto.Keyring { return k.keyring }

// Trail returns the audit trail, the Recorder of every part.
func (k *Kit) Trail() *audit.Log { return k.trail }

// Engine returns the request engine.
func (k *Kit) Engine() *erasure.Engine { return k.engine }

// Deliverer returns the export deliveries, where a subject's download
// link is spent; nil without WithExports.
func (k *Kit) Deliverer() *export.Deliverer { return k.deliverer }

// Builder returns the bundle builder, with every source.
func (k *Kit) Builder() *export.Builder { return k.builder }

// Holds returns the legal holds, which the engine asks before an erasure
// and the Sweeper before a deletion.
func (k *Kit) Holds() *retention.Holds { return k.holds }

// Sweeper returns the retention Sweeper; nil without WithRetention.
func (k *Kit) Sweeper() *retention.Sweeper { return k.sweeper }

// Run does the background work of one instance until ctx ends: the
// engine's workers (any number of instances share the requests through
// the database), the retention sweeps on their interval (one instance at
// a time, under the sweep lease), and every minute the audit records the
// ledger still owes the trail and a sweep of the export deliveries that
// are over. It logs what it meets, with no personal
// data, and returns nil once ctx has ended and the requests in hand have
// reached a step boundary.
func (k *Kit) Run(ctx context.Context) error {
	if ctx == nil {
		return &Error{Op: "run", Field: "ctx", Err: errNilContext}
	}
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	fail := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		if err := k.engine.Run(ctx); err != nil && ctx.Err() == nil {
			fail(&Error{Op: "run", Field: "requests", Err: err})
			cancel()
		}
	})
	if k.sweeper != nil {
		wg.Go(func() {
			err := k.sweeper.Run(ctx, k.sweepEvery, k.sweepEvery/12, func(sw retention.Sweep, err error) {
				switch {
				case errors.Is(err, retention.ErrLeased):
				case err != nil:
					k.logger.LogAttrs(ctx, slog.LevelError, "retention sweep failed", slog.String("error", err.Error()))
				default:
					k.logger.LogAttrs(ctx, slog.LevelInfo, "retention sweep done", slog.String("sweep", sw.ID))
				}
			})
			if err != nil && ctx.Err() == nil {
				fail(&Error{Op: "run", Field: "retention", Err: err})
				cancel()
			}
		})
	}
	if k.deliverer != nil {
		// Deliveries expired or downloaded in full go, with their blobs.
		wg.Go(func() { _ = k.deliverer.Run(ctx, k.drainEvery) })
	}
	wg.Go(func() {
		t := time.NewTicker(k.drainEvery)
		defer t.Stop()
		for {
			if n, err := k.ledger.DrainAudit(ctx); err != nil && ctx.Err() == nil {
				k.logger.LogAttrs(ctx, slog.LevelError, "consent audit drain failed", slog.String("error", err.Error()))
			} else if n > 0 {
				k.logger.LogAttrs(ctx, slog.LevelInfo, "consent audit drained", slog.Int("records", n))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

var errNilContext = errorf("nil context")

// Close flushes the audit trail (a last checkpoint) and closes the
// stores' prepared statements. It does not close the database, which is
// the host's; call it once Run has returned.
func (k *Kit) Close(ctx context.Context) error {
	var err error
	k.closeOnce.Do(func() {
		if k.trail != nil {
			err = k.trail.Close(ctx)
		}
		err = errors.Join(err, k.closeStores())
	})
	return err
}

func (k *Kit) closeStores() error {
	var err error
	for i := len(k.closers) - 1; i >= 0; i-- {
		err = errors.Join(err, k.closers[i].Close())
	}
	k.closers = nil
	return err
}
