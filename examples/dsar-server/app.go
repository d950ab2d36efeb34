package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/gdprhttp"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// config is what the app is opened with.
type config struct {
	db      *sql.DB
	dialect sqldialect.Dialect
	prefix  string
	// state is the directory of the audit anchor and the export blobs
	// (and, in development, of the keys).
	state string
	keys  kit.Keys
	// sessionSecret seals the session cookies; operatorToken is the
	// operator's bearer token.
	sessionSecret []byte
	operatorToken string
	// baseURL is where the app is reached, for the links in its mail.
	baseURL string
	mail    mailer
	// mailbox, if set, is served at /dev/mailbox (development only).
	mailbox *devMailbox
	logger  *slog.Logger
	// cacheTTL is how long another instance may still use an erased
	// subject's key or pseudonym; an erasure completes after it.
	cacheTTL   time.Duration
	sweepEvery time.Duration
	workers    int
	// workerID names this instance's workers in the requests' leases.
	workerID string
	// signinRate and intakeRate are the POSTs a client network may make
	// per minute to the sign-in forms and to the other forms (default 10
	// and 60), each with a burst of half as many.
	signinRate, intakeRate int
	// addressRate is the sign-in links an address may get an hour, from
	// any network (3 at once), so that no one floods another's mailbox.
	addressRate int
}

// app is the privacy center: the kit's parts, the app's own accounts, the
// sessions and the pages.
type app struct {
	cfg      config
	kit      *kit.Kit
	acc      *accounts
	journal  *sqlerasure.Journal
	sessions *sealer
	pages    map[string]*template.Template
	signins  *limiter // sign-in links asked for, per client network
	intake   *limiter // requests and consent changes, per client network
	// perAddress limits the sign-in links of one address, by its blind
	// index, and bearer limits the API calls whose token was wrong, per
	// client network.
	perAddress, bearerFails *limiter
	operator                [32]byte // SHA-256 of the operator token
	// operatorTag names the operator token in an operator's session, so
	// a new token ends the sessions of the old.
	operatorTag gdpr.SubjectID
	pending     *sealer // the addresses of links not yet used
	log         *slog.Logger
	deleters    []*sqlretention.Deleter
	unsub       http.Handler // RFC 8058 one-click unsubscribe (package gdprhttp)
}

// purposeNotice is a purpose the subject consents to, per channel, with
// the text of its notice.
type purposeNotice struct {
	Purpose  gdpr.Purpose
	Contacts []consent.Contact
	Version  int
	Text     string
	// Sharing marks the purpose a Global Privacy Control signal opts
	// out of: it shares the subject's data with others.
	Sharing bool
}

// consentPurposes are the purposes a subject consents to on the account
// page, each per channel, with the text of its notice. Every text is
// published as a notice version at start-up; a changed text needs a new
// version.
var consentPurposes = []purposeNotice{
	{"newsletter", []consent.Contact{consent.Email}, 1,
		"May we send you our monthly newsletter by e-mail? You can unsubscribe at any time.", false},
	{"offers", []consent.Contact{consent.Email, consent.SMS}, 1,
		"May we send you offers on our products, by the channels you choose? You can stop them at any time.", false},
	{"partner_offers", []consent.Contact{consent.Email}, 1,
		"May we share your e-mail address with selected partners, for their offers? You can stop it at any time.", true},
}

