// Command quickstart walks one data subject through the consent ledger on
// an embedded SQLite database: the register of processing activities is
// loaded, a notice is published, the subject signs up with double opt-in,
// processing is decided with the event that proves it, the subject gets a
// signed receipt, unsubscribes from a link, contests their data, which
// restricts its processing (a support decryption is refused until the
// restriction is lifted, after the subject is told), asks for a copy of
// their data, which the request engine (package erasure) answers with a
// signed bundle (package export) behind a single-use link that the
// subject downloads and verifies, and is finally erased through the
// engine, which answers with a signed receipt of its own. A retention
// sweep then deletes the sign-ins past their six months, but for those a
// legal hold keeps. Every step is recorded in a tamper-evident audit
// trail, which is verified at the end; last, a hijacked support account
// is a personal-data breach, whose customers the trail finds and the
// breach register notifies (package breach).
//
//	go run ./examples/quickstart
//
// It is a template to copy: the same code runs on PostgreSQL or MySQL by
// DSN, e.g.
//
//	go run ./examples/quickstart -driver pgx -dsn 'postgres://root@127.0.0.1:5432/test?sslmode=disable'
//	go run ./examples/quickstart -driver mysql -dsn 'root@tcp(127.0.0.1:3306)/test'
//
// Run it again with the same -dsn and it continues the same ledger, key
// store, audit trail and requests with a new subject: its development keys
// (package insecuredevkeys, never for production), the audit anchor and
// the erasure journal are kept in a state directory per database (-state;
// by default in the user's cache directory).
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
	_ "time/tzdata" // the zone database, for the deadlines' Europe/Berlin on a machine without one

	_ "github.com/go-sql-driver/mysql" // MySQL and MariaDB
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
	_ "modernc.org/sqlite"             // SQLite, pure Go: the embedded default

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/sqlconsent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/export/sqlexport"
	"github.com/gdprkit/gdpr/insecuredevkeys"
	"github.com/gdprkit/gdpr/sqldialect"
)

func main() {
	driver := flag.String("driver", "sqlite", `database/sql driver: "sqlite", "pgx" or "mysql"`)
	dsn := flag.String("dsn", "", "data source name; default: a new SQLite file in a temporary directory")
	prefix := flag.String("prefix", "gdpr_", "table name prefix")
	state := flag.String("state", "", "directory for the development keys, the audit anchor and the erasure journal; default: beside a temporary database, or a directory per -dsn in the user's cache")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *driver, *dsn, *prefix, *state); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run opens the database and the development keys and walks one new
// subject through the tour. Run it again with the same -dsn: the keys, the
// anchor and the journal in the state directory let it continue the same
// ledger, key store, audit trail and requests.
func run(ctx context.Context, out io.Writer, driver, dsn, prefix, state string) error {
	if dsn == "" {
		if driver != "sqlite" {
			return fmt.Errorf("-dsn is required with -driver %s", driver)
		}
		dir, err := os.MkdirTemp("", "gdpr-quickstart-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		// secure_delete overwrites erased rows, so an erasure leaves no
		// copy in the database file's free pages.
		dsn = "file:" + filepath.Join(dir, "app.db") +
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=secure_delete(1)&_txlock=immediate"
		if state == "" {
			state = dir
		}
	}
	if state == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		// One state per database: an anchor belongs to one trail, a
		// journal to one database's erasures.
		sum := sha256.Sum256([]byte(driver + "\x00" + dsn + "\x00" + prefix))
		state = filepath.Join(cache, "gdpr-quickstart", hex.EncodeToString(sum[:8]))
	}
	// Development keys that survive a restart, in one 0600 file. In
	// production: the KEK in a KMS, the other keys in a secret store.
	keys, err := insecuredevkeys.Load(filepath.Join(state, "insecure-dev-keys.json"))
	if err != nil {
		return err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	dialect, err := sqldialect.ForDriver(driver)
	if err != nil {
		return err
	}
	// A new account for every run: a subject erased on an earlier run
	// stays erased (their key is shredded for good).
	id := make([]byte, 4)
	rand.Read(id)
	subject := gdpr.SubjectID("user-" + hex.EncodeToString(id))
	return walk(ctx, out, db, dialect, prefix, keys, state, subject)
}

// register is the controller's record of processing activities (Art. 30):
// the ledger checks every purpose against it.
func register() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Example Ltd", Email: "privacy@example.com"},
		Activities: []gdpr.Activity{{
			ID: "newsletter", Name: "Monthly newsletter", Purpose: "newsletter", Basis: gdpr.Consent,
			DirectMarketing: true, SubjectCategories: []string{"subscribers"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "e-mail address"}},
			Retention:      gdpr.RetentionRule{Description: "until the subscriber withdraws"},
		}, {
			ID: "account", Name: "User account", Purpose: "account", Basis: gdpr.Contract,
			Description: "To run the account you signed up for.", SubjectCategories: []string{"users"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "name and e-mail address"}},
			Retention:      gdpr.RetentionRule{Description: "until the account is closed"},
		}, {
			ID: "security", Name: "Sign-in log", Purpose: "security", Basis: gdpr.LegitimateInterests,
			LegitimateInterestAssessment: "LIA-2026-03 (detecting account takeover)",
			Description:                  "To detect and investigate misuse of accounts.", SubjectCategories: []string{"users"},
			DataCategories: []gdpr.Category{{ID: "logins", Description: "sign-in times and IP addresses"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Months: 6}},
		}},
	}
}

