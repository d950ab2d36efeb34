package sqlconsent_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// TestErrorsDoNotEchoNoticeIDs: a duplicate notice version's error names
// the notice only when its ID looks like a key and not like personal data;
// before issue 9 sqlconsent quoted any notice ID verbatim.
func TestErrorsDoNotEchoNoticeIDs(t *testing.T) {
	testdb.ForEachDialect(t, func(t *testing.T, d sqldialect.Dialect) {
		ctx := t.Context()
		s := newStore(t, d)
		for _, id := range []string{"ann.smith@example.org", "Ann Smith", "192.0.2.17", "4930123456789"} {
			n := consent.Notice{ID: id, Version: 1, TextHash: "00", Published: time.Now()}
			if err := s.PutNotice(ctx, n); err != nil {
				t.Fatal(err)
			}
			err := s.PutNotice(ctx, n)
			if err == nil || strings.Contains(err.Error(), id) {
				t.Errorf("duplicate notice %q: %v; want a conflict that does not quote the ID", id, err)
			}
		}
	})
}
