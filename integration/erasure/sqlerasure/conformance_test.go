package sqlerasure_test

import (
	"testing"

	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/erasure/erasuretest"
	"github.com/gdprkit/gdpr/erasure/sqlerasure"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestStoreConformance runs the erasure.Store suite on every database,
// with the suite's second handle a Store on a second connection pool to
// the same database (testdb.Reopen), as a second instance of the host
// would have: the suite's races between instances run there.
func TestStoreConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		erasuretest.RunStoreTests(t, func(t *testing.T) (s, other erasure.Store) {
			return testdb.Pair(t, d, sqlerasure.New)
		})
	})
}

// TestCodeStoreConformance runs the erasure.CodeStore suite likewise.
func TestCodeStoreConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		erasuretest.RunCodeStoreTests(t, func(t *testing.T) (s, other erasure.CodeStore) {
			return testdb.Pair(t, d, sqlerasure.NewCodeStore)
		})
	})
}

// TestJournalConformance runs the erasure.Journal suite likewise.
func TestJournalConformance(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		erasuretest.RunJournalTests(t, func(t *testing.T) (j, other erasure.Journal) {
			return testdb.Pair(t, d, sqlerasure.NewJournal)
		})
	})
}