// controller names the controller on consent receipts, with every field
// the Kantara Consent Receipt Specification 1.1 requires.
var controller = consent.Controller{Name: "Example Ltd", Contact: "Data Protection Officer",
	Address: consent.PostalAddress{StreetAddress: "1 Example Street", PostalCode: "10115", Locality: "Berlin", Country: "DE"},
	Email:   "privacy@example.com", Phone: "+49 30 1234567", PolicyURL: "https://example.com/privacy"}

// walk is the tour itself, on any database, for one new subject; state
// is the directory of the audit anchor and the erasure journal.
func walk(ctx context.Context, out io.Writer, db *sql.DB, dialect sqldialect.Dialect, prefix string,
	keys *insecuredevkeys.Keys, state string, subject gdpr.SubjectID) error {

	// 1. Storage: the tables of the consent ledger, the request engine and
	// the audit trail, created or updated at start-up.
	store, err := sqlconsent.New(db, dialect, sqlconsent.WithTablePrefix(prefix))
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	requests, err := sqlerasure.New(db, dialect, sqlerasure.WithTablePrefix(prefix))
	if err != nil {
		return err
	}
	if err := requests.Migrate(ctx); err != nil {
		return err
	}
	deliveries, err := sqlexport.New(db, dialect, sqlexport.WithTablePrefix(prefix))
	if err != nil {
		return err
	}
	if err := deliveries.Migrate(ctx); err != nil {
		return err
	}
	trail, err := openTrail(ctx, db, dialect, prefix, keys, filepath.Join(state, "anchor"))
	if err != nil {
		return err
	}
	defer trail.Close(ctx)
	// The legal holds, and the retention sweeps' lease and checkpoints.
	holdStore, holds, err := openHolds(ctx, db, dialect, prefix, trail)
	if err != nil {
		return err
	}
	before, err := trail.Verify(ctx, audit.VerifyOptions{})
	if err != nil {
		return err
	}
	step(out, 1, "ledger, request store and audit trail ready on %s (%d entries from earlier runs)", dialect.String(), before.Entries)

	// The controller's keys: one signs receipts, one seals unsubscribe links.
	receiptKey := keys.ReceiptKey()
	unsub, err := consent.NewUnsubscriber(keys.UnsubscribeSecret())
	if err != nil {
		return err
	}
	ledger, err := consent.New(store, consent.WithRegister(register()),
		consent.WithReceipts(receiptKey, controller, "EU"),
		consent.WithUnsubscriber(unsub), consent.WithRecorder(trail))
	if err != nil {
		return err
	}
	// The audit records the ledger still owes the trail (a crash, a trail
	// that was down) are recorded at start-up; a host also drains every
	// minute or so.
	if _, err := ledger.DrainAudit(ctx); err != nil {
		return err
	}

	// 2. Publish the text the subject will be shown, with the hash of its exact words.
	const text = "May we send you our monthly newsletter by e-mail? You can unsubscribe at any time."
	// Publishing at every start-up is safe: a version already published
	// with the same text is returned as it is; ErrConflict means the text
	// changed, and a new version must be published.
	n, err := ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText(text),
		Language: "en", URL: "https://example.com/privacy/newsletter/v1"})
	if err != nil {
		return err
	}
	step(out, 2, "notice %q version %d published (sha256 %s…)", n.ID, n.Version, n.TextHash[:12])

	// 3. The subject signs up: double opt-in starts; nothing is allowed yet.
	_, token, err := ledger.Request(ctx, consent.Choice{
		Subject: subject, Purpose: "newsletter", Contact: consent.Email,
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}, Method: consent.MethodCheckbox, Channel: "web",
		Evidence: consent.Evidence{IPPrefix: consent.TruncateIP(netip.MustParseAddr("198.51.100.23")), UserAgent: "Firefox/Linux", Locator: "/signup"},
	})
	if err != nil {
		return err
	}
	if err := decide(ctx, out, ledger, subject, 3, "after sign-up"); err != nil {
		return err
	}

	// 4. The subject clicks the link in the confirmation e-mail.
	given, err := ledger.Confirm(ctx, token, consent.Evidence{UserAgent: "Firefox/Linux"})
	if err != nil {
		return err
	}
	if err := decide(ctx, out, ledger, subject, 4, "after confirmation"); err != nil {
		return err
	}

	// 5. A receipt the subject can keep, which anyone with our public key can verify.
	_, jws, err := ledger.Receipt(ctx, given.ID)
	if err != nil {
		return err
	}
	r, err := consent.VerifyReceipt(jws, receiptKey.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	step(out, 5, "receipt %s for %q verified (%d bytes)", r.ConsentReceiptID, r.Services[0].Purposes[0].Purpose, len(jws))

	// 6. Every newsletter carries an unsubscribe link; the subject clicks it.
	// The link names no subject in clear and needs no lookup to verify.
	link, err := ledger.UnsubscribeToken(subject, "newsletter", consent.Email, 0)
	if err != nil {
		return err
	}
	if _, err := ledger.Unsubscribe(ctx, link, consent.Evidence{}); err != nil {
		return err
	}
	if err := decide(ctx, out, ledger, subject, 6, "after unsubscribing"); err != nil {
		return err
	}

	// 7. The subject's profile lives in the host's own table, encrypted
	// with a key of their own; a blind index finds them by e-mail address.
	//
	// The keyring's guard is the request engine's restriction check, and
	// the keyring is one of the engine's erasure targets: the guard calls
	// the engine, made right after the keyring and before any decryption
	// (until then it refuses).
	var engine *erasure.Engine
	guard := func(ctx context.Context, s gdpr.SubjectID) error {
		if engine == nil {
			return errors.New("the request engine is not ready")
		}
		return engine.Guard(ctx, s)
	}
	keyring, profiles, err := openProfiles(ctx, db, dialect, prefix, keys.KEK(), trail, guard)
	if err != nil {
		return err
	}
	// The request engine: every data-subject request, with its deadline,
	// run target by target for an erasure. Every component that holds the
	// subject's data is a gdpr.Eraser and a target, run in this order:
	//   - the consent ledger first: its erasure deletes, with the events,
	//     the audit records it still owes the trail, so that none is drained
	//     after the trail has forgotten the subject, naming them again;
	//   - the host's table: the row, blind index included;
	//   - the keyring: it destroys the subject's key, and with it every
	//     ciphertext of theirs, in every backup too;
	//   - the audit trail last: it forgets the subject's pseudonym, which
	//     unlinks every entry about them, those the steps before made
	//     included (the erasures themselves are recorded without a subject).
	//
	// Every component that holds the subject's data is a gdpr.Exporter
	// too, and a source of their access and portability bundles, which
	// the engine's export handler answers. A bundle waits, encrypted,
	// behind a single-use link until it is downloaded; the deliverer is
	// the first target of an erasure, so no copy outlives it.
	deliverer, handler, links, err := openExport(keys, deliveries, trail, state,
		export.Source{Name: "consent", Exporter: ledger},
		export.Source{Name: "profiles", Exporter: profiles},
		export.Source{Name: "keys", Exporter: keyring},
		export.Source{Name: "audit", Exporter: trail},
		export.Source{Name: "requests", Exporter: gdpr.ExporterFunc(func(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
			return engine.ExportSubject(ctx, s, w) // the engine's own records of the subject
		})})
	if err != nil {
		return err
	}
	var notices []erasure.Notice // a host e-mails these to the subject
	engine, journal, err := openEngine(keys, requests, trail, holdStore, state, handler, func(_ context.Context, n erasure.Notice) error {
		notices = append(notices, n)
		return nil
	},
		erasure.Target{Name: "deliveries", Eraser: deliverer},
		erasure.Target{Name: "consent", Eraser: ledger},
		erasure.Target{Name: "profiles", Eraser: profiles},
		erasure.Target{Name: "keys", Eraser: keyring},
		erasure.Target{Name: "audit", Eraser: trail})
	if err != nil {
		return err
	}
	defer journal.Close()
	if err := profiles.save(ctx, subject, "Ann Example", "ann@example.org"); err != nil {
		return err
	}
	found, name, err := profiles.findByEmail(ctx, "Ann@Example.org")
	if err != nil {
		return err
	}
	step(out, 7, "profile stored encrypted; found by e-mail: %s (%s)", string(found), name)

	// Last night's backup holds the row too.
	backup, err := profiles.backup(ctx, subject)
	if err != nil {
		return err
	}

	// 8. Before erasing, the answer to "who did what with my data" (Art. 15).
	seen, err := trail.Entries(ctx, audit.Filter{Subject: subject})
	if err != nil {
		return err
	}
	var actions []string
	for _, e := range seen {
		actions = append(actions, e.Action)
	}
	step(out, 8, "audit trail of %s: %d entries (%s)", string(subject), len(seen), strings.Join(actions, ", "))

	// 9. The subject says the address on file is wrong, and asks for the
	// processing of their data to be restricted while the controller
	// checks (Art. 18(1)(a)). The restriction request completes once every
	// instance's check refuses (the engine's cache bound). Support staff
	// can no longer read the profile; a decryption for legal claims, a
	// ground of Art. 18(2), still works and is recorded with its ground.
	// Once the address is checked, the lift is a request of its own: the
	// subject is told first (Art. 18(3)), and only then is it lifted.
	restrict, _, err := engine.Submit(gdpr.WithActor(ctx, gdpr.SubjectActor()), erasure.Submission{
		Kind: gdpr.KindRestriction, Subject: subject, Ground: erasure.GroundAccuracy, Authenticated: true})
	if err != nil {
		return err
	}
	if _, err := processUntilDone(ctx, engine, restrict.ID); err != nil {
		return err
	}
	support := gdpr.WithPurpose(gdpr.WithActor(ctx, gdpr.Staff("support-7")), "support")
	_, err = profiles.name(support, subject)
	refused := errors.Is(err, crypto.ErrRestricted)
	claims, err := profiles.name(gdpr.WithAllowance(support, gdpr.AllowLegalClaims), subject)
	if err != nil {
		return err
	}
	lift, _, err := engine.Submit(ctx, erasure.Submission{Kind: gdpr.KindLiftRestriction, Subject: subject, Authenticated: true})
	if err != nil {
		return err
	}
	if _, err := processUntilDone(ctx, engine, lift.ID); err != nil {
		return err
	}
	told := make([]string, len(notices))
	for i, n := range notices {
		told[i] = string(n.Type) + " " + n.Article
	}
	after, err := profiles.name(support, subject)
	if err != nil {
		return err
	}
	step(out, 9, "restricted (%s): support refused: %v; for legal claims (Art. 18(2)): %s; subject told: %s; after the lift support reads: %s",
		erasure.GroundAccuracy.Article(), refused, claims, strings.Join(told, ", "), after)

	// 10. Before they go, the subject asks for a copy of their data
	// (Art. 15), and the engine answers it with the export handler: every
	// source streams into one bundle, with the Art. 15 information from
	// the register, signed; it waits encrypted behind a single-use link,
	// which a host e-mails the subject. The subject downloads it and
	// checks it with our public key: the signature, every file's hash,
	// nothing missing or added. The link then no longer works.
	access, _, err := engine.Submit(gdpr.WithActor(ctx, gdpr.SubjectActor()),
		erasure.Submission{Kind: gdpr.KindAccess, Subject: subject, Channel: "web", Authenticated: true})
	if err != nil {
		return err
	}
	if answered, err := processUntilDone(ctx, engine, access.ID); err != nil {
		return err
	} else if answered.State != erasure.StateCompleted {
		return fmt.Errorf("access request %s is %s", answered.ID, answered.State)
	}
	// The subject's copy goes to a temporary file here, removed at once:
	// a copy left in the state directory would outlive the erasure below.
	saved, name, err := downloadBundle(ctx, deliverer, links.first(access.ID), os.TempDir())
	if err != nil {
		return err
	}
	bundle, contents, err := readBundle(ctx, saved, keys.ReceiptKey().Public().(ed25519.PublicKey))
	os.Remove(saved)
	if err != nil {
		return err
	}
	_, err = deliverer.Download(ctx, links.first(access.ID))
	spent := errors.Is(err, export.ErrNotFound)
	step(out, 10, "access request %s answered: bundle of %s verified (%d files, signed), %s; the link works once: %v",
		access.ID, name, len(bundle.Manifest().Files), contents, spent)

	// 11. The subject asks for erasure, and the request engine answers it:
	// it keeps the request with its deadline, runs it target by target,
	// and proves the result.
	// The subject is signed in, and the sign-in is the identity check
	// (Art. 12(6)): the request is Authenticated, verified at intake. A
	// host that also takes requests by e-mail or post sets
	// erasure.WithVerifier (erasure.NewCodeVerifier sends a one-time code
	// to the address on record, over sqlerasure.NewCodeStore): those
	// requests then wait for the code, or for engine.Verified once the
	// host has confirmed the subject by its own means.
	req, _, err := engine.Submit(gdpr.WithActor(ctx, gdpr.SubjectActor()),
		erasure.Submission{Kind: gdpr.KindErasure, Subject: subject, Channel: "web", Authenticated: true})
	if err != nil {
		return err
	}
	step(out, 11, "erasure request %s received on the web, %s, due by the end of %s (Art. 12(3), %s time)",
		req.ID, req.State, req.Deadline.LastDay.Format("2 January 2006"), req.Deadline.Location)

	// 12. A worker does the work. Here it is Process, as a host's job
	// system would call it (its job carries the request ID, never personal
	// data); a host without one runs engine.Run(ctx) on every instance.
	// Each target's outcome is stored before the next one starts, so a
	// worker that dies is resumed where it stopped. Once every step is
	// done, the request waits out the keyring's erasure latency (other
	// instances may still hold the subject's key in their cache for its
	// TTL) before it is completed, and the job comes back at NextAt.
	start := time.Now()
	done, err := processUntilDone(ctx, engine, req.ID)
	if err != nil {
		return err
	}
	if done.State.Open() { // failed past the retry limit: a person looks, then engine.Retry
		return fmt.Errorf("erasure request %s is %s", done.ID, done.State)
	}
	var outcomes []string
	for _, s := range done.Steps {
		outcomes = append(outcomes, fmt.Sprintf("%s %s %d", s.Target, s.Outcome, s.Count))
	}
	step(out, 12, "erased, target by target: %s; %s once other instances' key caches expired (%s)",
		strings.Join(outcomes, ", "), done.State, time.Since(start).Round(10*time.Millisecond))

	// 13. The subject's receipt: what was done, signed, checked offline by
	// anyone with our public key. It names no subject; the request ID ties
	// it to the subject's own copy. The closed request keeps only the
	// subject's keyed reference, and the journal an entry for replays.
	jws, err = engine.Receipt(ctx, done.ID)
	if err != nil {
		return err
	}
	rc, err := erasure.VerifyReceipt(jws, receiptKey.Public().(ed25519.PublicKey))
	if err != nil {
		return err
	}
	step(out, 13, "erasure receipt verified: request %s %s, %d targets, answered in time: %v, signed by key %s (%d bytes)",
		rc.Request, rc.State, len(rc.Steps), rc.Closed.Before(rc.Due), rc.Issuer, len(jws))

	if err := decide(ctx, out, ledger, subject, 14, "after erasure"); err != nil {
		return err
	}

	// 15. The backup holds a ciphertext nobody can read any more. After a
	// restore of the database, the journal, kept apart from it, erases
	// again the subjects erased since the backup was taken: give Replay
	// the subject IDs found in the restored data.
	_, _, err = profiles.restore(ctx, subject, backup)
	unreadable := errors.Is(err, crypto.ErrShredded)
	replay, err := engine.Replay(ctx, []gdpr.SubjectID{subject})
	if err != nil {
		return err
	}
	again := "none"
	if len(replay.Requests) > 0 {
		// The replayed erasure waits out the caches' latency too.
		r, err := processUntilDone(ctx, engine, replay.Requests[0].ID)
		if err != nil {
			return err
		}
		again = string(r.State)
	}
	step(out, 15, "profile restored from the backup, unreadable: %v; journal replay: %d of %d subjects erased before, erased again: %s",
		unreadable, replay.Matched, replay.Checked, again)

	// 16. Storage limitation (Art. 5(1)(e)): the host's sign-in log is
	// swept of what is past its period, except what a legal hold keeps.
	if err := sweepLogins(ctx, out, db, dialect, prefix, holdStore, holds, trail, strings.TrimPrefix(string(subject), "user-")); err != nil {
		return err
	}

	// 17. The trail still verifies: every entry against its hash, the tree
	// against the signed checkpoint anchored outside the database. Nothing
	// in it links to the erased subject any more.
	cp, err := trail.Checkpoint(ctx)
	if err != nil {
		return err
	}
	report, err := trail.Verify(ctx, audit.VerifyOptions{})
	if err != nil {
		return err
	}
	linked, err := trail.Entries(ctx, audit.Filter{Subject: subject})
	if err != nil {
		return err
	}
	_, body, err := trail.Entry(ctx, 0)
	if err != nil {
		return err
	}
	proof, err := trail.ProveEntry(ctx, 0, cp.Size)
	if err != nil {
		return err
	}
	step(out, 17, "audit trail verified: %d entries, checkpoint %d signed and anchored, entry 0 proven: %v, entries still linked to %s: %d",
		report.Entries, cp.Size, audit.CheckEntry(cp, 0, body, proof) == nil, string(subject), len(linked))

	// 18. A personal-data breach (Art. 33, 34): the trail says whose data
	// a hijacked account read; the register keeps the 72-hour clock, the
	// notification and the notices to the people concerned.
	return breachStep(ctx, out, db, dialect, prefix, keys, trail, keyring, strings.TrimPrefix(string(subject), "user-"))
}

