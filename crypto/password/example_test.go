package password_test

import (
	"fmt"
	"strings"

	"github.com/gdprkit/gdpr/crypto/password"
	"golang.org/x/crypto/bcrypt"
)

// fastParams are the smallest parameters NewHasher allows (the OWASP
// minimum), to keep the examples quick; production code uses the default
// (password.Hash) or more.
var fastParams = password.Params{Memory: password.MinMemory, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

func Example() {
	h, err := password.NewHasher(fastParams)
	if err != nil {
		panic(err)
	}
	encoded, err := h.Hash("correct horse battery staple")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$"))

	ok, err := h.Verify("correct horse battery staple", encoded)
	fmt.Println(ok, err)
	ok, err = h.Verify("Tr0ub4dor&3", encoded)
	fmt.Println(ok, err)

	_, err = h.Verify("correct horse battery staple", "$argon2id$v=18$m=1,t=1,p=1$AAAA$AAAA")
	fmt.Println(err)
	// Output:
	// true
	// true <nil>
	// false <nil>
	// password verify: encoded: malformed hash: version is not 19
}

// On a successful login, a bcrypt hash from an older system is replaced by
// an argon2id one.
func ExampleHasher_NeedsRehash() {
	h, err := password.NewHasher(fastParams)
	if err != nil {
		panic(err)
	}
	legacy, _ := bcrypt.GenerateFromPassword([]byte("correct horse battery staple"), bcrypt.MinCost)
	stored := string(legacy)

	// At login:
	ok, err := h.Verify("correct horse battery staple", stored)
	if err != nil || !ok {
		fmt.Println("login failed")
		return
	}
	if h.NeedsRehash(stored) {
		fresh, err := h.Hash("correct horse battery staple")
		if err == nil {
			stored = fresh // and save it with the account
		}
	}
	fmt.Println(stored[:9], h.NeedsRehash(stored))
	// Output:
	// $argon2id false
}
