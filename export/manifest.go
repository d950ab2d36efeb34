package export

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

// FormatVersion is the format of the bundles this package writes, the
// manifest's "format".
const FormatVersion = "gdpr-export/1"

// The paths of a bundle's archive.
const (
	ManifestPath    = "manifest.json"
	InformationPath = "information.json"
	HTMLPath        = "index.html"
	DataDir         = "data/"
)

// datasetPattern is the shape of a Record's Dataset and of a Source's
// Name: a lower-case key that is safe as a file name.
const datasetPattern = `^[a-z0-9_][a-z0-9_.-]{0,63}$`

var datasetRE = regexp.MustCompile(datasetPattern)

// Manifest is the table of contents of a bundle, written last as
// manifest.json and signed: which files the bundle holds, in which part,
// how many records each holds, and each file's size and SHA-256, so that
// the receiving side can check that nothing is missing, added or changed.
type Manifest struct {
	// Format is FormatVersion.
	Format string `json:"format"`
	// Kind is gdpr.KindAccess or gdpr.KindPortability.
	Kind gdpr.RequestKind `json:"kind"`
	// Request is the ID of the request the bundle answers, if any: what
	// binds a bundle to its subject, since the manifest names no
	// subject. A receiver told which request a transfer answers checks
	// it with WithRequest; a Handler always sets it.
	Request string `json:"request,omitempty"`
	// Generated is when the bundle was written, in UTC.
	Generated time.Time `json:"generated"`
	// Controller is the name of the controller that wrote it.
	Controller string `json:"controller,omitempty"`
	// Sources are the names of the sources asked, in order.
	Sources []string `json:"sources"`
	// Parts is the number of archives the bundle spans; the manifest is
	// in the last. Earlier lists the parts before it, each with its size
	// and SHA-256.
	Parts   int         `json:"parts"`
	Earlier []PartEntry `json:"earlier,omitempty"`
	// Files lists every file of every part but the manifest, in the
	// order written.
	Files []FileEntry `json:"files"`
	// Omitted counts the records a portability bundle left out because
	// they were not provided by the subject, or not processed on consent
	// or a contract (Art. 20(1)); zero for an access bundle.
	Omitted int64 `json:"omitted,omitempty"`
	// Signature signs the manifest; see Signature.
	Signature *Signature `json:"signature,omitempty"`
}

