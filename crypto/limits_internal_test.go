package crypto

import (
	"testing"

	"github.com/gdprkit/gdpr/audit"
)

// The limits of a Field are the audit log's for a decrypt event's Resource
// and Categories, and a Scope's for an attribute value: if audit changes
// them, so must this package.
func TestFieldLimitsAreAudits(t *testing.T) {
	if maxResourceLen != audit.MaxResourceLen {
		t.Errorf("maxResourceLen = %d, audit.MaxResourceLen = %d", maxResourceLen, audit.MaxResourceLen)
	}
	if maxCategoryLen != audit.MaxKeyLen {
		t.Errorf("maxCategoryLen = %d, audit.MaxKeyLen = %d", maxCategoryLen, audit.MaxKeyLen)
	}
	if maxScopeLen > audit.MaxAttrValueLen {
		t.Errorf("a scope of %d bytes exceeds audit.MaxAttrValueLen = %d", maxScopeLen, audit.MaxAttrValueLen)
	}
}