// register is the controller's record of processing activities (Art. 30).
func register() *gdpr.Register {
	contact := []gdpr.Category{{ID: "contact", Description: "e-mail address"}}
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com", Address: "1 Example Street, 10115 Berlin, DE"},
		Activities: []gdpr.Activity{{
			ID: "account", Name: "User account", Purpose: "account", Basis: gdpr.Contract,
			Description: "To run the account you signed up for.", SubjectCategories: []string{"users"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "name and e-mail address"}},
			Retention:      gdpr.RetentionRule{Description: "until the account is closed"},
		}, {
			ID: "security", Name: "Sign-in log", Purpose: "security", Basis: gdpr.LegitimateInterests,
			LegitimateInterestAssessment: "LIA-2026-03 (detecting account takeover)",
			Description:                  "To detect and investigate misuse of accounts.", SubjectCategories: []string{"users"},
			DataCategories: []gdpr.Category{{ID: "logins", Description: "sign-in times and networks"},
				{ID: "signin_links", Description: "pending sign-in links and the address they were sent to"}},
			Retention: gdpr.RetentionRule{Period: gdpr.Period{Months: 6}},
		}, {
			ID: "newsletter", Name: "Monthly newsletter", Purpose: "newsletter", Basis: gdpr.Consent,
			DirectMarketing: true, SubjectCategories: []string{"subscribers"}, DataCategories: contact,
			Retention: gdpr.RetentionRule{Description: "until the subscriber withdraws"},
		}, {
			ID: "offers", Name: "Product offers", Purpose: "offers", Basis: gdpr.Consent,
			DirectMarketing: true, SubjectCategories: []string{"customers"}, DataCategories: contact,
			Retention: gdpr.RetentionRule{Description: "until the customer withdraws"},
		}, {
			ID: "partner_offers", Name: "Partners' offers", Purpose: "partner_offers", Basis: gdpr.Consent,
			DirectMarketing: true, SubjectCategories: []string{"customers"}, DataCategories: contact,
			Recipients: []gdpr.Recipient{partner},
			Retention:  gdpr.RetentionRule{Description: "until the customer withdraws"},
		}, {
			ID: "analytics", Name: "Service analytics", Purpose: "analytics", Basis: gdpr.LegitimateInterests,
			LegitimateInterestAssessment: "LIA-2026-04 (improving the service)",
			Description:                  "To learn which pages are used, from sign-in times.", SubjectCategories: []string{"users"},
			DataCategories: []gdpr.Category{{ID: "logins", Description: "sign-in times"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Months: 6}},
		}},
	}
}

// controller names the controller on consent receipts (Kantara 1.1).
var controller = consent.Controller{Name: "Example Ltd", Contact: "Data Protection Officer",
	Address: consent.PostalAddress{StreetAddress: "1 Example Street", PostalCode: "10115", Locality: "Berlin", Country: "DE"},
	Email:   "privacy@example.com", Phone: "+49 30 1234567", PolicyURL: "https://example.com/privacy"}

