package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gdprkit/gdpr"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// testParams are far below NewHasher's bounds, to keep the tests fast under
// -race; the Hasher is built directly, which only this package can do.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func testHasher() *Hasher { return &Hasher{p: testParams} }

const pw = "correct horse battery staple"

// refSmall was produced by the reference implementation of argon2 (libargon2,
// the RFC 9106 authors' code, via argon2id_hash_encoded) for pw with the
// salt "gdprkit-kat-salt", t=2, m=256, p=2, a 32-byte tag: a known answer
// from outside golang.org/x/crypto.
const refSmall = "$argon2id$v=19$m=256,t=2,p=2$Z2RwcmtpdC1rYXQtc2FsdA$eqb5LtSx3TpiXi0mwZIQBu4IMn2qRUJUdvD00ura3KY"

// bcryptPw is a bcrypt hash of pw at cost 4, made by
// golang.org/x/crypto/bcrypt.GenerateFromPassword.
const bcryptPw = "$2a$04$Ks1ioMJNMo8uEscqHT5A/Ol7qRMBe6pIU6G8J.iQn/0kdcmQuMKuW"

// refDefault is the same with DefaultParams (t=3, m=65536, p=4).
const refDefault = "$argon2id$v=19$m=65536,t=3,p=4$Z2RwcmtpdC1rYXQtc2FsdA$9qHf17mzR+gvuIWYsMGougRLiET6WpKzX+CPLNTRyeY"

func mustHash(t testing.TB, h *Hasher, password string) string {
	t.Helper()
	enc, err := h.Hash(password)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

func TestRoundTrip(t *testing.T) {
	h := testHasher()
	enc := mustHash(t, h, pw)
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("Hash = %q, want the PHC prefix for argon2id v=19 m=64,t=1,p=1", enc)
	}
	ph, err := parsePHC(enc)
	if err != nil {
		t.Fatalf("parsePHC(Hash()): %v", err)
	}
	if ph.params != testParams || ph.encode() != enc {
		t.Errorf("parsed params %+v, re-encoded %q; want %+v and the same string", ph.params, ph.encode(), testParams)
	}
	if ok, err := h.Verify(pw, enc); !ok || err != nil {
		t.Errorf("Verify(right password) = %v, %v; want true, nil", ok, err)
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash of a fresh hash under the same params = true")
	}
	if again := mustHash(t, h, pw); again == enc {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	// Unicode and the full MaxLength round-trip too.
	for _, p := range []string{"pässwörd ✓", "x", strings.Repeat("a", MaxLength)} {
		if ok, err := h.Verify(p, mustHash(t, h, p)); !ok || err != nil {
			t.Errorf("round trip of a %d-byte password: %v, %v", len(p), ok, err)
		}
	}
}

func TestWrongPassword(t *testing.T) {
	h := testHasher()
	enc := mustHash(t, h, pw)
	for _, wrong := range []string{"Correct horse battery staple", pw + " ", pw[:len(pw)-1], "x", pw + pw,
		strings.Repeat("a", MaxLength)} {
		if ok, err := h.Verify(wrong, enc); ok || err != nil {
			t.Errorf("Verify(wrong password) = %v, %v; want false, nil", ok, err)
		}
	}
}

func TestKnownAnswer(t *testing.T) {
	// From the reference implementation.
	ok, err := Verify(pw, refSmall)
	if !ok || err != nil {
		t.Errorf("Verify(pw, libargon2 vector) = %v, %v; want true, nil", ok, err)
	}
	if ok, err := Verify("wrong", refSmall); ok || err != nil {
		t.Errorf("Verify(wrong, libargon2 vector) = %v, %v; want false, nil", ok, err)
	}
	for _, ref := range []string{refSmall, refDefault} {
		ph, err := parsePHC(ref)
		if err != nil || ph.encode() != ref {
			t.Errorf("parse/encode of a libargon2 string: %v; the encoding must round-trip", err)
		}
	}
	if !NeedsRehash(refSmall) || NeedsRehash(refDefault) {
		t.Error("NeedsRehash: want true for m=256,t=2,p=2 and false for the default parameters")
	}

	// Computed here with argon2.IDKey and a fixed salt, encoded by hand.
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 2, 128, 1, 32)
	enc := fmt.Sprintf("$argon2id$v=19$m=128,t=2,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	ph, err := parsePHC(enc)
	if err != nil {
		t.Fatalf("parsePHC: %v", err)
	}
	if want := (Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}); ph.params != want ||
		string(ph.salt) != string(salt) || string(ph.key) != string(key) {
		t.Errorf("parsed %+v, want %+v and the same salt and key", ph.params, want)
	}
	if ok, err := Verify(pw, enc); !ok || err != nil {
		t.Errorf("Verify(pw, IDKey vector) = %v, %v; want true, nil", ok, err)
	}
}