// openEngine builds the request engine over the requests' store, with the
// targets of an erasure in the order given.
func openEngine(keys *insecuredevkeys.Keys, requests erasure.Store, trail gdpr.Recorder, holds gdpr.LegalHolds, state string,
	exports gdpr.RequestHandler, notify erasure.NotifierFunc, targets ...erasure.Target) (*erasure.Engine, *erasure.FileJournal, error) {
	// The journal: per completed erasure the subject's keyed reference, the
	// time and the targets, nothing in clear. It must outlive a restore of
	// the database, so it is kept apart from it: here a file in the state
	// directory, which one process at a time may open; with many
	// instances, sqlerasure.NewJournal on another database.
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, nil, err
	}
	journal, err := erasure.OpenFileJournal(filepath.Join(state, "erasure-journal.jsonl"))
	if err != nil {
		return nil, nil, err
	}
	// The key of the references that replace a closed request's subject ID
	// and name subjects in the journal: in production 32 random bytes from
	// the secret store, the same on every instance and across restores.
	// The development key set has none, so the quickstart derives one from
	// its pseudonym key under a label of its own (HKDF): it stays the same
	// across restarts, as the journal needs.
	subjectKey, err := hkdf.Key(sha256.New, keys.PseudonymKey(), nil, "gdpr quickstart: erasure subject references", erasure.MinSubjectKeyLen)
	if err != nil {
		journal.Close()
		return nil, nil, err
	}
	// The days of Art. 12(3) are counted where the controller is.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		journal.Close()
		return nil, nil, err
	}
	engine, err := erasure.New(requests, subjectKey,
		erasure.WithTargets(targets...),
		// Access and portability requests are answered by the export
		// handler, with the same deadlines and identity checks.
		erasure.WithHandler(gdpr.KindAccess, exports),
		erasure.WithHandler(gdpr.KindPortability, exports),
		erasure.WithJournal(journal),
		// Erasure receipts are signed with the controller's receipt key, as
		// consent receipts are: one public key checks both, and neither
		// verifier accepts the other's receipts.
		erasure.WithReceiptKey(keys.ReceiptKey()),
		// Before each erasure the engine asks the legal holds: data a
		// hold covers are kept, on the ground of Art. 17(3)(e).
		erasure.WithLegalHolds(holds),
		erasure.WithLocation(berlin),
		// The subject is told of every outcome (and, before it, of a lift).
		erasure.WithNotifier(notify),
		// Restrictions are checked from a cache read again every half
		// second: one placed on another instance is honoured within a
		// second (the default is 1s, so 2s).
		erasure.WithRestrictionCache(500*time.Millisecond),
		erasure.WithRecorder(trail)) // every transition and step, without the subject
	if err != nil {
		journal.Close()
		return nil, nil, err
	}
	return engine, journal, nil
}