// open opens the kit and the app's tables on cfg.db.
func open(ctx context.Context, cfg config) (*app, error) {
	if cfg.logger == nil {
		cfg.logger = slog.New(redactor{slog.NewJSONHandler(os.Stderr, nil)})
	}
	if cfg.cacheTTL == 0 {
		cfg.cacheTTL = time.Minute
	}
	if cfg.sweepEvery == 0 {
		cfg.sweepEvery = 24 * time.Hour
	}
	if cfg.workers == 0 {
		cfg.workers = 4
	}
	if cfg.signinRate == 0 {
		cfg.signinRate = 10
	}
	if cfg.intakeRate == 0 {
		cfg.intakeRate = 60
	}
	if cfg.prefix == "" {
		cfg.prefix = "gdpr_"
	}
	if len(cfg.operatorToken) < 32 {
		return nil, errors.New("the operator token must be at least 32 characters, from a random source")
	}
	if cfg.addressRate == 0 {
		cfg.addressRate = 6
	}
	a := &app{cfg: cfg, log: cfg.logger, signins: newLimiter(cfg.signinRate, max(1, cfg.signinRate/2)), intake: newLimiter(cfg.intakeRate, max(1, cfg.intakeRate/2)),
		perAddress: newLimiterAt(rate.Limit(float64(cfg.addressRate)/3600), 3), bearerFails: newLimiter(10, 5), operator: sha256.Sum256([]byte(cfg.operatorToken))}
	a.operatorTag = gdpr.SubjectID(hex.EncodeToString(a.operator[:8]))
	var err error
	if a.sessions, err = newSealer(cfg.sessionSecret); err != nil {
		return nil, err
	}
	if a.pending, err = newSealerFor(cfg.sessionSecret, "dsar-server pending addresses v1"); err != nil {
		return nil, err
	}
	if a.pages, err = parsePages(); err != nil {
		return nil, err
	}
	a.acc = &accounts{db: cfg.db, d: cfg.dialect, prefix: cfg.prefix, now: time.Now, pending: a.pending}
	if err := a.acc.migrate(ctx); err != nil {
		return nil, fmt.Errorf("the app's tables: %w", err)
	}
	// The erasure journal must outlive a restore of the database: in
	// production give it a database of its own. Here it shares the app's,
	// under a prefix of its own.
	if a.journal, err = sqlerasure.NewJournal(cfg.db, cfg.dialect, sqlerasure.WithTablePrefix(cfg.prefix+"journal_")); err != nil {
		return nil, err
	}
	if err := a.journal.Migrate(ctx); err != nil {
		return nil, err
	}
	for _, dir := range []string{"anchor", "deliveries"} {
		if err := os.MkdirAll(filepath.Join(cfg.state, dir), 0o700); err != nil {
			return nil, err
		}
	}
	blobs, err := export.DirBlobs(filepath.Join(cfg.state, "deliveries"))
	if err != nil {
		return nil, err
	}
	// The retention sweeps: sign-ins after six months (the register),
	// sign-in links after a day.
	signinLog, err := sqlretention.NewDeleter(cfg.db, cfg.dialect, sqlretention.Table{Name: cfg.prefix + "signin_log", Key: "id",
		Subject: "subject", Time: "at_us", TimeUnit: sqlretention.UnixMicros})
	if err != nil {
		return nil, err
	}
	links, err := sqlretention.NewDeleter(cfg.db, cfg.dialect, sqlretention.Table{Name: cfg.prefix + "links", Key: "token_hash",
		Subject: "subject", Time: "created_us", TimeUnit: sqlretention.UnixMicros})
	if err != nil {
		return nil, err
	}
	a.deleters = []*sqlretention.Deleter{signinLog, links}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		return nil, err
	}
	a.kit, err = kit.Open(ctx, cfg.db, cfg.dialect, register(), cfg.keys,
		kit.WithTablePrefix(cfg.prefix),
		kit.WithReceipts(controller, "EU"),
		kit.WithAnchor(&audit.FileAnchor{Dir: filepath.Join(cfg.state, "anchor"), Keep: 100}),
		kit.WithJournal(a.journal),
		kit.WithExports(blobs, a.sendLinks),
		kit.WithTargets(erasure.Target{Name: "accounts", Eraser: a.acc}),
		kit.WithSources(export.Source{Name: "accounts", Exporter: a.acc}),
		kit.WithRetention(
			retention.Target{Name: "signin_log", Category: "logins", Deleter: signinLog},
			retention.Target{Name: "signin_links", Category: "signin_links", Deleter: links}),
		// The register only describes how long contact data are kept
		// ("until the account is closed"): the policy in code says 30 days
		// after. Sign-in links go after a day.
		kit.WithRetentionOptions(retention.WithPolicies(
			retention.Policy{Category: "contact", Period: gdpr.Period{Days: 30}, From: retention.FromRelationshipEnd},
			retention.Policy{Category: "signin_links", Period: gdpr.Period{Days: 1}})),
		kit.WithSweepInterval(cfg.sweepEvery),
		kit.WithNotifier(erasure.NotifierFunc(a.notify)),
		kit.WithLocation(berlin),
		kit.WithLogger(cfg.logger),
		kit.WithCryptoOptions(cryptoCache(cfg.cacheTTL)),
		kit.WithAuditOptions(audit.WithPseudonymCache(10_000, cfg.cacheTTL)),
		kit.WithExportOptions(export.WithDisclosures(gdpr.DisclosuresFunc(a.disclosures))),
		kit.WithErasureOptions(erasure.WithRecipients(erasure.RecipientNotifierFunc(a.notifyRecipient), gdpr.DisclosuresFunc(a.disclosures)),
			erasure.WithRectifiers(a.acc.rectifier()), erasure.WithWorkers(cfg.workers),
			erasure.WithPoll(pollEvery(cfg.cacheTTL)), erasure.WithRestrictionCache(cfg.cacheTTL), workerID(cfg.workerID)))
	if err != nil {
		a.closeParts()
		return nil, err
	}
	a.acc.keys = a.kit.Keyring()
	if a.acc.emailIdx, err = a.kit.Keyring().BlindIndex(emailField); err != nil {
		a.close(ctx)
		return nil, err
	}
	if a.unsub, err = gdprhttp.NewUnsubscribeHandler(a.kit.Ledger(), gdprhttp.WithLogger(cfg.logger)); err != nil {
		a.close(ctx)
		return nil, err
	}
	// Publishing at every start-up is safe: the same text is the same
	// version; a changed text is ErrConflict until its version is raised.
	for _, p := range consentPurposes {
		if _, err := a.kit.Ledger().Publish(ctx, consent.Notice{ID: string(p.Purpose), Version: p.Version,
			TextHash: consent.HashText(p.Text), Language: "en", URL: cfg.baseURL + "/notices/" + string(p.Purpose)}); err != nil {
			a.close(ctx)
			if errors.Is(err, gdpr.ErrConflict) {
				err = fmt.Errorf("%w (every instance needs the same -base-url, the public URL: the notices carry it)", err)
			}
			return nil, fmt.Errorf("notice %s: %w", p.Purpose, err)
		}
	}
	return a, nil
}

