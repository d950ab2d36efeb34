package crypto_test

import (
	"testing"

	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/keystest"
	"github.com/gdprkit/gdpr/crypto/memkeys"
)

// The Keyring passes the root contracts' conformance suites, as a
// gdpr.Eraser and a gdpr.Exporter, over memkeys. (integration/crypto runs
// them over sqlkeys on every database.)
func TestKeyringConformance(t *testing.T) {
	keystest.RunKeyringContracts(t, func(*testing.T) (crypto.Store, crypto.Store) {
		s := memkeys.New()
		return s, s
	})
}