// openTrail opens the audit trail in the same database. Its two keys live
// outside the database: in production load them from a secret store (the
// signing key made once with audit.GenerateKey, the pseudonym key 32
// random bytes) and point the anchor at storage the database's
// administrators cannot write.
func openTrail(ctx context.Context, db *sql.DB, d sqldialect.Dialect, prefix string, keys *insecuredevkeys.Keys, anchorDir string) (*audit.Log, error) {
	store, err := sqlaudit.New(db, d, sqlaudit.WithTablePrefix(prefix))
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		return nil, err
	}
	signer, verifier, err := keys.AuditSigner()
	if err != nil {
		return nil, err
	}
	// The anchor refuses a missing directory (an unmounted volume must not
	// look like an empty anchor): the quickstart makes its own.
	if err := os.MkdirAll(anchorDir, 0o700); err != nil {
		return nil, err
	}
	// The pseudonym cache's TTL is how long another instance may still
	// write an erased subject's old pseudonym; the request engine waits it
	// out, as the keyring's. The quickstart keeps it to a second, as the
	// keyring's cache; the default is a minute.
	log, err := audit.New(ctx, store, keys.PseudonymKey(), signer, verifier, audit.WithAnchor(&audit.FileAnchor{Dir: anchorDir}),
		audit.WithPseudonymCache(10_000, time.Second))
	if errors.Is(err, audit.ErrTampered) {
		return nil, fmt.Errorf("the audit trail under prefix %q does not match the anchor in %s (another database's, or signed by other keys): use the -state of that database, or a fresh database: %w", prefix, anchorDir, err)
	}
	return log, err
}

