// Command dsar-server is a privacy center: a web app where data subjects
// sign in with a link sent by e-mail, see and change their consents per
// purpose and channel, download a copy of their data, ask for erasure,
// restriction, objection or correction and follow their requests to the
// deadline, and see who used their data; and where operators see the
// requests by state, overdue and due soon, retry a failed one, verify the
// audit trail and read the retention sweeps' reports, on pages or through
// a JSON API. It wires every package of the module through package kit,
// and it is a template to copy: see README.md.
//
//	go run ./examples/dsar-server
//
// serves on http://127.0.0.1:8080 with a SQLite file in the state
// directory, migrations applied, and development keys generated on first
// run (development only: production reads them from a KMS or a secret
// store). -db takes a PostgreSQL or MySQL DSN instead; then any number of
// instances run against the one database and share the request workers.
package main

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // Europe/Berlin for the deadlines, on a machine without a zone database

	_ "github.com/go-sql-driver/mysql" // MySQL and MariaDB
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
	_ "modernc.org/sqlite"             // SQLite, pure Go: the embedded default

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/insecuredevkeys"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	dsn := flag.String("db", "", `database: a PostgreSQL URL ("postgres://…"), a MySQL DSN ("user@tcp(host)/db"), or a SQLite file; default: app.db in the state directory`)
	state := flag.String("state", "dsar-state", "directory of the development keys, the audit anchor and the export blobs")
	base := flag.String("base-url", "", "the URL subjects reach the app at, for the links in its mail; default: http:// and -addr")
	prefix := flag.String("prefix", "gdpr_", "table name prefix")
	flag.Parse()
	log := slog.New(redactor{slog.NewJSONHandler(os.Stderr, nil)})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, log, *addr, *dsn, *state, *base, *prefix); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("dsar-server stopped", "error", err.Error())
		os.Exit(1)
	}
}

// openDB opens the database a -db value names.
func openDB(dsn, state string) (*sql.DB, sqldialect.Dialect, error) {
	driver := "sqlite"
	switch {
	case dsn == "":
		// secure_delete overwrites erased rows, so an erasure leaves no
		// copy in the file's free pages.
		dsn = "file:" + filepath.Join(state, "app.db") +
			"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=secure_delete(1)&_pragma=foreign_keys(1)&_txlock=immediate"
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		driver = "pgx"
	case strings.Contains(dsn, "@tcp("), strings.Contains(dsn, "@unix("):
		driver = "mysql"
	}
	d, err := sqldialect.ForDriver(driver)
	if err != nil {
		return nil, 0, err
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, 0, err
	}
	// A pool sized for the app: database/sql keeps 2 idle connections by
	// default, so under load it opens and closes connections all the time,
	// each preparing every statement again (see BENCHMARKS.md, the load
	// test). Give PostgreSQL and MySQL a limit the server's max_connections
	// allows across every instance.
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, d, nil
}

// devConfig makes the keys and secrets from the development key set in
// the state directory, made on first run. In production every one comes
// from a KMS or a secret store instead, the same on every instance: see
// README.md.
func devConfig(state string) (kit.Keys, []byte, string, error) {
	dev, err := insecuredevkeys.Load(filepath.Join(state, "insecure-dev-keys.json"))
	if err != nil {
		return kit.Keys{}, nil, "", err
	}
	signer, verifier, err := dev.AuditSigner()
	if err != nil {
		return kit.Keys{}, nil, "", err
	}
	// The development set has no subject key nor session secret: they are
	// derived from its pseudonym key, each under a label of its own.
	derive := func(label string) ([]byte, error) {
		return hkdf.Key(sha256.New, dev.PseudonymKey(), nil, "dsar-server development: "+label, erasure.MinSubjectKeyLen)
	}
	subjectKey, err := derive("erasure subject references")
	if err != nil {
		return kit.Keys{}, nil, "", err
	}
	sessions, err := derive("session cookies")
	if err != nil {
		return kit.Keys{}, nil, "", err
	}
	keys := kit.Keys{KEK: dev.KEK(), AuditSigner: signer, AuditVerifier: verifier, PseudonymKey: dev.PseudonymKey(),
		SubjectKey: subjectKey, ReceiptKey: dev.ReceiptKey(), UnsubscribeSecrets: [][]byte{dev.UnsubscribeSecret()}}
	token, err := operatorToken(filepath.Join(state, "operator-token"))
	return keys, sessions, token, err
}

// operatorToken reads the operator token from $DSAR_OPERATOR_TOKEN, or
// from its file in the state directory, made on first run (0600).
func operatorToken(path string) (string, error) {
	if t := os.Getenv("DSAR_OPERATOR_TOKEN"); t != "" {
		return t, nil
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	t := hex.EncodeToString(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(t + "\n"); err != nil {
		f.Close()
		return "", err
	}
	return t, f.Close()
}

func serve(ctx context.Context, log *slog.Logger, addr, dsn, state, base, prefix string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	db, d, err := openDB(dsn, state)
	if err != nil {
		return err
	}
	defer db.Close()
	keys, sessions, token, err := devConfig(state)
	if err != nil {
		return err
	}
	log.Warn("DEVELOPMENT KEYS: the keys in the state directory are for development only; production reads them from a KMS or a secret store",
		"state", state)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The development mailbox shows every sign-in and download link to
	// whoever opens it, and the development keys are in a file: both are
	// for this machine alone. Production replaces devConfig and the
	// mailbox (README.md) and drops this check.
	if ta, ok := ln.Addr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return errors.New("with the development keys and mailbox the app listens on a loopback address only (-addr 127.0.0.1:…): replace devConfig and the mailbox for anything else, see README.md")
	}
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	mailbox := &devMailbox{}
	a, err := open(ctx, config{db: db, dialect: d, prefix: prefix, state: state, keys: keys, sessionSecret: sessions,
		operatorToken: token, baseURL: base, mail: mailbox, mailbox: mailbox, logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	defer a.close(context.Background())
	srv := &http.Server{Handler: a.handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 32 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	done := make(chan error, 1)
	go func() { done <- a.run(ctx) }()
	log.Info("serving the privacy center", "at", base, "database", d.String(),
		"mailbox", base+"/dev/mailbox", "operator", "token in "+filepath.Join(state, "operator-token"))
	fmt.Fprintf(os.Stderr, "\n  privacy center:  %s\n  dev mailbox:     %s/dev/mailbox\n  operator token:  %s\n\n",
		base, base, filepath.Join(state, "operator-token"))
	err = srv.Serve(ln)
	cancel()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, <-done)
}

// cryptoCache sets the keyring's cache: ttl is how long another instance
// may still decrypt an erased subject's data; an erasure completes once
// it has passed.
func cryptoCache(ttl time.Duration) crypto.Option { return crypto.WithCache(10_000, ttl) }
