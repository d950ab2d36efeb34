package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of a log's state, in the C2SP
// tlog-checkpoint format (https://c2sp.org/tlog-checkpoint): the origin,
// the number of entries and the root hash, one per line, signed as a note
// (https://c2sp.org/signed-note). Anyone holding the verifier key can check
// it, and a consistency proof shows that a later state of the log extends
// it: nothing before Size was altered, removed or reordered.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	// Note is the signed note, as stored and anchored; empty for a
	// checkpoint that was formatted but not signed.
	Note []byte
}

// Text returns the checkpoint body: "<origin>\n<size>\n<base64 root>\n".
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// String returns the origin, size and root, for logs: no personal data is
// in a checkpoint.
func (c Checkpoint) String() string {
	return fmt.Sprintf("%s@%d:%s", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// ParseCheckpoint parses a checkpoint body (the text of a note, without its
// signatures). Extension lines after the root are allowed and ignored, as
// the format says. The error is an *Error (Op "parse checkpoint") wrapping
// ErrInvalid; it names the line at fault, never quotes it.
func ParseCheckpoint(text string) (Checkpoint, error) {
	c, err := parseCheckpoint(text)
	return c, wrap("parse checkpoint", err)
}

func parseCheckpoint(text string) (Checkpoint, error) {
	bad := func(what string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: malformed checkpoint (%s)", ErrInvalid, what)
	}
	if !strings.HasSuffix(text, "\n") {
		return bad("no final newline")
	}
	lines := strings.Split(text[:len(text)-1], "\n")
	if len(lines) < 3 {
		return bad("fewer than three lines")
	}
	origin, size, root := lines[0], lines[1], lines[2]
	if origin == "" || !printable(origin) {
		return bad("origin")
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != size {
		return bad("size")
	}
	h, err := base64.StdEncoding.Strict().DecodeString(root)
	if err != nil || len(h) != tlog.HashSize || base64.StdEncoding.EncodeToString(h) != root {
		return bad("root hash")
	}
	for _, l := range lines[3:] {
		if l == "" {
			return bad("empty extension line")
		}
	}
	c := Checkpoint{Origin: origin, Size: n}
	copy(c.Root[:], h)
	return c, nil
}

// OpenCheckpoint verifies a signed checkpoint note with v and parses it. It
// checks that the origin is origin (if origin is not empty). The error
// wraps ErrTampered for a note that does not verify (malformed, a bad
// signature, no signature by v) or names another origin, and ErrInvalid
// for a verified note whose text is not a checkpoint or a nil v; it is an
// *Error with Op "open checkpoint".
func OpenCheckpoint(signed []byte, origin string, v note.Verifier) (Checkpoint, error) {
	if v == nil {
		return Checkpoint{}, wrap("open checkpoint", invalid("verifier", "nil verifier"))
	}
	c, err := openCheckpoint(signed, origin, v)
	return c, wrap("open checkpoint", err)
}

func openCheckpoint(signed []byte, origin string, v note.Verifier) (Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		// A malformed note, a bad signature, no signature by v: whoever
		// hands over such a checkpoint, it is not one the log signed.
		return Checkpoint{}, fmt.Errorf("%w: the checkpoint does not verify with key %s", ErrTampered, v.Name())
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, err
	}
	if origin != "" && c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("%w: the checkpoint is for another log", ErrTampered)
	}
	c.Note = bytes.Clone(signed)
	return c, nil
}

// signCheckpoint signs c with s.
func signCheckpoint(c Checkpoint, s note.Signer) (Checkpoint, error) {
	msg, err := note.Sign(&note.Note{Text: c.Text()}, s)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: %w", err)
	}
	c.Note = msg
	return c, nil
}

// GenerateKey returns a new Ed25519 key pair for signing the checkpoints of
// the log named name (by convention the log's origin, e.g.
// "example.com/audit"), in the formats of note.NewSigner and
// note.NewVerifier: skey is "PRIVATE+KEY+<name>+<hash>+<key>", a secret;
// vkey is "<name>+<hash>+<key>", for anyone who checks the log.
//
// A name that note's keys cannot carry (empty, not UTF-8, or holding
// white space or "+"), which NewSigner would refuse later, is refused now
// with an *Error (Op "generate key", Field "name") wrapping ErrInvalid.
func GenerateKey(name string) (skey, vkey string, err error) {
	if name == "" || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsSpace) >= 0 || strings.Contains(name, "+") {
		return "", "", wrap("generate key", invalid("name", "a key name is non-empty UTF-8 without white space or '+'"))
	}
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", wrap("generate key", err)
	}
	return skey, vkey, nil
}

// NewSigner returns the Ed25519 signer for skey (from GenerateKey) and the
// verifier of its signatures. The signer keeps its private key in a
// closure, out of reach of fmt: no verb prints it. The error is an *Error (Op "new signer", Field
// "skey") wrapping ErrInvalid; it never quotes skey.
func NewSigner(skey string) (note.Signer, note.Verifier, error) {
	s, v, err := newSigner(skey)
	if err != nil {
		return nil, nil, &Error{Op: "new signer", Field: "skey", Err: err}
	}
	return s, v, nil
}

func newSigner(skey string) (note.Signer, note.Verifier, error) {
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bad signer key", ErrInvalid)
	}
	// skey is PRIVATE+KEY+name+hash+base64(alg || seed); the verifier key
	// is name+hash+base64(alg || public key).
	parts := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, nil, fmt.Errorf("%w: not an Ed25519 signer key", ErrInvalid)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(s.Name(), pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bad signer key", ErrInvalid)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: bad signer key", ErrInvalid)
	}
	return s, v, nil
}
