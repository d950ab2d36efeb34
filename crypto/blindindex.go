package crypto

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
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
// A BlindIndex is safe for concurrent use.
type BlindIndex struct {
	size int
	norm func(string) string
	pool sync.Pool // of hash.Hash keyed with the field's key
}

// IndexOption configures a BlindIndex.
type IndexOption func(*BlindIndex)

// IndexSize sets the length of the index value in bytes, between 4 and 32.
// Default: 16.
func IndexSize(n int) IndexOption { return func(b *BlindIndex) { b.size = n } }

// IndexNormalizer sets how values are normalised before hashing, so that
// equivalent inputs ("Ann@Example.org ", "ann@example.org") find each other.
// Default: NormalizeDefault.
func IndexNormalizer(f func(string) string) IndexOption { return func(b *BlindIndex) { b.norm = f } }

// NormalizeDefault trims surrounding white space and maps every letter to
// lower case (unicode.ToLower), suiting e-mail addresses and user names. It
// is not full case folding (Greek final sigma stays distinct) and does not
// normalise Unicode composition; supply your own normaliser (for instance
// with golang.org/x/text) where that matters.
func NormalizeDefault(s string) string {
	return strings.Map(unicode.ToLower, strings.TrimSpace(s))
}

// NormalizeNone keeps the value as it is.
func NormalizeNone(s string) string { return s }

// BlindIndex returns the blind index of field f (its Row is ignored). The
// same Table and Column give the same index in every Keyring over the same
// Store.
func (k *Keyring) BlindIndex(f Field, opts ...IndexOption) (*BlindIndex, error) {
	f.Row = ""
	if err := f.validate(); err != nil {
		return nil, &Error{Op: "blind_index", Err: err}
	}
	b := &BlindIndex{size: 16, norm: NormalizeDefault}
	for _, o := range opts {
		o(b)
	}
	if b.size < 4 || b.size > sha256.Size || b.norm == nil {
		return nil, &Error{Op: "blind_index", Err: fmt.Errorf("%w: index size must be 4 to 32 bytes", ErrInvalid)}
	}
	info := binary.AppendUvarint([]byte("gdpr/crypto/blind-index/v1\x00"), uint64(len(f.Table)))
	info = append(info, f.Table...)
	info = binary.AppendUvarint(info, uint64(len(f.Column)))
	info = append(info, f.Column...)
	key, err := hkdf.Key(sha256.New, k.indexKey, nil, string(info), 32)
	if err != nil {
		return nil, &Error{Op: "blind_index", Err: err}
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
