// Package sqlretention keeps the legal holds and the sweeps' leases and
// checkpoints of package retention in PostgreSQL, MySQL/MariaDB or
// SQLite (Store), and deletes or anonymises the expired rows of a
// host's own table (Deleter).
package sqlretention
