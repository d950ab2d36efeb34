package audittest

import (
	"golang.org/x/mod/sumdb/note"

	"github.com/gdprkit/gdpr/audit"
)

// signCheckpointForTest signs c with s, as a forger holding another key would.
func signCheckpointForTest(c audit.Checkpoint, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, s)
}
