// Package password hashes the passwords of a host's user accounts with
// argon2id, verifies them, and migrates older bcrypt hashes.
//
// It serves Art. 32 of the GDPR (security of processing: a leaked user table
// must not give away passwords, which people reuse elsewhere) and
// Art. 5(1)(f) and 25 (integrity and confidentiality, by design).
//
//	encoded, err := password.Hash(pw)           // store encoded
//	ok, err := password.Verify(pw, encoded)     // at login
//
// # Parameters
//
// Hash uses argon2id, the variant RFC 9106 recommends, with its second
// recommended option (section 4), for hosts that cannot spare 2 GiB per
// hash: m = 64 MiB, t = 3, p = 4, a 16-byte random salt and a 32-byte tag
// (DefaultParams). That is well above the OWASP Password Storage Cheat
// Sheet's minimum (m = 19 MiB with t = 2), which is the floor NewHasher
// enforces; see Params.Validate for every bound. A hash takes some 100 to
// 300 ms on a server core and 64 MiB for its duration: bound the number of
// concurrent logins, or choose a Hasher with less memory and more passes.
//
// # Format
//
// Hashes are PHC strings (the Password Hashing Competition's format, shared
// by the reference argon2 library, libsodium, passlib and others), so they
// carry their own algorithm, version, parameters and salt:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
//
// salt and hash in standard base64 without padding. Verify parses them
// strictly: one canonical encoding per hash, version 19 only, and bounds on
// the parameters (memory up to 1 GiB, time up to 100, parallelism up to
// 255, salt of 8 to 64 bytes, tag of 16 to 64 bytes), so that a stored
// string cannot make a login cost unbounded memory or time. Bounded is not
// cheap: a string at every upper bound asks for 1 GiB and 100 passes, many
// seconds of CPU per login. Whoever can write the password column can slow
// logins down this way; protect that column as you protect the hashes.
//
// # Migration from bcrypt
//
// Verify also accepts bcrypt hashes ($2a$, $2b$, $2y$, cost 4 to 16), so a
// host can switch without resetting passwords. NeedsRehash is true for every
// bcrypt hash and for argon2id hashes with other parameters than the
// Hasher's, so on each successful login:
//
//	ok, err := h.Verify(pw, stored)
//	if err != nil || !ok {
//		return errLoginFailed
//	}
//	if h.NeedsRehash(stored) {
//		if fresh, err := h.Hash(pw); err == nil {
//			saveHash(user, fresh) // best effort; the login succeeded anyway
//		}
//	}
//
// The same step carries hashes forward when the Hasher's parameters are
// raised. Accounts that never log in keep their bcrypt hash; a host may
// expire them after a while.
//
// bcrypt uses only the first 72 bytes of a password, so a bcrypt hash
// verifies for any password that shares those bytes; once re-hashed with
// argon2id, the whole password counts.
//
// # Passwords
//
// Hash and Verify refuse an empty password (ErrEmpty): a host enforces its
// own policy on length and content, but no policy allows an empty one, and
// refusing it here keeps a bug in a form handler from creating an account
// anyone can open. They refuse passwords longer than MaxLength, 1024 bytes
// (ErrTooLong): argon2id's cost does not grow with the length, but reading
// and copying megabytes per request is a denial of service, and no
// passphrase needs more. Passwords are hashed as given, byte for byte; a
// host normalises Unicode (NFC or NFKC) itself if it wants to.
//
// # Errors
//
// Functions return *Error (Op, Field and cause, for errors.As) wrapping
// one of ErrMalformed (a stored hash that cannot be verified: Field
// "encoded"), ErrEmpty, ErrTooLong (Field "password") or ErrParams
// (NewHasher: Field names the parameter, e.g. "Memory"), all of which wrap
// gdpr.ErrInvalid. Texts read "password verify: encoded: malformed hash:
// not argon2id". A wrong password is not an error: Verify returns
// (false, nil). A host should answer every failed login the same way,
// whatever the cause, and log only the error, which never contains a
// password nor any part of a hash: fixed reasons only.
//
// # Testing
//
// Tests of a host's login code can use NewHasher with the smallest
// parameters it allows (Memory: MinMemory, Time: 2, Threads: 1), about
// 80 ms a hash. The package's own tests use smaller, internal
// parameters, a known-answer vector from the reference argon2 library,
// bcrypt hashes, tampered and malformed strings, and a canary password that
// must not appear in any error; FuzzVerify fuzzes the parsers;
// BenchmarkHash and BenchmarkVerify compare Hash and Verify with
// argon2.IDKey at the same parameters.
//
//	go test -race ./crypto/password/
//	go test -run '^$' -fuzz FuzzVerify -fuzztime 30s ./crypto/password/
//	go test -run '^$' -bench . -benchmem ./crypto/password/
package password
