package audittest

import (
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr/audit"
)

// Tamperer changes a Store's data behind its back, as an insider with write
// access to the database would: it bypasses the Store's methods and their
// rules. The tamper suite uses it to check that verification catches each
// change. Each method fails t if it cannot do what it says.
type Tamperer interface {
	// SetBody overwrites the body of the entry at index i (which exists).
	SetBody(t testing.TB, i int64, body []byte)
	// DeleteEntry removes the entry at index i; its hashes stay.
	DeleteEntry(t testing.TB, i int64)
	// InsertEntry stores e as a new entry at e.Index, which is free; no
	// hash is written.
	InsertEntry(t testing.TB, e audit.StoredEntry)
	// SetColumns overwrites the query columns of the entry at index i
	// (which exists), those Store.Query selects on — its time, subject and
	// actor — and leaves its body and hashes: an insider moving an entry
	// to another subject, actor or time. A nil subject or actor stores
	// none (SQL NULL); tm is to the microsecond, in UTC.
	SetColumns(t testing.TB, i int64, tm time.Time, subject, actor []byte)
	// SwapBodies exchanges the bodies (and query columns) of the entries
	// at i and j.
	SwapBodies(t testing.TB, i, j int64)
	// SetHash overwrites the stored hash at storage index idx.
	SetHash(t testing.TB, idx int64, h tlog.Hash)
	// Truncate cuts the log to size entries: it deletes the entries from
	// index size on, the stored hashes from tlog.StoredHashIndex(0, size)
	// on and the checkpoints of more than size entries, and sets the head
	// to size and root.
	Truncate(t testing.TB, size int64, root tlog.Hash)
	// RawBytes returns every byte the Store keeps, row by row and column by
	// column (one slice per stored value, in any order), so that a test can
	// search them for a value that must never be stored in clear.
	RawBytes(t testing.TB) [][]byte
}
