package erasure_test

import (
	"encoding/json"
	"testing"

	"github.com/gdprkit/gdpr/erasure"
)

// TestReviewSubmissionJSON: a Submission decoded from JSON keeps its
// corrections' values (it lost them with json:"-").
func TestReviewSubmissionJSON(t *testing.T) {
	var s erasure.Submission
	if err := json.Unmarshal([]byte(`{"Kind":"rectification","Corrections":[{"target":"crm","field":"email","value":"a@b"}]}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.Corrections[0].Value == "" {
		t.Errorf("R15: a Submission decoded from JSON loses Corrections[].Value (json:\"-\")")
	}
}