// TestDefault runs the one default-parameter hash of the tests.
func TestDefault(t *testing.T) {
	if got, want := defaultHasher.Params(), (Params{Memory: 65536, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}); got != want {
		t.Errorf("default params %+v, want RFC 9106's second option %+v", got, want)
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("DefaultParams().Validate() = %v", err)
	}
	enc, err := Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=65536,t=3,p=4$") {
		t.Errorf("Hash = %q, want the default PHC prefix", enc)
	}
	ph, err := parsePHC(enc)
	if err != nil || ph.params != DefaultParams() {
		t.Errorf("parsePHC(Hash()) = %v, %v; want the default params", ph, err)
	}
	if NeedsRehash(enc) {
		t.Error("NeedsRehash(Hash()) = true")
	}
}

func TestBcrypt(t *testing.T) {
	h := testHasher()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	enc := string(b)
	if _, err := checkBcrypt(enc); err != nil {
		t.Fatalf("checkBcrypt(GenerateFromPassword) = %v", err)
	}
	// The same hash under each accepted prefix.
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		e := prefix + enc[4:]
		if ok, err := h.Verify(pw, e); !ok || err != nil {
			t.Errorf("Verify(pw, %s… bcrypt) = %v, %v; want true, nil", prefix, ok, err)
		}
		if ok, err := h.Verify("wrong", e); ok || err != nil {
			t.Errorf("Verify(wrong, %s… bcrypt) = %v, %v; want false, nil", prefix, ok, err)
		}
		if !h.NeedsRehash(e) || !NeedsRehash(e) {
			t.Errorf("NeedsRehash(%s… bcrypt) = false, want true", prefix)
		}
	}
	if ok, err := h.Verify(pw, bcryptPw); !ok || err != nil {
		t.Errorf("Verify(pw, bcryptPw) = %v, %v; want true, nil", ok, err)
	}
	// A published vector (OpenBSD / John the Ripper test suite).
	if ok, err := h.Verify("U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"); !ok || err != nil {
		t.Errorf("Verify(bcrypt known answer) = %v, %v; want true, nil", ok, err)
	}
	// bcrypt's 72-byte limit, as documented: bytes after the 72nd do not count.
	long := strings.Repeat("p", 72)
	b, err = bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(long+"anything", string(b)); !ok || err != nil {
		t.Errorf("Verify(72 bytes + more, bcrypt of 72 bytes) = %v, %v; want true (bcrypt truncates), nil", ok, err)
	}
	// The migration: verify, re-hash, and the new hash no longer needs it.
	fresh := mustHash(t, h, pw)
	if ok, err := h.Verify(pw, fresh); !ok || err != nil || h.NeedsRehash(fresh) {
		t.Errorf("after re-hash: Verify = %v, %v; NeedsRehash = %v", ok, err, h.NeedsRehash(fresh))
	}
}

