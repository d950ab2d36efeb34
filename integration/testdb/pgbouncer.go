package testdb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PgBouncerPath is where Debian's pgbouncer package installs the binary;
// [StartPgBouncer] looks there first, then on PATH.
const PgBouncerPath = "/usr/sbin/pgbouncer"

// PgBouncerPoolSize is the number of PostgreSQL connections a PgBouncer
// from [StartPgBouncer] opens per database and role (default_pool_size).
// It is small on purpose: a test's clients outnumber it, so consecutive
// transactions of one client connection land on different server
// connections, and a store that keeps session state between transactions
// fails.
const PgBouncerPoolSize = 2

// pgbouncerReady bounds the wait for a started PgBouncer to answer.
const pgbouncerReady = 10 * time.Second

// PgBouncer is a PgBouncer process in transaction pooling mode on
// 127.0.0.1, in front of the PostgreSQL server named by
// GDPR_TEST_POSTGRES_DSN, started by [StartPgBouncer] for one test.
//
// Its configuration: pool_mode = transaction; one wildcard database entry,
// so a client reaches the database of the name it asks for; auth_type =
// trust with an auth_file that lists the DSN's role (and its password, for
// the server login, if the DSN has one); default_pool_size =
// [PgBouncerPoolSize]; ignore_startup_parameters = extra_float_digits. It
// is Debian 12's PgBouncer 1.18: no protocol-level prepared statements in
// transaction mode, and no startup parameters beyond the ones it tracks
// (client_encoding, DateStyle, TimeZone, standard_conforming_strings,
// application_name) — a search_path in the DSN is refused at connect.
type PgBouncer struct {
	// Addr is the host:port clients connect to.
	Addr string

	path   string
	server *pgx.ConnConfig // the DSN's config: PostgreSQL itself
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	log    *syncBuffer   // PgBouncer's log (its stderr)
}

// StartPgBouncer starts a PgBouncer for t on a free port of 127.0.0.1,
// waits until it answers, and stops it in t.Cleanup. It costs some ten
// milliseconds. The configuration is written to t.TempDir(); when the test
// runs as root, PgBouncer (which refuses to run as root) drops to the OS
// user postgres.
//
// Without GDPR_TEST_POSTGRES_DSN, or without the pgbouncer binary
// ([PgBouncerPath], else on PATH), StartPgBouncer skips t with a message
// saying what is missing; when CI is set it fails t instead.
func StartPgBouncer(t testing.TB) *PgBouncer {
	t.Helper()
	dsn := requireDSN(t, EnvPostgres, "PostgreSQL (behind PgBouncer)")
	path := pgbouncerBinary(t)
	server, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("testdb: %s does not parse: %v", EnvPostgres, err)
	}
	var lastErr error
	// A free port may be taken by another process before PgBouncer binds
	// it: try a few.
	for range 5 {
		b, err := startPgBouncer(t, path, server)
		if err == nil {
			return b
		}
		lastErr = err
	}
	t.Fatalf("testdb: start pgbouncer: %v", lastErr)
	return nil
}

func pgbouncerBinary(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat(PgBouncerPath); err == nil && !fi.IsDir() {
		return PgBouncerPath
	}
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p
	}
	msg := "pgbouncer not found at " + PgBouncerPath + " or on PATH"
	if os.Getenv(EnvCI) != "" {
		t.Fatalf("%s but CI=%q: the PgBouncer tests must run in CI (.ci/run installs Debian's pgbouncer package)", msg, os.Getenv(EnvCI))
	}
	t.Skipf("%s: skipping the PgBouncer tests (install Debian's pgbouncer package to run them, see integration/testdb)", msg)
	return ""
}

func startPgBouncer(t testing.TB, path string, server *pgx.ConnConfig) (*PgBouncer, error) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	ini := filepath.Join(dir, "pgbouncer.ini")
	users := filepath.Join(dir, "userlist.txt")

	serverHost := server.Host
	if serverHost == "" {
		serverHost = "127.0.0.1"
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "[databases]\n* = host=%s port=%d\n\n", serverHost, server.Port)
	conf.WriteString("[pgbouncer]\n")
	fmt.Fprintf(&conf, "listen_addr = 127.0.0.1\nlisten_port = %d\n", port)
	conf.WriteString("unix_socket_dir =\n")
	fmt.Fprintf(&conf, "auth_type = trust\nauth_file = %s\n", users)
	conf.WriteString("pool_mode = transaction\n")
	fmt.Fprintf(&conf, "default_pool_size = %d\nmin_pool_size = 0\nreserve_pool_size = 0\n", PgBouncerPoolSize)
	conf.WriteString("max_client_conn = 200\n")
	conf.WriteString("ignore_startup_parameters = extra_float_digits\n")
	// A client waiting for a server connection longer than this gets an
	// error instead of hanging the test.
	conf.WriteString("query_wait_timeout = 60\n")
	conf.WriteString("server_login_retry = 1\n")
	conf.WriteString("log_connections = 0\nlog_disconnections = 0\n")
	if os.Geteuid() == 0 {
		// PgBouncer refuses to run as root. It reads its files before it
		// drops privileges, so t.TempDir()'s mode does not matter.
		if _, err := user.Lookup("postgres"); err != nil {
			t.Fatalf("testdb: running as root, and PgBouncer needs an OS user to drop to: no user postgres (%v)", err)
		}
		conf.WriteString("user = postgres\n")
	}
	if err := os.WriteFile(ini, []byte(conf.String()), 0o600); err != nil {
		return nil, err
	}
	// The auth_file lists the role; with trust nothing is checked, and the
	// password (if any) is what PgBouncer logs in to PostgreSQL with.
	line := quoteUserlist(server.User) + " " + quoteUserlist(server.Password) + "\n"
	if err := os.WriteFile(users, []byte(line), 0o600); err != nil {
		return nil, err
	}

	b := &PgBouncer{
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		path:   path,
		server: server,
		exited: make(chan struct{}),
		log:    &syncBuffer{},
	}
	b.cmd = exec.Command(path, ini)
	b.cmd.Stdout = b.log
	b.cmd.Stderr = b.log
	setPdeathsig(b.cmd)
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()

	if err := b.waitReady(); err != nil {
		b.stop()
		return nil, fmt.Errorf("%w\npgbouncer log:\n%s", err, b.log.String())
	}
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			t.Logf("pgbouncer log:\n%s", b.log.String())
		}
	})
	return b, nil
}

