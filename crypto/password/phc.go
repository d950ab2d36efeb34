package password

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// The PHC string format (github.com/P-H-C/phc-string-format) for argon2id:
//
//	$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
//
// salt and hash in standard base64 without padding. Parsing is strict and
// canonical: exactly these fields in this order, decimals without sign or
// leading zeros, base64 that re-encodes to the same text. So a hash has one
// encoding, and an altered string is either rejected or a different hash.

const (
	argon2idPrefix = "$argon2id$"
	argon2Version  = 19 // 0x13, the version of RFC 9106

	// maxEncodedLen bounds the input before any parsing: the longest valid
	// argon2id string (64-byte salt and tag, widest parameters) is about
	// 220 bytes; bcrypt strings are 60.
	maxEncodedLen = 256

	// Bounds for verification of stored argon2id hashes, wider below than
	// NewHasher's (hashes made elsewhere, or before a parameter raise, must
	// still verify so they can be re-hashed), the same above (a stored
	// string must not make Verify allocate or run without limit).
	minVerifySaltLen = 8 // bytes; the PHC argon2 minimum
	minVerifyKeyLen  = MinKeyLen
)

// phc is a parsed argon2id PHC string.
type phc struct {
	params Params // SaltLen and KeyLen are len(salt) and len(key)
	salt   []byte
	key    []byte
}

// encode returns the canonical PHC string.
func (h *phc) encode() string {
	b := make([]byte, 0, 64+base64.RawStdEncoding.EncodedLen(len(h.salt))+base64.RawStdEncoding.EncodedLen(len(h.key)))
	b = append(b, argon2idPrefix+"v=19$m="...)
	b = strconv.AppendUint(b, uint64(h.params.Memory), 10)
	b = append(b, ",t="...)
	b = strconv.AppendUint(b, uint64(h.params.Time), 10)
	b = append(b, ",p="...)
	b = strconv.AppendUint(b, uint64(h.params.Threads), 10)
	b = append(b, '$')
	b = base64.RawStdEncoding.AppendEncode(b, h.salt)
	b = append(b, '$')
	b = base64.RawStdEncoding.AppendEncode(b, h.key)
	return string(b)
}

// parsePHC parses an argon2id PHC string within the verification bounds.
// Its errors wrap ErrMalformed and carry fixed reasons only.
func parsePHC(s string) (*phc, error) {
	if len(s) > maxEncodedLen {
		return nil, malformed("too long")
	}
	rest, ok := strings.CutPrefix(s, argon2idPrefix)
	if !ok {
		return nil, malformed("not argon2id")
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 4 {
		return nil, malformed("want 5 fields")
	}
	v, ok := strings.CutPrefix(fields[0], "v=")
	if !ok {
		return nil, malformed("no version")
	}
	if n, ok := parseDecimal(v, 1<<32-1); !ok || n != argon2Version {
		return nil, malformed("version is not 19")
	}
	var h phc
	var m, t, p uint64
	params := strings.Split(fields[1], ",")
	if len(params) != 3 {
		return nil, malformed("want parameters m, t, p")
	}
	for i, f := range []struct {
		name string
		max  uint64
		dst  *uint64
	}{{"m=", MaxMemory, &m}, {"t=", MaxTime, &t}, {"p=", 255, &p}} {
		val, ok := strings.CutPrefix(params[i], f.name)
		if !ok {
			return nil, malformed("want parameters m, t, p in order")
		}
		n, ok := parseDecimal(val, f.max)
		if !ok {
			return nil, malformed("parameter " + f.name[:1] + " not a number within bounds")
		}
		*f.dst = n
	}
	if t < 1 || p < 1 || m < 8*p {
		return nil, malformed("parameters below argon2 minimums")
	}
	h.salt, ok = decodeB64(fields[2], minVerifySaltLen, MaxSaltLen)
	if !ok {
		return nil, malformed("salt not canonical base64 of 8..64 bytes")
	}
	h.key, ok = decodeB64(fields[3], minVerifyKeyLen, MaxKeyLen)
	if !ok {
		return nil, malformed("hash not canonical base64 of 16..64 bytes")
	}
	h.params = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p),
		SaltLen: uint32(len(h.salt)), KeyLen: uint32(len(h.key))}
	return &h, nil
}

// parseDecimal parses a canonical unsigned decimal (no sign, no leading
// zero unless "0") not above max.
func parseDecimal(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, n <= max
}

// decodeB64 decodes unpadded standard base64 and insists that it re-encodes
// to the same text (encoding/base64 skips newlines and, unless strict,
// ignores trailing bits).
func decodeB64(s string, minLen, maxLen int) ([]byte, bool) {
	enc := base64.RawStdEncoding
	if len(s) < enc.EncodedLen(minLen) || len(s) > enc.EncodedLen(maxLen) {
		return nil, false
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil || len(b) < minLen || len(b) > maxLen || enc.EncodeToString(b) != s {
		return nil, false
	}
	return b, true
}

// bcrypt strings: $2a$, $2b$ or $2y$, a two-digit cost, 22 characters of
// salt and 31 of hash in bcrypt's base64 alphabet: 60 bytes in all.
const (
	bcryptLen      = 60
	bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// maxBcryptCost bounds the work a stored bcrypt string can ask of
	// Verify: cost 16 is 2^16 rounds, a few seconds; bcrypt allows 31.
	maxBcryptCost = 16
	minBcryptCost = 4
)

func isBcrypt(s string) bool { return strings.HasPrefix(s, "$2") }

// checkBcrypt validates the form of a bcrypt string more strictly than
// golang.org/x/crypto/bcrypt does (which accepts any minor version letter,
// trailing bytes, costs up to 31 and non-canonical salts), and returns its
// cost.
func checkBcrypt(s string) (int, error) {
	if len(s) != bcryptLen {
		return 0, malformed("bcrypt hash not 60 bytes")
	}
	if s[0] != '$' || s[1] != '2' || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$' || s[6] != '$' {
		return 0, malformed("bcrypt prefix not $2a$, $2b$ or $2y$")
	}
	d1, d2 := s[4], s[5]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return 0, malformed("bcrypt cost not two digits")
	}
	cost := int(d1-'0')*10 + int(d2-'0')
	if cost < minBcryptCost || cost > maxBcryptCost {
		return 0, malformed("bcrypt cost outside 4..16")
	}
	for i := 7; i < bcryptLen; i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return 0, malformed("bcrypt salt or hash not bcrypt base64")
		}
	}
	// The salt is 16 bytes in 22 characters: the last one's low 4 bits are
	// padding and must be zero (one of ".Oeu") for the encoding to be
	// canonical.
	if strings.IndexByte(bcryptAlphabet, s[7+21])&0x0f != 0 {
		return 0, malformed("bcrypt salt not canonical")
	}
	// Likewise the hash, 23 bytes in 31 characters: 2 bits of padding.
	if strings.IndexByte(bcryptAlphabet, s[bcryptLen-1])&0x03 != 0 {
		return 0, malformed("bcrypt hash not canonical")
	}
	return cost, nil
}
