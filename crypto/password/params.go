package password

import "strconv"

// Params are the argon2id cost parameters of a Hasher.
type Params struct {
	// Memory is the memory cost in KiB (argon2's m).
	Memory uint32
	// Time is the number of passes over the memory (argon2's t).
	Time uint32
	// Threads is the degree of parallelism (argon2's p), the number of lanes.
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the tag (the hash) in bytes.
	KeyLen uint32
}

// DefaultParams returns the parameters of the package-level functions: the
// second recommended option of RFC 9106 (section 4): argon2id, m = 64 MiB,
// t = 3, p = 4, a 128-bit salt and a 256-bit tag.
func DefaultParams() Params {
	return Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}
}

// Bounds on the parameters NewHasher accepts, for new hashes.
//
// The lower bounds are the OWASP Password Storage Cheat Sheet minimum for
// argon2id (m = 19 MiB with t = 2, or m = 46 MiB with t = 1); the salt and
// tag minimums are RFC 9106's 128 bits. The upper bounds are those of
// Verify, so that every hash a Hasher makes can be verified.
const (
	MinMemory        = 19 * 1024 // KiB: 19 MiB
	MinMemoryOnePass = 46 * 1024 // KiB: below this, Time must be at least 2
	MinSaltLen       = 16        // bytes
	MinKeyLen        = 16        // bytes
	MaxMemory        = 1 << 20   // KiB: 1 GiB
	MaxTime          = 100
	MaxSaltLen       = 64 // bytes
	MaxKeyLen        = 64 // bytes
)

// Validate reports whether p is within the bounds NewHasher accepts: Memory
// from MinMemory (19 MiB) to MaxMemory (1 GiB), Time from 1 to MaxTime (100)
// and at least 2 when Memory is below MinMemoryOnePass (46 MiB), Threads from
// 1 to 255, SaltLen from 16 to 64 and KeyLen from 16 to 64. The error wraps
// ErrParams and names the parameter, never a password; NewHasher's *Error
// names it in Field ("Memory", "Time", "Threads", "SaltLen", "KeyLen").
func (p Params) Validate() error {
	switch {
	case p.Memory < MinMemory:
		return bad("Memory", "memory below 19 MiB (OWASP minimum)")
	case p.Memory > MaxMemory:
		return bad("Memory", "memory above 1 GiB")
	case p.Time < 1 || p.Time > MaxTime:
		return bad("Time", "time outside 1.."+strconv.Itoa(MaxTime))
	case p.Time < 2 && p.Memory < MinMemoryOnePass:
		return bad("Time", "time below 2 with memory below 46 MiB (OWASP minimum)")
	case p.Threads < 1:
		return bad("Threads", "threads below 1")
	case p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen:
		return bad("SaltLen", "salt length outside 16..64 bytes")
	case p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return bad("KeyLen", "key length outside 16..64 bytes")
	}
	return nil
}

func bad(field, reason string) error { return &reasonError{ErrParams, field, reason} }
