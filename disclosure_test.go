package gdpr_test

import (
	"fmt"
	"github.com/gdprkit/gdpr"
	"strings"
	"testing"
)

func TestDisclosurePrintsNoReference(t *testing.T) {
	d := gdpr.Disclosure{Recipient: "payment provider", Kind: gdpr.Processor, Reference: "cust-4711"}
	for _, v := range []string{fmt.Sprint(d), fmt.Sprintf("%+v", d), fmt.Sprintf("%#v", d), fmt.Sprintf("%v", &d), fmt.Sprintf("%v", []gdpr.Disclosure{d})} {
		if strings.Contains(v, "cust-4711") || !strings.Contains(v, "payment provider") {
			t.Errorf("%s", v)
		}
	}
}
