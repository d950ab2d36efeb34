package gdprhttp

import (
	"net/http"

	"github.com/gdprkit/gdpr/consent"
)

// GPC reports whether r carries a Global Privacy Control signal, as the
// GPC specification (W3C Privacy Community Group, "Global Privacy
// Control") defines it: a Sec-GPC header field whose value is "1", with
// optional whitespace (spaces and tabs) around it. Anything else is no
// signal: a missing field, an empty one, "0", "true", " 1 1", and a
// field given twice (whose lines would combine to "1, 1", which is not
// the specification's grammar). A nil r carries none.
//
// The signal is the user's objection to the sale or sharing of their
// personal data, sent by their browser with every request. Under the
// GDPR it is a means of objecting by automated means (Art. 21(5)); a
// host records it with consent.MethodGPC (an objection or a withdrawal
// for the purposes it concerns) and honours it before processing. It is
// consent.HasGPC of r's header.
func GPC(r *http.Request) bool { return r != nil && consent.HasGPC(r.Header) }