// pollEvery is how often idle workers look for requests.
func pollEvery(cacheTTL time.Duration) time.Duration {
	return min(max(cacheTTL/4, 50*time.Millisecond), time.Second)
}

func workerID(id string) erasure.Option {
	if id == "" {
		h, _ := os.Hostname()
		id = fmt.Sprintf("%s-%d", h, os.Getpid())
	}
	return erasure.WithWorkerID(id)
}

// run does the background work until ctx ends.
func (a *app) run(ctx context.Context) error { return a.kit.Run(ctx) }

func (a *app) close(ctx context.Context) {
	if a.kit != nil {
		a.kit.Close(ctx)
	}
	a.closeParts()
}

func (a *app) closeParts() {
	for _, d := range a.deleters {
		d.Close()
	}
	if a.journal != nil {
		a.journal.Close()
	}
}

// handler is the app's routes behind its middleware: the security
// headers and body limit, the cross-origin protection of every form
// (Go's http.CrossOriginProtection, which refuses a cross-site POST by its
// Sec-Fetch-Site or Origin header), and the log line.
func (a *app) handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /signin", a.signins.limit(a.signin))
	mux.HandleFunc("GET /signin/confirm", a.signinConfirmPage)
	mux.HandleFunc("POST /signin/confirm", a.signins.limit(a.signinConfirm))
	mux.HandleFunc("POST /signout", a.signout)
	mux.HandleFunc("GET /account", a.subject(a.account))
	mux.HandleFunc("POST /consents", a.intake.limit(a.subject(a.changeConsent)))
	mux.HandleFunc("POST /requests", a.intake.limit(a.subject(a.submit)))
	mux.HandleFunc("POST /requests/{id}/cancel", a.intake.limit(a.subject(a.cancel)))
	mux.HandleFunc("GET /activity", a.subject(a.activity))
	mux.HandleFunc("GET /receipts/{id}", a.receipt)
	mux.HandleFunc("GET /notices/{purpose}", a.notice)
	mux.Handle("/download/{token}", a.kit.Deliverer())
	mux.HandleFunc("GET /email/confirm", a.subject(a.emailConfirmPage))
	mux.HandleFunc("POST /email/confirm", a.intake.limit(a.subject(a.emailConfirm)))
	// The link in bulk mail: one-click unsubscribe (RFC 8058); a GET shows
	// a button and changes nothing. (The app gives consent to signed-in
	// subjects only, so it needs no double opt-in: a host that takes
	// sign-ups by address mounts gdprhttp.NewConfirmHandler the same way.)
	mux.Handle("/unsubscribe", a.unsub)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })

	mux.HandleFunc("GET /operator", a.operatorPage)
	mux.HandleFunc("POST /operator/signin", a.signins.limit(a.operatorSignin))
	mux.HandleFunc("POST /operator/signout", a.operatorSignout)
	mux.HandleFunc("POST /operator/requests/{id}/retry", a.staff(a.retryForm))
	mux.HandleFunc("POST /operator/requests/{id}/extend", a.staff(a.extendForm))
	mux.HandleFunc("POST /operator/requests/{id}/reject", a.staff(a.rejectForm))
	mux.HandleFunc("POST /operator/audit/verify", a.staff(a.verifyForm))
	a.api(mux)
	if a.cfg.mailbox != nil {
		mux.HandleFunc("GET /dev/mailbox", a.devMailbox)
	}

	cop := http.NewCrossOriginProtection()
	// The one-click unsubscribe POST comes from a mail provider, with no
	// session and no Origin of ours: the token in the link is its
	// authority, and it only ever stops processing (RFC 8058).
	cop.AddInsecureBypassPattern("POST /unsubscribe")
	return logged(a.log, secure(cop.Handler(mux)))
}

