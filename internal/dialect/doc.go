// Package dialect holds the few differences between the SQL databases the
// module's SQL stores support: PostgreSQL, MySQL/MariaDB and SQLite.
//
// It covers placeholders ([Dialect.Rebind]), identifier quoting
// ([Dialect.Quote]) and validation ([ValidIdent]), an insert that does nothing
// on a duplicate key ([Dialect.InsertIgnore]), row locking that skips locked
// rows ([Dialect.ForUpdateSkipLocked]), the recognition of unique-key
// violations ([IsUniqueViolation]) and the withholding of server messages
// ([Redact]). It imports no database driver. [Of] maps the public names of
// package sqldialect onto it.
//
// Queries in this module are written with '?' placeholders and passed
// through [Dialect.Rebind] once, when a store is built.
//
// # Versions
//
// PostgreSQL 10 or later (identity columns, ON CONFLICT, SKIP LOCKED), MySQL 8.0.16 or MariaDB
// 10.6 or later (SKIP LOCKED), SQLite 3.24 or later (ON CONFLICT DO NOTHING).
package dialect
