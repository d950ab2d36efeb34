package erasure

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
	"time"

	"github.com/gdprkit/gdpr"
)

// Verifier checks that the person making a request is the data subject
// (Art. 12(6)), proportionately: with what the controller already knows of
// them (a sign-in, a code sent to an address on record), never by asking
// for identity documents it would not otherwise hold (EDPB Guidelines
// 01/2022 on the right of access, section 3.3).
//
// Begin is called once a request awaits identity (and again on
// Engine.Reverify): it asks the subject (sends the code). Check judges an
// answer. Both are safe for concurrent use; their errors carry no
// personal data.
type Verifier interface {
	Begin(ctx context.Context, r gdpr.Request) error
	Check(ctx context.Context, r gdpr.Request, answer string) (Verdict, error)
}

// Verdict is a Verifier's judgement of an answer.
type Verdict int

// The verdicts.
const (
	// VerdictRetry: the answer is wrong (or expired); the subject may try
	// again. The zero Verdict.
	VerdictRetry Verdict = iota
	// VerdictConfirmed: the identity is confirmed.
	VerdictConfirmed
	// VerdictFailed: the subject will not be confirmed (the attempts are
	// spent): the request is rejected for RejectIdentity.
	VerdictFailed
)

// CodeVerifier is the ready Verifier: it sends the subject a one-time code
// through the host's channel (an e-mail to the address on record, a text
// message) and confirms the request when the code comes back.
//
// Codes are 8 decimal digits drawn from crypto/rand (10^8 values, against
// an attempt limit of 5 by default: a guesser's chance is 1 in 20 million),
// stored only as an HMAC-SHA256 under the verifier's key bound to the
// request ID, compared in constant time, void after their time to live or
// once the attempts are spent. A successful check deletes the code.
type CodeVerifier struct {
	store       CodeStore
	key         []byte
	send        func(ctx context.Context, r gdpr.Request, code string) error
	ttl         time.Duration
	maxAttempts int
	now         func() time.Time
}

// CodeOptions tune a CodeVerifier; zero fields take their defaults.
type CodeOptions struct {
	// TTL is how long a code works. Default: 24 hours.
	TTL time.Duration
	// Attempts is how many answers a code takes before the request is
	// rejected for RejectIdentity. Default: 5.
	Attempts int
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// CodeLen is the number of digits of a code.
const CodeLen = 8

// NewCodeVerifier returns a CodeVerifier over store. key (at least 32
// random bytes, kept secret) keys the hashes; send delivers a code to the
// subject by a channel already on record for them. A nil store or send, a
// short key or a negative option is an *Error wrapping ErrInvalid.
func NewCodeVerifier(store CodeStore, key []byte, send func(ctx context.Context, r gdpr.Request, code string) error, o CodeOptions) (*CodeVerifier, error) {
	const op = "new_code_verifier"
	switch {
	case store == nil:
		return nil, &Error{Op: op, Field: "store", Err: because(ErrInvalid, "nil code store", nil)}
	case len(key) < MinSubjectKeyLen:
		return nil, &Error{Op: op, Field: "key", Err: because(ErrInvalid, "key shorter than 32 bytes", nil)}
	case send == nil:
		return nil, &Error{Op: op, Field: "send", Err: because(ErrInvalid, "nil send", nil)}
	case o.TTL < 0 || o.Attempts < 0:
		return nil, &Error{Op: op, Field: "options", Err: because(ErrInvalid, "negative TTL or attempts", nil)}
	}
	v := &CodeVerifier{store: store, key: append([]byte(nil), key...), send: send, ttl: o.TTL, maxAttempts: o.Attempts, now: o.Now}
	if v.ttl == 0 {
		v.ttl = 24 * time.Hour
	}
	if v.maxAttempts == 0 {
		v.maxAttempts = 5
	}
	if v.now == nil {
		v.now = time.Now
	}
	return v, nil
}

var _ Verifier = (*CodeVerifier)(nil)

func (v *CodeVerifier) hash(request, code string) []byte {
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte("gdprkit erasure code v1\x00"))
	m.Write([]byte(request))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return m.Sum(nil)
}