// operatorOK compares a presented operator token in constant time.
func (a *app) operatorOK(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], a.operator[:]) == 1
}

// sendLinks e-mails a subject their download links (export.NewHandler's
// send): the account's address, read when the bundle is ready.
func (a *app) sendLinks(ctx context.Context, r gdpr.Request, _ export.Delivery, tokens []export.Token) error {
	p, err := a.acc.get(ctx, r.Subject)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("Your copy of your data is ready. Each link works once, for a limited time:\n\n")
	for _, t := range tokens {
		b.WriteString(a.cfg.baseURL + "/download/" + t.Reveal() + "\n")
	}
	return a.cfg.mail.send(ctx, message{To: p.Email, Subject: "Your data is ready to download", Body: b.String(), Sent: time.Now()})
}

// notify tells the subject of an outcome, by e-mail to the account's
// address. After an erasure there is no address any more: the subject
// was given the receipt's link when they asked.
func (a *app) notify(ctx context.Context, n erasure.Notice) error {
	p, err := a.acc.get(ctx, n.Request.Subject)
	if errors.Is(err, errNoAccount) || errors.Is(err, gdpr.ErrShredded) {
		return nil
	}
	if err != nil {
		return err
	}
	body := fmt.Sprintf("Your %s request %s: %s (%s).\n", kindName(n.Request.Kind), n.Request.ID, n.Type, n.Article)
	if n.Reasons != "" {
		body += "\nReasons: " + n.Reasons + "\n"
	}
	for _, r := range n.Remedies {
		body += "\n" + r.Text
	}
	for _, rc := range n.Recipients {
		// Art. 19: whom the controller told of it, and whom not, and why.
		if rc.Outcome == erasure.OutcomeNotified {
			body += "\nWe told " + rc.Recipient + ", who received your data."
		} else if rc.Reason != "" {
			body += "\nWe did not tell " + rc.Recipient + ": " + rc.Reason + "."
		}
	}
	return a.cfg.mail.send(ctx, message{To: p.Email, Subject: "Your request: " + string(n.Type), Body: body, Sent: time.Now()})
}
