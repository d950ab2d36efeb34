// Package pgbouncer holds no code: its tests run the SQL stores
// (consent/sqlconsent, crypto/sqlkeys, audit/sqlaudit, erasure/sqlerasure)
// and the migrations through PgBouncer in transaction mode, as a host
// behind a pooler runs them. Each test starts its own PgBouncer on
// 127.0.0.1 in front of the PostgreSQL server of GDPR_TEST_POSTGRES_DSN
// (see testdb.StartPgBouncer), with fewer server connections than
// clients, so a store that relied on session state — a server-side
// prepared statement, a session advisory lock, a SET — would see its
// state on one server and its next statement on another.
//
// The hosts' setting these tests use: pgx through database/sql with
// default_query_exec_mode=exec (or simple_protocol) in the DSN, e.g.
//
//	postgres://app@pgbouncer:6432/app?sslmode=disable&default_query_exec_mode=exec
//
// Without the DSN or Debian's pgbouncer package the tests skip; with CI
// set they fail.
package pgbouncer