// PartEntry is a part of a bundle before the last.
type PartEntry struct {
	Part   int    `json:"part"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FileEntry is one file of a bundle.
type FileEntry struct {
	// Path is the file's path in its part's archive, e.g.
	// "data/consent_events.json". A dataset split across parts has a
	// file of the same path in each.
	Path string `json:"path"`
	// Part is the number of the part holding it, from 1.
	Part int `json:"part"`
	// Dataset is the dataset of a data file; empty for the others.
	Dataset string `json:"dataset,omitempty"`
	// Records counts the records (data files) or table rows (index.html)
	// the file holds.
	Records int64 `json:"records"`
	// Size is the file's uncompressed size in bytes, and SHA256 the
	// lower-case hex SHA-256 of its uncompressed bytes.
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Signature is the Ed25519 signature (RFC 8032) of a manifest. The
// signed message is the ASCII text "gdpr-export/1 manifest\n" followed by
// the manifest without its "signature" member, in the canonical JSON of
// RFC 8785 (JCS), so that any implementation can check it without this
// package.
type Signature struct {
	// Algorithm is "Ed25519".
	Algorithm string `json:"alg"`
	// KeyID is the lower-case hex of the first 8 bytes of the SHA-256 of
	// the public key, to pick the key among several.
	KeyID string `json:"kid"`
	// PublicKey is the standard base64 of the 32-byte public key. It is
	// informative: a reader verifies with the keys it trusts, never with
	// this one.
	PublicKey string `json:"public_key"`
	// Value is the standard base64 of the 64-byte signature.
	Value string `json:"value"`
}

const signaturePrefix = "gdpr-export/1 manifest\n"

// KeyID returns the key ID of pub, as a Signature names it.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// signingInput returns the message a Signature signs for m.
func signingInput(m *Manifest) ([]byte, error) {
	c := *m
	c.Signature = nil
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil, err
	}
	canon, err := Canonical(raw)
	if err != nil {
		return nil, err
	}
	return append([]byte(signaturePrefix), canon...), nil
}

// sign sets m.Signature and returns the bytes of manifest.json: the
// canonical JSON of m, indented for the human reader.
func sign(m *Manifest, s crypto.Signer, pub ed25519.PublicKey) ([]byte, error) {
	msg, err := signingInput(m)
	if err != nil {
		return nil, err
	}
	sig, err := s.Sign(nil, msg, crypto.Hash(0))
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return nil, errors.New("the signer's signature does not verify under its public key")
	}
	m.Signature = &Signature{
		Algorithm: "Ed25519", KeyID: KeyID(pub),
		PublicKey: base64.StdEncoding.EncodeToString(pub),
		Value:     base64.StdEncoding.EncodeToString(sig),
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	canon, err := Canonical(raw)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, canon, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// VerifyManifest parses manifest.json and checks its signature under one
// of the trusted keys. It checks the manifest's own shape (format, parts,
// paths, hashes) too, but not the files it lists: Open does that. The
// error wraps ErrBundle, and ErrSignature when no trusted key verifies.
func VerifyManifest(data []byte, trusted ...ed25519.PublicKey) (*Manifest, error) {
	m, err := parseManifest(data)
	if err != nil {
		return nil, err
	}
	if err := m.verify(trusted); err != nil {
		return nil, err
	}
	return m, nil
}

// maxManifest bounds manifest.json: 64 MiB holds several hundred
// thousand file entries.
const maxManifest = 64 << 20

func parseManifest(data []byte) (*Manifest, error) {
	if len(data) > maxManifest {
		return nil, bundleErr(ManifestPath, "over %d bytes", maxManifest)
	}
	// Canonical rejects what JCS cannot represent and duplicate member
	// names, on which JSON parsers disagree.
	if _, err := Canonical(data); err != nil {
		return nil, bundleErr(ManifestPath, "not canonicalisable JSON: %v", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, bundleErr(ManifestPath, "malformed")
	}
	if dec.More() {
		return nil, bundleErr(ManifestPath, "trailing data")
	}
	// encoding/json matches member names case-insensitively: the file
	// must be exactly what m encodes to, or another reader (jq, a
	// browser) could read other values than the ones signed.
	if re, err := json.Marshal(&m); err != nil {
		return nil, bundleErr(ManifestPath, "malformed")
	} else if a, b := mustCanonical(data), mustCanonical(re); a == nil || !bytes.Equal(a, b) {
		return nil, bundleErr(ManifestPath, "members spelt or valued otherwise than the format has them")
	}
	if m.Format != FormatVersion {
		return nil, bundleErr(ManifestPath, "format %s, want %q", show(m.Format), FormatVersion)
	}
	if m.Kind != gdpr.KindAccess && m.Kind != gdpr.KindPortability {
		return nil, bundleErr(ManifestPath, "kind %s is neither access nor portability", show(string(m.Kind)))
	}
	if m.Parts < 1 || m.Parts > maxParts || len(m.Earlier) != m.Parts-1 {
		return nil, bundleErr(ManifestPath, "parts do not add up")
	}
	for i, p := range m.Earlier {
		if p.Part != i+1 || p.Size <= 0 || !isHash(p.SHA256) {
			return nil, bundleErr(ManifestPath, "earlier part %d malformed", i+1)
		}
	}
	seen := make(map[string]bool, len(m.Files))
	for i, f := range m.Files {
		if f.Part < 1 || f.Part > m.Parts || (i > 0 && f.Part < m.Files[i-1].Part) {
			return nil, bundleErr(ManifestPath, "file %d has part %d out of order", i, f.Part)
		}
		if !validPath(f.Path, f.Dataset) {
			return nil, bundleErr(ManifestPath, "file %d has a path that is not a bundle's", i)
		}
		key := strconv.Itoa(f.Part) + "/" + f.Path
		if seen[key] {
			return nil, bundleErr(ManifestPath, "file %d listed twice", i)
		}
		seen[key] = true
		if f.Records < 0 || f.Size < 0 || !isHash(f.SHA256) {
			return nil, bundleErr(ManifestPath, "file %d has a bad count, size or hash", i)
		}
	}
	if m.Signature == nil {
		return nil, bundleErr(ManifestPath, "unsigned")
	}
	return &m, nil
}

func (m *Manifest) verify(trusted []ed25519.PublicKey) error {
	s := m.Signature
	if s.Algorithm != "Ed25519" {
		return bundleErrAs(ErrSignature, "algorithm %s", show(s.Algorithm))
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s.Value)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return bundleErrAs(ErrSignature, "malformed signature")
	}
	msg, err := signingInput(m)
	if err != nil {
		return bundleErrAs(ErrSignature, "manifest not canonicalisable")
	}
	for _, k := range trusted {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			return nil
		}
	}
	return bundleErrAs(ErrSignature, "no trusted key verifies it")
}

func bundleErrAs(sentinel error, format string, args ...any) error {
	return because(sentinel, ManifestPath+": "+fmt.Sprintf(format, args...), nil)
}

func mustCanonical(data []byte) []byte {
	c, err := Canonical(data)
	if err != nil {
		return nil
	}
	return c
}

// maxParts bounds a bundle's parts.
const maxParts = 10000

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// validPath reports whether path is one a bundle holds (other than the
// manifest): information.json, index.html, or data/<dataset>.json or
// .csv for the dataset named.
func validPath(path, dataset string) bool {
	switch path {
	case InformationPath, HTMLPath:
		return dataset == ""
	}
	if dataset == "" || !datasetRE.MatchString(dataset) {
		return false
	}
	return path == DataDir+dataset+".json" || path == DataDir+dataset+".csv"
}

// Canonical returns the JSON text data in the canonical form of RFC 8785
// (JCS): members sorted by name, no insignificant white space, strings
// escaped minimally. It accepts only what a manifest holds: objects,
// arrays, strings, booleans, null and integers of at most 2^53 in
// magnitude, and rejects duplicate member names, invalid UTF-8 and
// trailing data. It is what the manifest's signature covers.
func Canonical(data []byte) ([]byte, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out bytes.Buffer
	if err := canonValue(dec, &out, 0); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return out.Bytes(), nil
}

const maxDepth = 32

func canonValue(dec *json.Decoder, out *bytes.Buffer, depth int) error {
	if depth > maxDepth {
		return errors.New("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return errors.New("malformed JSON")
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			type member struct {
				name string
				val  []byte
			}
			var members []member
			for dec.More() {
				nt, err := dec.Token()
				if err != nil {
					return errors.New("malformed JSON")
				}
				name, ok := nt.(string)
				if !ok {
					return errors.New("malformed JSON")
				}
				var v bytes.Buffer
				if err := canonValue(dec, &v, depth+1); err != nil {
					return err
				}
				members = append(members, member{name, v.Bytes()})
			}
			if _, err := dec.Token(); err != nil {
				return errors.New("malformed JSON")
			}
			// JCS sorts member names by their UTF-16 code units.
			slices.SortFunc(members, func(a, b member) int { return compareUTF16(a.name, b.name) })
			out.WriteByte('{')
			for i, m := range members {
				if i > 0 {
					if members[i-1].name == m.name {
						return errors.New("duplicate member name")
					}
					out.WriteByte(',')
				}
				if err := canonString(out, m.name); err != nil {
					return err
				}
				out.WriteByte(':')
				out.Write(m.val)
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for i := 0; dec.More(); i++ {
				if i > 0 {
					out.WriteByte(',')
				}
				if err := canonValue(dec, out, depth+1); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return errors.New("malformed JSON")
			}
			out.WriteByte(']')
		default:
			return errors.New("malformed JSON")
		}
	case string:
		return canonString(out, t)
	case json.Number:
		n, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil || n > 1<<53 || n < -(1<<53) {
			return errors.New("a number that is not a small integer")
		}
		out.WriteString(strconv.FormatInt(n, 10))
	case bool:
		out.WriteString(strconv.FormatBool(t))
	case nil:
		out.WriteString("null")
	}
	return nil
}

// compareUTF16 orders two strings by their UTF-16 code units, as JCS
// asks.
func compareUTF16(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		ua, ub := utf16Key(ra[i]), utf16Key(rb[i])
		if ua != ub {
			if ua < ub {
				return -1
			}
			return 1
		}
	}
	return len(ra) - len(rb)
}

// utf16Key maps a rune to a key that orders as its first UTF-16 code
// unit, and then its second: runes above U+FFFF sort as their surrogates
// (0xD800–0xDFFF), below U+E000–U+FFFF.
func utf16Key(r rune) uint32 {
	if r >= 0x10000 {
		r -= 0x10000
		return (0xD800+uint32(r>>10))<<16 | (0xDC00 + uint32(r&0x3FF))
	}
	return uint32(r) << 16
}

// canonString writes s as JCS does (ECMAScript's JSON.stringify): the
// two-character escapes for \b \t \n \f \r " and \, \u00xx for the other
// control characters, every other character as itself.
func canonString(out *bytes.Buffer, s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	const hexd = "0123456789abcdef"
	out.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if c < 0x20 {
				out.WriteString(`\u00`)
				out.WriteByte(hexd[c>>4])
				out.WriteByte(hexd[c&0xF])
			} else {
				out.WriteByte(c)
			}
		}
	}
	out.WriteByte('"')
	return nil
}
