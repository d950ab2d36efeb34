package crypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"strings"
	"sync"
	"unicode"
)

// BlindIndex computes lookup values for an encrypted field, so that a host
// can find a row by an encrypted value (a user by e-mail address) without
// decrypting every row: store Sum(value) in an indexed column beside the
// ciphertext, and query by Sum(input).
//
// A blind index is HMAC-SHA256, under a key of its own per field (derived
// from the Keyring's blind-index master key, which the KEK wraps), of the
// normalised value, truncated to Size bytes.
//
// What it leaks: equal values have equal indexes, so anyone who reads the
// table sees which rows share a value, and how often each value occurs — the
// shape of the data, not the values. Truncation trades that away against
// false positives: with Size bytes, distinct values collide with probability
// about n²/2^(8·Size+1) among n values, and a lookup may return a few rows
// whose decrypted value the host must then compare. Anyone holding the key
// (the KEK and the key Store) can test guesses, so low-entropy fields (a
// birth year, a yes/no answer) should not get a blind index. The index is
// not tied to the subject's key: shredding a subject does not change it, so
// erasure must delete (or null) the index values along with the rest of the
// row.
//
// A BlindIndex is safe for concurrent use. It prints as
// crypto.BlindIndex{size: <n>} under every fmt verb; its key never prints.
type BlindIndex struct {
	size int
	norm func(string) string
	pool sync.Pool // of hash.Hash keyed with the field's key
}

// IndexOption configures a BlindIndex in Keyring.BlindIndex. The set of
// options is closed: only the WithIndexX functions of this package make
// one. A bad argument is refused with an *Error of Op "blind_index" whose
// Field is the option's name, wrapping ErrInvalid.
type IndexOption interface{ applyIndex(*BlindIndex) error }

type indexOption struct {
	name string
	fn   func(*BlindIndex) error
}

func (o indexOption) applyIndex(b *BlindIndex) error {
	if err := o.fn(b); err != nil {
		return at(o.name, err)
	}
	return nil
}

// WithIndexSize sets the length of the index values in bytes, from 4 to
// 32; anything else is an error. Default: 16.
func WithIndexSize(n int) IndexOption {
	return indexOption{"WithIndexSize", func(b *BlindIndex) error {
		if n < 4 || n > sha256.Size {
			return because(ErrInvalid, "index size must be 4 to 32 bytes", nil)
		}
		b.size = n
		return nil
	}}
}

// WithIndexNormalizer sets how values are normalised before hashing, so
// that equivalent inputs ("Ann@Example.org ", "ann@example.org") find each
// other. Default: NormalizeDefault; NormalizeNone keeps values as they are;
// nil is an error.
func WithIndexNormalizer(f func(string) string) IndexOption {
	return indexOption{"WithIndexNormalizer", func(b *BlindIndex) error {
		if f == nil {
			return because(ErrInvalid, "nil normalizer", nil)
		}
		b.norm = f
		return nil
	}}
}

// NormalizeDefault trims surrounding white space and maps every letter to
// lower case (unicode.ToLower), suiting e-mail addresses and user names. It
// is not full case folding (Greek final sigma stays distinct) and does not
// normalise Unicode composition; supply your own normaliser (for instance
// with golang.org/x/text) where that matters.
//
// It makes distinct strings equal: "İ" (U+0130) lowers to "i" and the
// Kelvin sign to "k", so "ann@gmaİl.com" has the index of "ann@gmail.com",
// though the two are different mailboxes. Where the index finds an
// account to sign in to or to send to, never act on the value as typed:
// send to the value stored with the row the index found, and compare it
// with the typed one after the host's own normalisation (or refuse what
// is not ASCII, as examples/dsar-server does), or supply a normaliser that
// changes nothing but ASCII letters.
func NormalizeDefault(s string) string {
	return strings.Map(unicode.ToLower, strings.TrimSpace(s))
}

// NormalizeNone keeps the value as it is.
func NormalizeNone(s string) string { return s }

// BlindIndex returns the blind index of field f (its Row and Category are
// ignored). The same Table and Column give the same index in every Keyring
// over the same Store. Errors: ErrInvalid for a bad field (Field "field")
// or option (Field "WithIndexSize", "WithIndexNormalizer", "opts").
func (k *Keyring) BlindIndex(f Field, opts ...IndexOption) (*BlindIndex, error) {
	const op = "blind_index"
	f.Row, f.Category = "", ""
	if err := f.validate(); err != nil {
		return nil, wrap(op, err)
	}
	b := &BlindIndex{size: 16, norm: NormalizeDefault}
	for _, o := range opts {
		if o == nil {
			return nil, wrap(op, invalidf("opts", "nil option"))
		}
		if err := o.applyIndex(b); err != nil {
			return nil, wrap(op, err)
		}
	}
	info := binary.AppendUvarint([]byte("gdpr/crypto/blind-index/v1\x00"), uint64(len(f.Table)))
	info = append(info, f.Table...)
	info = binary.AppendUvarint(info, uint64(len(f.Column)))
	info = append(info, f.Column...)
	key, err := hkdf.Key(sha256.New, k.meta.index, nil, string(info), 32)
	if err != nil {
		return nil, wrap(op, err)
	}
	b.pool.New = func() any { return hmac.New(sha256.New, key) }
	return b, nil
}

// Sum returns the index value of v, Size bytes long.
func (b *BlindIndex) Sum(v string) []byte {
	return b.AppendSum(make([]byte, 0, sha256.Size), v)[:b.size]
}

// AppendSum appends the index value of v to dst and returns it; with a dst
// of capacity 32 it does not allocate.
func (b *BlindIndex) AppendSum(dst []byte, v string) []byte {
	h := b.pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(b.norm(v)))
	n := len(dst)
	dst = h.Sum(dst)
	b.pool.Put(h)
	return dst[:n+b.size]
}

// Size returns the length of the index values in bytes.
func (b *BlindIndex) Size() int { return b.size }