func decide(ctx context.Context, out io.Writer, l *consent.Ledger, s gdpr.SubjectID, n int, when string) error {
	d, err := l.Decide(ctx, consent.Query{Subject: s, Purpose: "newsletter", Contact: consent.Email})
	if err != nil {
		return err
	}
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
	}
	proof := ""
	if d.Event.ID != "" { // the event that decided: the controller's proof (Art. 7(1))
		proof = fmt.Sprintf(", decided by %s event %s", d.Event.Kind, d.Event.ID)
	}
	step(out, n, "%s: newsletter by e-mail %s (%s%s)", when, verdict, d.Reason, proof)
	return nil
}

func step(out io.Writer, n int, format string, args ...any) {
	fmt.Fprintf(out, "%d. "+format+"\n", append([]any{n}, args...)...)
}

// processUntilDone calls Process as a job system would: again at the
// request's NextAt, while it waits (a backoff, the caches' latency). A
// step that failed stops it: a job system would retry at NextAt.
func processUntilDone(ctx context.Context, engine *erasure.Engine, id string) (erasure.Request, error) {
	done, err := engine.Process(ctx, id)
	for err == nil && done.State.Open() && !done.NextAt.IsZero() {
		for _, s := range done.Steps {
			if s.Outcome == erasure.OutcomeFailed {
				return done, fmt.Errorf("erasure request %s: target %s failed (attempt %d): %s", done.ID, s.Target, s.Attempts, s.Error)
			}
		}
		wait := time.NewTimer(time.Until(done.NextAt))
		select {
		case <-ctx.Done():
			wait.Stop()
			return done, ctx.Err()
		case <-wait.C:
		}
		done, err = engine.Process(ctx, id)
	}
	return done, err
}

