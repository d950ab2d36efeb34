package kit

import (
	"context"
	"log/slog"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/retention"
)

// Option configures Open. Options are applied in order; a later one of the
// same kind replaces an earlier one, except the With…Options lists, which
// add up.
type Option interface{ apply(*settings) error }

type option struct {
	name string
	fn   func(*settings) error
}

func (o option) apply(s *settings) error {
	if err := o.fn(s); err != nil {
		return &Error{Op: "open", Field: o.name, Err: err}
	}
	return nil
}

type settings struct {
	prefix       string
	migrate      bool
	controller   *consent.Controller
	jurisdiction string
	anchor       audit.Anchor
	journal      erasure.Journal
	blobs        export.Blobs
	send         func(context.Context, gdpr.Request, export.Delivery, []export.Token) error
	targets      []erasure.Target
	sources      []export.Source
	sweeps       []retention.Target
	notifier     erasure.Notifier
	loc          *time.Location
	now          func() time.Time
	logger       *slog.Logger
	sweepEvery   time.Duration
	drainEvery   time.Duration

	consentOpts   []consent.Option
	cryptoOpts    []crypto.Option
	auditOpts     []audit.Option
	erasureOpts   []erasure.Option
	exportOpts    []export.Option
	deliveryOpts  []export.Option
	handlerOpts   []export.Option
	retentionOpts []retention.Option
}

func defaults() settings {
	return settings{prefix: sqlbase.DefaultPrefix, migrate: true, sweepEvery: 24 * time.Hour, drainEvery: time.Minute}
}

func errorf(detail string) error { return &detailError{detail} }

type detailError struct{ detail string }

func (e *detailError) Error() string { return e.detail }
func (e *detailError) Unwrap() error { return ErrInvalid }

// WithTablePrefix sets the prefix of every table of every store (default
// "gdpr_"), validated by each store.
func WithTablePrefix(p string) Option {
	return option{"WithTablePrefix", func(s *settings) error { s.prefix = p; return nil }}
}

// WithoutMigrate leaves the schema alone: the host applies the stores'
// migrations with its own tool (each sql… package's Migrations gives them
// as files). By default Open applies them, which is safe on every instance
// at once.
func WithoutMigrate() Option {
	return option{"WithoutMigrate", func(s *settings) error { s.migrate = false; return nil }}
}

// WithReceipts names the controller on consent receipts (Kantara Consent
// Receipt 1.1 requires every field of Controller) and the jurisdiction
// they are issued under. Without it the ledger issues no receipts; the
// erasure engine's receipts and the export manifests are signed with
// Keys.ReceiptKey either way.
func WithReceipts(c consent.Controller, jurisdiction string) Option {
	return option{"WithReceipts", func(s *settings) error {
		s.controller, s.jurisdiction = &c, jurisdiction
		return nil
	}}
}

// WithAnchor keeps the audit trail's signed checkpoints outside the
// database (audit.FileAnchor, or the host's object store), where the
// database's administrators cannot rewrite them. Without it the trail
// verifies against itself only, which detects a broken entry but not a
// rewritten history: set it in production. nil is an error.
func WithAnchor(a audit.Anchor) Option {
	return option{"WithAnchor", func(s *settings) error {
		if a == nil {
			return errorf("a nil Anchor")
		}
		s.anchor = a
		return nil
	}}
}

// WithJournal gives the request engine its erasure journal, which must
// outlive a restore of the database: a sqlerasure.Journal on another
// database, or an erasure.FileJournal for a single instance. Without it
// erasures are not journaled and Replay has nothing to replay. nil is an
// error.
func WithJournal(j erasure.Journal) Option {
	return option{"WithJournal", func(s *settings) error {
		if j == nil {
			return errorf("a nil Journal")
		}
		s.journal = j
		return nil
	}}
}

// WithExports answers access (Art. 15) and portability (Art. 20) requests:
// each bundle is written, encrypted, to blobs and waits there behind
// single-use links, which send gives the subject (by e-mail, usually).
// Several instances need blobs they all reach (an object store). Without
// it the engine has no handler for those kinds and refuses them. Neither
// may be nil.
func WithExports(blobs export.Blobs, send func(ctx context.Context, r gdpr.Request, d export.Delivery, tokens []export.Token) error) Option {
	return option{"WithExports", func(s *settings) error {
		if blobs == nil || send == nil {
			return errorf("WithExports needs blobs and a send function")
		}
		s.blobs, s.send = blobs, send
		return nil
	}}
}

// WithTargets adds the host's own stores of personal data to every
// erasure. They run after the export deliveries and the consent ledger and
// before the keyring destroys the subject's key and the audit trail
// forgets their pseudonym: a host's eraser may still decrypt what it must
// (a last notice's address), and nothing it records is left linked. Every
// one should also be a source (WithSources) when it holds data the subject
// gave or that is about them.
func WithTargets(targets ...erasure.Target) Option {
	return option{"WithTargets", func(s *settings) error {
		for _, t := range targets {
			if t.Eraser == nil {
				return errorf("target " + t.Name + " has no Eraser")
			}
		}
		s.targets = append(s.targets, targets...)
		return nil
	}}
}