// waitReady connects through PgBouncer to the DSN's database until a
// query succeeds.
func (b *PgBouncer) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), pgbouncerReady)
	defer cancel()
	cfg := b.clientConfig(b.server.Database, pgx.QueryExecModeExec)
	var err error
	for {
		select {
		case <-b.exited:
			return fmt.Errorf("pgbouncer exited (%v)", b.cmd.ProcessState)
		default:
		}
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		var conn *pgx.Conn
		conn, err = pgx.ConnectConfig(cctx, cfg)
		if err == nil {
			_, err = conn.Exec(cctx, "SELECT 1")
			conn.Close(context.Background())
		}
		ccancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgbouncer on %s not answering after %v: %w", b.Addr, pgbouncerReady, err)
		case <-b.exited:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (b *PgBouncer) stop() {
	if b.cmd.Process == nil {
		return
	}
	// SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for
	// the clients).
	_ = b.cmd.Process.Signal(sigterm)
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.exited
	}
}

// Log returns what PgBouncer has logged so far.
func (b *PgBouncer) Log() string { return b.log.String() }

// clientConfig is the DSN's config pointed at PgBouncer and database,
// with the given exec mode, no TLS (loopback) and no fallbacks.
func (b *PgBouncer) clientConfig(database string, mode pgx.QueryExecMode) *pgx.ConnConfig {
	cfg := b.server.Copy()
	host, port, _ := net.SplitHostPort(b.Addr)
	p, _ := strconv.Atoi(port)
	cfg.Host, cfg.Port = host, uint16(p)
	cfg.TLSConfig = nil
	cfg.Fallbacks = nil
	cfg.Database = database
	cfg.DefaultQueryExecMode = mode
	return cfg
}

// Config returns the connection config of a client of b for database,
// with pgx's query exec mode set to mode. Behind PgBouncer in transaction
// mode, use [pgx.QueryExecModeExec] or [pgx.QueryExecModeSimpleProtocol]
// (default_query_exec_mode=exec or simple_protocol in a DSN), as
// TestPgBouncerExecModes shows: the default, cache_statement, prepares
// named statements on whichever server a statement lands on (SQLSTATE
// 26000 "prepared statement … does not exist", 42P05 "… already exists");
// describe_exec uses the unnamed statement across two round trips that may
// reach two servers (26000, or another client's statement run with this
// one's arguments); cache_describe trusts result descriptions cached
// across schema changes.
func (b *PgBouncer) Config(database string, mode pgx.QueryExecMode) *pgx.ConnConfig {
	return b.clientConfig(database, mode)
}

// Open returns a connection pool on database through b, in pgx's query
// exec mode mode, closed in t.Cleanup. Each call is a pool of its own, as
// another process would have.
func (b *PgBouncer) Open(t testing.TB, database string, mode pgx.QueryExecMode) *sql.DB {
	t.Helper()
	db := stdlib.OpenDB(*b.clientConfig(database, mode))
	t.Cleanup(func() { db.Close() })
	ctx, cancel := setupCtx()
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("testdb: ping postgres %s through pgbouncer: %v\npgbouncer log:\n%s", database, err, b.log.String())
	}
	return db
}

// CreateDatabase creates a new, empty database on PostgreSQL (directly,
// not through PgBouncer), named t_<random hex>, and returns its name.
// t.Cleanup drops it, with FORCE, which also ends PgBouncer's server
// connections to it.
func (b *PgBouncer) CreateDatabase(t testing.TB) string {
	t.Helper()
	name := randomName(t)
	ctx, cancel := setupCtx()
	defer cancel()
	admin := stdlib.OpenDB(*b.server.Copy())
	defer admin.Close()
	// name is t_ and hex digits: safe to splice into DDL.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testdb: create postgres database (%s): %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		ctx, cancel := setupCtx()
		defer cancel()
		admin := stdlib.OpenDB(*b.server.Copy())
		defer admin.Close()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop postgres database %s: %v", name, err)
		}
	})
	return name
}

// OpenPgBouncer returns a handle on a new, empty PostgreSQL database for
// t alone, reached through a PgBouncer in transaction mode that t alone
// uses ([StartPgBouncer]), with pgx in default_query_exec_mode=exec. The
// database is created directly on PostgreSQL and dropped in t.Cleanup. It
// skips t (or fails it when CI is set) without GDPR_TEST_POSTGRES_DSN or
// the pgbouncer binary. For a second pool on the same database, as a
// second process would open, use StartPgBouncer, CreateDatabase and Open.
func OpenPgBouncer(t testing.TB) *sql.DB {
	t.Helper()
	b := StartPgBouncer(t)
	return b.Open(t, b.CreateDatabase(t), pgx.QueryExecModeExec)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("listener has no TCP address")
	}
	return addr.Port, nil
}

// quoteUserlist quotes s for a PgBouncer auth_file: in double quotes, a
// double quote doubled.
func quoteUserlist(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