// openExport makes the deliverer (deliveries in the database, the
// bundles' encrypted blobs in the state directory) and the handler that
// answers access and portability requests from the sources. The bundles'
// manifests are signed with the controller's receipt key: the signature
// covers a text of its own ("gdpr-export/1 manifest"), so no receipt
// verifier takes a manifest, or the other way round.
func openExport(keys *insecuredevkeys.Keys, deliveries export.Store, trail gdpr.Recorder, state string,
	sources ...export.Source) (*export.Deliverer, *export.Handler, *links, error) {
	dir := filepath.Join(state, "deliveries")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, nil, err
	}
	blobs, err := export.DirBlobs(dir) // in production: your object store
	if err != nil {
		return nil, nil, nil, err
	}
	deliverer, err := export.NewDeliverer(deliveries, blobs, export.WithRecorder(trail))
	if err != nil {
		return nil, nil, nil, err
	}
	builder, err := export.New(keys.ReceiptKey(), export.WithRegister(register()), export.WithRecorder(trail),
		export.WithSources(sources...))
	if err != nil {
		return nil, nil, nil, err
	}
	l := &links{}
	handler, err := export.NewHandler(builder, deliverer, l.send)
	if err != nil {
		return nil, nil, nil, err
	}
	return deliverer, handler, l, nil
}