// Begin issues a new code for r, replacing any earlier one, and sends it.
// The code is stored (as a hash) before it is sent, so a code the subject
// receives always works.
func (v *CodeVerifier) Begin(ctx context.Context, r gdpr.Request) error {
	code, err := newCode()
	if err != nil {
		return err
	}
	now := v.now()
	if err := v.store.PutCode(ctx, Code{Request: r.ID, Hash: v.hash(r.ID, code), Created: now, Expires: now.Add(v.ttl)}); err != nil {
		return err
	}
	return v.send(ctx, r, code)
}

func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	b := []byte("00000000")
	s := n.String()
	copy(b[CodeLen-len(s):], s)
	return string(b), nil
}

// Check counts an attempt and compares the answer with r's code in
// constant time. A right answer within the time to live confirms (and
// deletes the code); a wrong or expired one asks for another try, with an
// error wrapping ErrInvalidCode; the attempt past the limit fails, with
// ErrTooManyAttempts, and the code is deleted. The attempt is counted
// before the comparison, so concurrent guesses cannot exceed the limit.
func (v *CodeVerifier) Check(ctx context.Context, r gdpr.Request, answer string) (Verdict, error) {
	c, err := v.store.Attempt(ctx, r.ID)
	if errors.Is(err, ErrNotFound) {
		return VerdictRetry, ErrInvalidCode
	}
	if err != nil {
		return VerdictRetry, err
	}
	if c.Attempts > v.maxAttempts {
		if err := v.store.DeleteCode(ctx, r.ID); err != nil {
			return VerdictRetry, err
		}
		return VerdictFailed, ErrTooManyAttempts
	}
	ok := len(answer) == CodeLen && hmac.Equal(c.Hash, v.hash(r.ID, answer))
	if !ok || !v.now().Before(c.Expires) {
		return VerdictRetry, ErrInvalidCode
	}
	if err := v.store.DeleteCode(ctx, r.ID); err != nil {
		return VerdictRetry, err
	}
	return VerdictConfirmed, nil
}

// Remind calls remind for each code issued at least after ago that has
// not been answered or reminded of yet, at most limit of them, and marks
// each reminded once remind returns nil. The reminder cannot repeat the
// code (only its hash is kept): it tells the subject a request awaits
// their confirmation, and the host may Reverify to send a new code. It
// returns how many reminders were sent.
func (v *CodeVerifier) Remind(ctx context.Context, after time.Duration, limit int, remind func(ctx context.Context, requestID string) error) (int, error) {
	if ctx == nil {
		return 0, &Error{Op: "remind", Field: "ctx", Err: errNilContext}
	}
	if remind == nil || after < 0 || limit < 1 {
		return 0, &Error{Op: "remind", Field: "remind", Err: because(ErrInvalid, "nil remind, negative delay or no limit", nil)}
	}
	now := v.now()
	due, err := v.store.DueReminders(ctx, now.Add(-after), limit)
	if err != nil {
		return 0, wrap("remind", err)
	}
	n := 0
	for _, c := range due {
		if !now.Before(c.Expires) {
			continue
		}
		if err := remind(ctx, c.Request); err != nil {
			return n, wrap("remind", err)
		}
		if err := v.store.MarkReminded(ctx, c.Request, now); err != nil && !errors.Is(err, ErrNotFound) {
			return n, wrap("remind", err)
		}
		n++
	}
	return n, nil
}

// Forget deletes the code of a request that was closed without it
// (rejected, cancelled); the Engine calls it.
func (v *CodeVerifier) Forget(ctx context.Context, requestID string) error {
	return v.store.DeleteCode(ctx, requestID)
}