func TestNeedsRehash(t *testing.T) {
	h := testHasher()
	enc := mustHash(t, h, pw)
	for _, p := range []Params{
		{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
		{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, // lower counts too
	} {
		if !(&Hasher{p: p}).NeedsRehash(enc) {
			t.Errorf("NeedsRehash under %+v of a hash made with %+v = false, want true", p, testParams)
		}
	}
	for _, s := range []string{"", "garbage", "$argon2id$v=19$m=64,t=1,p=1$", "$2a$"} {
		if !h.NeedsRehash(s) {
			t.Errorf("NeedsRehash(malformed %q) = false, want true", s)
		}
	}
}

// replaceAt returns s with its i-th byte replaced by c.
func replaceAt(s string, i int, c byte) string { return s[:i] + string(c) + s[i+1:] }

func TestTampered(t *testing.T) {
	h := testHasher()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{mustHash(t, h, pw), refSmall, string(b)} {
		for i := 0; i < len(enc); i++ {
			repl := []byte{enc[i] ^ 1, enc[i] ^ 0x20, '0', 'A', '$', '9'}
			if isBcrypt(enc) {
				repl = repl[:1] // each bcrypt verify is slow under -race
			}
			for _, c := range repl {
				if c == enc[i] {
					continue
				}
				// Skip changes that ask for heavy work (a bigger digit in m
				// or t, or a higher bcrypt cost): they parse but cost more.
				tam := replaceAt(enc, i, c)
				if ph, err := parsePHC(tam); err == nil && uint64(ph.params.Memory)*uint64(ph.params.Time) > 1<<14 {
					continue
				}
				if cost, err := checkBcrypt(tam); err == nil && cost > 6 {
					continue
				}
				ok, err := h.Verify(pw, tam)
				if ok {
					t.Errorf("Verify(pw, hash with byte %d changed to %q) = true", i, c)
				}
				if err != nil && !errors.Is(err, ErrMalformed) {
					t.Errorf("Verify of a tampered hash: error %v does not wrap ErrMalformed", err)
				}
			}
		}
	}
	// Tampered parameters that still parse: the tag no longer matches.
	for _, tam := range []string{
		strings.Replace(refSmall, "m=256", "m=264", 1),
		strings.Replace(refSmall, "t=2", "t=3", 1),
		strings.Replace(refSmall, "p=2", "p=1", 1),
	} {
		if ok, err := h.Verify(pw, tam); ok || err != nil {
			t.Errorf("Verify(pw, vector with altered params) = %v, %v; want false, nil", ok, err)
		}
	}
}

// malformedCases are strings Verify must reject with ErrMalformed.
var malformedCases = []struct{ name, enc string }{
	{"empty", ""},
	{"plain text", "hunter2"},
	{"prefix only", "$argon2id$"},
	{"no params", "$argon2id$v=19$Z2RwcmtpdC1rYXQtc2FsdA$eqb5LtSx3TpiXi0mwZIQBu4IMn2qRUJUdvD00ura3KY"},
	{"no hash", "$argon2id$v=19$m=256,t=2,p=2$Z2RwcmtpdC1rYXQtc2FsdA"},
	{"empty hash", "$argon2id$v=19$m=256,t=2,p=2$Z2RwcmtpdC1rYXQtc2FsdA$"},
	{"extra field", refSmall + "$AAAA"},
	{"trailing newline", refSmall + "\n"},
	{"no version", "$argon2id$m=256,t=2,p=2$Z2RwcmtpdC1rYXQtc2FsdA$eqb5LtSx3TpiXi0mwZIQBu4IMn2qRUJUdvD00ura3KY"},
	{"v=18", strings.Replace(refSmall, "v=19", "v=18", 1)},
	{"v=16", strings.Replace(refSmall, "v=19", "v=16", 1)},
	{"v=019", strings.Replace(refSmall, "v=19", "v=019", 1)},
	{"argon2i", strings.Replace(refSmall, "argon2id", "argon2i", 1)},
	{"argon2d", strings.Replace(refSmall, "argon2id", "argon2d", 1)},
	{"unknown algorithm", strings.Replace(refSmall, "argon2id", "scrypt", 1)},
	{"upper case", strings.Replace(refSmall, "argon2id", "ARGON2ID", 1)},
	{"m > 1 GiB", strings.Replace(refSmall, "m=256", "m=1048577", 1)},
	{"huge m", strings.Replace(refSmall, "m=256", "m=4294967296", 1)},
	{"very huge m", strings.Replace(refSmall, "m=256", "m=99999999999999999999999", 1)},
	{"m below 8p", strings.Replace(refSmall, "m=256", "m=15", 1)},
	{"t=0", strings.Replace(refSmall, "t=2", "t=0", 1)},
	{"t > 100", strings.Replace(refSmall, "t=2", "t=101", 1)},
	{"p=0", strings.Replace(refSmall, "p=2", "p=0", 1)},
	{"p > 255", strings.Replace(refSmall, "p=2", "p=256", 1)},
	{"leading zero", strings.Replace(refSmall, "m=256", "m=0256", 1)},
	{"sign", strings.Replace(refSmall, "m=256", "m=+256", 1)},
	{"negative", strings.Replace(refSmall, "t=2", "t=-2", 1)},
	{"space", strings.Replace(refSmall, "m=256", "m= 256", 1)},
	{"params out of order", strings.Replace(refSmall, "m=256,t=2", "t=2,m=256", 1)},
	{"extra param", strings.Replace(refSmall, "p=2", "p=2,k=1", 1)},
	{"missing param", strings.Replace(refSmall, ",p=2", "", 1)},
	{"trailing comma", strings.Replace(refSmall, "p=2", "p=2,", 1)},
	{"padded salt", strings.Replace(refSmall, "c2FsdA$", "c2FsdA==$", 1)},
	{"bad base64 salt", strings.Replace(refSmall, "Z2Rw", "Z2R!", 1)},
	{"url base64 hash", strings.Replace(refSmall, "Lt", "L_", 1)},
	{"newline in salt", strings.Replace(refSmall, "Z2Rw", "Z2\nRw", 1)},
	{"non-canonical salt bits", strings.Replace(refSmall, "c2FsdA$", "c2FsdB$", 1)},
	{"short salt", "$argon2id$v=19$m=256,t=2,p=2$c2FsdA$eqb5LtSx3TpiXi0mwZIQBu4IMn2qRUJUdvD00ura3KY"},
	{"long salt", "$argon2id$v=19$m=256,t=2,p=2$" + strings.Repeat("A", 88) + "$eqb5LtSx3TpiXi0mwZIQBu4IMn2qRUJUdvD00ura3KY"},
	{"short hash", "$argon2id$v=19$m=256,t=2,p=2$Z2RwcmtpdC1rYXQtc2FsdA$eqb5LtSx3Tpi"},
	{"too long", refSmall[:len(refSmall)-43] + strings.Repeat("A", 300)},
	{"bcrypt $2x$", "$2x$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt $2$", "$2$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt cost 31", "$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt cost 17", "$2a$17$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt cost 03", "$2a$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt cost letters", "$2a$0x$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt short", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOe"},
	{"bcrypt long", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeWx"},
	{"bcrypt bad char", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyO+W"},
	{"bcrypt non-canonical salt", "$2a$05$CCCCCCCCCCCCCCCCCCCCCCE5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt non-canonical hash", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeX"},
	{"bcrypt prefix only", "$2a$"},
}

func TestMalformed(t *testing.T) {
	h := testHasher()
	for _, tc := range malformedCases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.Verify(pw, tc.enc)
			if ok || !errors.Is(err, ErrMalformed) || !errors.Is(err, gdpr.ErrInvalid) {
				t.Fatalf("Verify = %v, %v; want false and an error wrapping ErrMalformed and gdpr.ErrInvalid", ok, err)
			}
			if !fixedErrors[err.Error()] {
				t.Errorf("error text %q is not one of the fixed messages", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Op != "verify" {
				t.Errorf("error %v is not a *Error with Op verify", err)
			}
			if !h.NeedsRehash(tc.enc) {
				t.Error("NeedsRehash(malformed) = false, want true")
			}
		})
	}
}

func TestLength(t *testing.T) {
	h := testHasher()
	enc := mustHash(t, h, pw)
	for _, tc := range []struct {
		name, password string
		want           error
	}{
		{"empty", "", ErrEmpty},
		{"1025 bytes", strings.Repeat("a", MaxLength+1), ErrTooLong},
		{"1 MiB", strings.Repeat("a", 1<<20), ErrTooLong},
	} {
		if s, err := h.Hash(tc.password); s != "" || !errors.Is(err, tc.want) || !errors.Is(err, gdpr.ErrInvalid) {
			t.Errorf("Hash(%s) = %q, %v; want an error wrapping %v", tc.name, s, err, tc.want)
		}
		// Refused before the hash is looked at, malformed or not.
		for _, e := range []string{enc, "garbage"} {
			if ok, err := h.Verify(tc.password, e); ok || !errors.Is(err, tc.want) {
				t.Errorf("Verify(%s) = %v, %v; want false and an error wrapping %v", tc.name, ok, err, tc.want)
			}
		}
	}
}

func TestNewHasher(t *testing.T) {
	d := DefaultParams()
	with := func(f func(*Params)) Params { p := d; f(&p); return p }
	for _, p := range []Params{
		d,
		{Memory: MinMemory, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, // OWASP m=19 MiB, t=2
		{Memory: MinMemoryOnePass, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16},
		{Memory: MaxMemory, Time: MaxTime, Threads: 255, SaltLen: 64, KeyLen: 64},
	} {
		h, err := NewHasher(p)
		if err != nil || h.Params() != p {
			t.Errorf("NewHasher(%+v) = %v; want it accepted", p, err)
		}
	}
	for name, p := range map[string]Params{
		"zero":               {},
		"memory < 19 MiB":    with(func(p *Params) { p.Memory = MinMemory - 1 }),
		"memory > 1 GiB":     with(func(p *Params) { p.Memory = MaxMemory + 1 }),
		"time 0":             with(func(p *Params) { p.Time = 0 }),
		"time > 100":         with(func(p *Params) { p.Time = MaxTime + 1 }),
		"t=1 with 19 MiB":    {Memory: MinMemory, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"threads 0":          with(func(p *Params) { p.Threads = 0 }),
		"salt < 16 bytes":    with(func(p *Params) { p.SaltLen = 15 }),
		"salt > 64 bytes":    with(func(p *Params) { p.SaltLen = 65 }),
		"key < 16 bytes":     with(func(p *Params) { p.KeyLen = 15 }),
		"key > 64 bytes":     with(func(p *Params) { p.KeyLen = 65 }),
		"test params (tiny)": testParams,
	} {
		h, err := NewHasher(p)
		var e *Error
		if h != nil || !errors.Is(err, ErrParams) || !errors.Is(err, gdpr.ErrInvalid) || !errors.As(err, &e) {
			t.Errorf("NewHasher(%s) = %v, %v; want nil and a *Error wrapping ErrParams", name, h, err)
		}
	}
}

// TestCanary plants a password and hashes that contain it, and checks that
// no error text carries it, nor any part of a hash.
func TestCanary(t *testing.T) {
	const canary = "CANARY-s3cr3t-7f1d"
	h := testHasher()
	good := mustHash(t, h, canary)
	parts := strings.Split(good, "$")
	secretBits := []string{canary, parts[4], parts[5]} // password, salt, tag
	var errs []error
	note := func(_ bool, err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err := h.Hash(strings.Repeat(canary, 100))
	errs = append(errs, err)
	note(h.Verify(strings.Repeat(canary, 100), good))
	note(h.Verify("", good))
	for _, tc := range malformedCases {
		note(h.Verify(canary, tc.enc))
		note(h.Verify(canary, strings.ReplaceAll(tc.enc, "Z2RwcmtpdC1rYXQtc2FsdA", canary)))
	}
	for i := range good {
		note(h.Verify(canary, good[:i]))
		note(h.Verify(canary, good[:i]+canary))
	}
	note(h.Verify(canary, "$2a$05$"+canary))
	note(h.Verify(canary, "$argon2id$v=19$m=64,t=1,p=1$"+canary+"$"+canary))
	note(h.Verify(canary, "$"+canary+"$v=19$m=64,t=1,p=1$"+parts[4]+"$"+parts[5]))
	note(h.Verify(canary, good+"\x00"))
	if len(errs) < 100 {
		t.Fatalf("only %d errors collected", len(errs))
	}
	for _, err := range errs {
		if err == nil {
			t.Fatal("an expected error is nil")
		}
		msg := err.Error()
		for _, s := range secretBits {
			if strings.Contains(msg, s) {
				t.Errorf("error %q contains a password or part of a hash", msg)
			}
		}
		for _, s := range []string{"CANARY", "s3cr3t", "Z2Rw", "eqb5"} {
			if strings.Contains(msg, s) {
				t.Errorf("error %q contains input text %q", msg, s)
			}
		}
	}
}

func TestConcurrent(t *testing.T) {
	h := testHasher()
	enc := mustHash(t, h, pw)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			p := fmt.Sprintf("%s-%d", pw, i)
			e, err := h.Hash(p)
			if err != nil {
				t.Error(err)
				return
			}
			if ok, err := h.Verify(p, e); !ok || err != nil {
				t.Errorf("concurrent round trip: %v, %v", ok, err)
			}
			if ok, _ := h.Verify(p, enc); ok {
				t.Error("concurrent Verify of another password's hash = true")
			}
		})
	}
	wg.Wait()
}

// TestErrorShape checks the one error shape of the module: sentinels whose
// text names the condition once, an *Error with Op and Field, and a text
// "password <op>: <field>: <cause>" that names no package twice.
func TestErrorShape(t *testing.T) {
	h := testHasher()
	for _, tc := range []struct {
		name      string
		err       error
		sentinel  error
		op, field string
		text      string
	}{
		{"empty password", second(h.Hash("")), ErrEmpty, "hash", "password",
			"password hash: password: password empty"},
		{"long password", second(h.Verify(strings.Repeat("x", MaxLength+1), refSmall)), ErrTooLong, "verify", "password",
			"password verify: password: password too long"},
		{"malformed hash", second(h.Verify(pw, "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")), ErrMalformed, "verify", "encoded",
			"password verify: encoded: malformed hash: not argon2id"},
		{"params", second(NewHasher(Params{})), ErrParams, "new hasher", "Memory",
			"password new hasher: Memory: parameters out of bounds: memory below 19 MiB (OWASP minimum)"},
	} {
		var e *Error
		switch {
		case !errors.As(tc.err, &e):
			t.Errorf("%s: %v is not a *Error", tc.name, tc.err)
		case !errors.Is(tc.err, tc.sentinel) || !errors.Is(tc.err, gdpr.ErrInvalid):
			t.Errorf("%s: %v does not wrap its sentinel and gdpr.ErrInvalid", tc.name, tc.err)
		case e.Op != tc.op || e.Field != tc.field:
			t.Errorf("%s: Op %q, Field %q; want %q, %q", tc.name, e.Op, e.Field, tc.op, tc.field)
		case tc.err.Error() != tc.text:
			t.Errorf("%s: text %q, want %q", tc.name, tc.err.Error(), tc.text)
		}
	}
	for _, s := range []error{ErrMalformed, ErrTooLong, ErrEmpty, ErrParams} {
		if strings.Contains(s.Error(), "password:") || strings.Contains(s.Error(), "gdpr") {
			t.Errorf("sentinel text %q names a package", s)
		}
	}
}

func second[T any](_ T, err error) error { return err }
