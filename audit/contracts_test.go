package audit_test

import (
	"testing"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/audittest"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

// The Log passes the root contracts' conformance suites over memaudit, as
// a gdpr.Eraser (its erasure deletes the subject's salt, so their entries
// can no longer be found or linked) and a gdpr.Exporter (the subject's
// entries). (integration/audit runs them over sqlaudit on every database.)
func TestLogConformance(t *testing.T) {
	audittest.RunLogContracts(t, func(*testing.T) (audit.Store, audit.Store) {
		s := memaudit.New()
		return s, s
	})
}