// WithSources adds the host's own exporters to every access and
// portability bundle, after the consent ledger and before the keyring, the
// audit trail and the engine's own records.
func WithSources(sources ...export.Source) Option {
	return option{"WithSources", func(s *settings) error {
		for _, src := range sources {
			if src.Exporter == nil {
				return errorf("source " + src.Name + " has no Exporter")
			}
		}
		s.sources = append(s.sources, sources...)
		return nil
	}}
}

// WithRetention adds the host's tables to the retention sweeps (a
// sqlretention.Deleter per table, usually), each under a data category of
// the Register. Without any, Open makes no Sweeper.
func WithRetention(targets ...retention.Target) Option {
	return option{"WithRetention", func(s *settings) error {
		s.sweeps = append(s.sweeps, targets...)
		return nil
	}}
}

// WithSweepInterval sets how often Run sweeps (default 24 hours), with a
// jitter of a twelfth of it so instances do not start together. At least
// a minute.
func WithSweepInterval(d time.Duration) Option {
	return option{"WithSweepInterval", func(s *settings) error {
		if d < time.Minute {
			return errorf("a sweep interval is at least a minute")
		}
		s.sweepEvery = d
		return nil
	}}
}

// WithNotifier tells the subject of their requests' outcomes (and, first,
// of a restriction's lift, Art. 18(3)). nil is an error; without it the
// engine tells no one.
func WithNotifier(n erasure.Notifier) Option {
	return option{"WithNotifier", func(s *settings) error {
		if n == nil {
			return errorf("a nil Notifier")
		}
		s.notifier = n
		return nil
	}}
}

// WithLocation sets where the controller is, for the days of Art. 12(3)
// and the retention cut-offs (default time.UTC). nil is an error.
func WithLocation(loc *time.Location) Option {
	return option{"WithLocation", func(s *settings) error {
		if loc == nil {
			return errorf("a nil Location")
		}
		s.loc = loc
		return nil
	}}
}

// WithClock sets the clock of every part (default time.Now), for tests.
// nil is an error.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", func(s *settings) error {
		if now == nil {
			return errorf("a nil clock")
		}
		s.now = now
		return nil
	}}
}

// WithLogger logs what Run's loops met (a failed sweep, a drain that
// failed): error texts of the library, which hold no personal data.
// Default: slog.Default(). nil is an error.
func WithLogger(l *slog.Logger) Option {
	return option{"WithLogger", func(s *settings) error {
		if l == nil {
			return errorf("a nil Logger")
		}
		s.logger = l
		return nil
	}}
}

// WithConsentOptions adds options of the consent ledger, applied after
// the kit's own (register, recorder, unsubscriber, receipts), so they
// may replace them.
func WithConsentOptions(opts ...consent.Option) Option {
	return option{"WithConsentOptions", func(s *settings) error { s.consentOpts = append(s.consentOpts, opts...); return nil }}
}

// WithCryptoOptions adds options of the keyring (crypto.WithCache,
// crypto.WithPreviousKEKs, …), applied after the kit's own (recorder,
// decrypt audit, the engine's guard).
func WithCryptoOptions(opts ...crypto.Option) Option {
	return option{"WithCryptoOptions", func(s *settings) error { s.cryptoOpts = append(s.cryptoOpts, opts...); return nil }}
}

// WithAuditOptions adds options of the audit trail (audit.WithOrigin,
// audit.WithPseudonymCache, …), applied after the kit's own (anchor).
func WithAuditOptions(opts ...audit.Option) Option {
	return option{"WithAuditOptions", func(s *settings) error { s.auditOpts = append(s.auditOpts, opts...); return nil }}
}

// WithErasureOptions adds options of the request engine (erasure.WithVerifier,
// erasure.WithRecipients, erasure.WithWorkers, …), applied after the kit's
// own. Give targets with kit.WithTargets, not erasure.WithTargets, which
// would replace the kit's order.
func WithErasureOptions(opts ...erasure.Option) Option {
	return option{"WithErasureOptions", func(s *settings) error { s.erasureOpts = append(s.erasureOpts, opts...); return nil }}
}

// WithExportOptions adds options of the bundle builder (export.New:
// export.WithDisclosures, export.WithAuthority, export.WithPartSize, …),
// applied after the kit's own. Give sources with kit.WithSources.
func WithExportOptions(opts ...export.Option) Option {
	return option{"WithExportOptions", func(s *settings) error { s.exportOpts = append(s.exportOpts, opts...); return nil }}
}

// WithDeliveryOptions adds options of the deliverer (export.NewDeliverer:
// export.WithTTL), applied after the kit's own.
func WithDeliveryOptions(opts ...export.Option) Option {
	return option{"WithDeliveryOptions", func(s *settings) error { s.deliveryOpts = append(s.deliveryOpts, opts...); return nil }}
}

// WithExportHandlerOptions adds options of the handler that answers access
// and portability requests (export.NewHandler: export.WithEncryption,
// export.WithTransmitter).
func WithExportHandlerOptions(opts ...export.Option) Option {
	return option{"WithExportHandlerOptions", func(s *settings) error { s.handlerOpts = append(s.handlerOpts, opts...); return nil }}
}

// WithRetentionOptions adds options of the Sweeper (retention.WithPolicies
// for what the Register only describes, retention.WithBatchSize, …),
// applied after the kit's own.
func WithRetentionOptions(opts ...retention.Option) Option {
	return option{"WithRetentionOptions", func(s *settings) error { s.retentionOpts = append(s.retentionOpts, opts...); return nil }}
}
