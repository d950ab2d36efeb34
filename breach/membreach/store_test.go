package membreach_test

import (
	"testing"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/breachtest"
	"github.com/gdprkit/gdpr/breach/membreach"
)

func TestConformance(t *testing.T) {
	breachtest.RunStoreTests(t, func(t *testing.T) (breach.Store, breach.Store) {
		s := membreach.New()
		return s, s
	})
}
