// Package sqlbase is what every SQL store of the module shares, so that a
// store's package holds only its own domain's queries (with the dialect's
// SQL from package dialect): the
// table prefix and its validation, the embedded migrations, applied by
// [Base.Migrate] and exported as an fs.FS by [Migrations], the statement
// cache, time encoding and the retry of transactions a
// database aborted to resolve a conflict ([Retryable], [Retry]).
//
// A store declares its schema once:
//
//	//go:embed migrations
//	var migrationFS embed.FS
//
//	var schema = sqlbase.Schema{Component: "consent", FS: migrationFS}
//
// and builds its Base in New:
//
//	b, err := sqlbase.New(db, d, schema, opts...)
//
// Its public package re-exports [Option] as its own Option type and wraps
// [WithTablePrefix] with the doc of its own table names.
//
// # Connection state
//
// Nothing here relies on session state, so the stores work behind
// PgBouncer in transaction mode: on PostgreSQL no statement is prepared
// by the store (pgx caches its own per connection, or the host turns that
// off with default_query_exec_mode=exec), and migrations take a
// transaction-scoped advisory lock.
package sqlbase