// links stands in for the e-mail that brings the subject their download
// links: it keeps the tokens of each request, in memory only.
type links struct{ byRequest map[string][]export.Token }

func (l *links) send(_ context.Context, r gdpr.Request, _ export.Delivery, tokens []export.Token) error {
	if l.byRequest == nil {
		l.byRequest = map[string][]export.Token{}
	}
	l.byRequest[r.ID] = tokens
	return nil
}

// first returns the token of the request's first part (the quickstart's
// bundles have one; a host's e-mail holds a link per part).
func (l *links) first(request string) string {
	t := l.byRequest[request]
	if len(t) == 0 {
		return ""
	}
	return t[0].Reveal()
}

// downloadBundle is the subject following their link: it spends the
// token and saves the bundle in a new file in dir, named after it.
func downloadBundle(ctx context.Context, d *export.Deliverer, token, dir string) (path, name string, err error) {
	dl, err := d.Download(ctx, token)
	if err != nil {
		return "", "", err
	}
	defer dl.Close()
	f, err := os.CreateTemp(dir, "*-"+dl.Name)
	if err != nil {
		return "", "", err
	}
	path = f.Name()
	if _, err := io.Copy(f, dl); err != nil {
		f.Close()
		os.Remove(path)
		return "", "", err
	}
	return path, dl.Name, f.Close()
}

// readBundle opens a saved bundle as its receiver would, and counts its
// records by dataset.
func readBundle(ctx context.Context, path string, key ed25519.PublicKey) (*export.Bundle, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	b, err := export.Open(f, fi.Size(), key)
	if err != nil {
		return nil, "", err
	}
	var counts []string
	for _, ds := range b.Datasets() {
		n := 0
		for _, err := range b.Records(ctx, ds) {
			if err != nil {
				return nil, "", err
			}
			n++
		}
		counts = append(counts, fmt.Sprintf("%s %d", ds, n))
	}
	return b, strings.Join(counts, ", "), nil
}
