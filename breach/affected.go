package breach

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Affected finds the subjects breach id affected, from the audit trail
// (WithTrail): the entries scope selects give the subjects' tokens (the
// trail's pseudonyms), and each candidate ID the host supplies (its own
// user list, streamed) is matched against them through the trail, so that
// no ID is ever stored, and a candidate the trail never recorded leaves no
// trace. fn, if not nil, is called for each candidate found, in the order
// of candidates; an error from fn stops the search and is returned.
//
// A subject all of whose affected categories are in scope.Encrypted, and
// whose own key (WithKeys) was wrapped under one of scope.SafeKEKs since
// before the window (or shredded before it), is counted Unintelligible:
// apart, since Art. 34(3)(a) may exempt them, with the reasoning written
// out. Relying on it is the controller's decision (Assess with an
// Exemption), not this method's.
//
// The counts, the scope and the reasoning are recorded as an event of the
// breach (and through the Recorder); the IDs are not. A candidate given
// twice counts once. A bad scope or candidate ID is an *Error wrapping
// ErrInvalid, with nothing recorded.
func (l *Log) Affected(ctx context.Context, id string, scope Scope, candidates iter.Seq2[gdpr.SubjectID, error], fn func(Subject) error) (Affected, error) {
	if err := checkCtx("affected", ctx); err != nil {
		return Affected{}, err
	}
	a, err := l.affected(ctx, id, scope, candidates, fn)
	return a, wrap("affected", err)
}

func (l *Log) affected(ctx context.Context, id string, scope Scope, candidates iter.Seq2[gdpr.SubjectID, error], fn func(Subject) error) (Affected, error) {
	b, err := l.get(ctx, id)
	if err != nil {
		return Affected{}, err
	}
	if !b.Closed.IsZero() {
		return Affected{}, because(ErrClosed, "", nil)
	}
	m, err := l.newMatcher(ctx, scope)
	if err != nil {
		return Affected{}, err
	}
	if candidates == nil {
		return Affected{}, invalid("candidates", "nil")
	}
	if err := m.match(ctx, candidates, fn); err != nil {
		return Affected{}, err
	}
	a := m.summary(l.now())
	if _, err := l.change(ctx, id, func(Breach, time.Time) (Kind, any, string, error) {
		return KindAffected, a, "breach.affected", nil
	}); err != nil {
		return Affected{}, err
	}
	return a, nil
}

// matcher matches candidates against the tokens of a scope's entries.
type matcher struct {
	l     *Log
	scope Scope
	// tokens maps a subject token to its aggregate.
	tokens map[string]int32
	aggs   []agg
	cats   []string // interned categories; agg.cats is a bit set of them
	enc    []bool   // enc[i]: cats[i] is in scope.Encrypted
	safe   map[string]bool

	entries, candidates, subjects, unintelligible int64
	byCat                                         map[string]int64
}

type agg struct {
	n           int64
	first, last time.Time
	cats        []uint64 // bit set over matcher.cats
	matched     bool
	// decrypted: an entry in scope decrypted the subject's data
	// (crypto.decrypt, success): whoever held the account read it in
	// clear, whatever the keys.
	decrypted bool
}

func (l *Log) newMatcher(ctx context.Context, s Scope) (*matcher, error) {
	if l.trail == nil {
		return nil, because(ErrNoTrail, "", nil)
	}
	q := s.TrailQuery
	if q.Since.IsZero() || q.Until.IsZero() || !q.Since.Before(q.Until) {
		return nil, invalid("Scope.Since", "a window Since < Until is required")
	}
	if err := l.checkCategories("Scope.Categories", q.Categories); err != nil {
		return nil, err
	}
	if err := l.checkCategories("Scope.Encrypted", s.Encrypted); err != nil {
		return nil, err
	}
	if err := q.Actor.Validate(); err != nil && !q.Actor.IsZero() {
		return nil, invalid("Scope.Actor", "not a valid actor")
	}
	if err := checkLine("Scope.ResourcePrefix", q.ResourcePrefix, maxName, false); err != nil {
		return nil, err
	}
	if q.Purpose != "" && !isKey(string(q.Purpose)) {
		return nil, invalid("Scope.Purpose", "a purpose is a key (a-z, 0-9, _ . -)")
	}
	for i, a := range q.Actions {
		if !isKey(a) {
			return nil, invalid(fmt.Sprintf("Scope.Actions[%d]", i), "an action is a key (a-z, 0-9, _ . -)")
		}
	}
	if len(s.Encrypted) > 0 && l.keys == nil {
		return nil, invalid("Scope.Encrypted", "telling encrypted data apart needs the keys (WithKeys)")
	}
	if len(s.Encrypted) > 0 && len(s.SafeKEKs) == 0 {
		return nil, invalid("Scope.SafeKEKs", "name the key-encryption keys that stayed safe")
	}
	m := &matcher{l: l, scope: s, tokens: map[string]int32{}, safe: map[string]bool{}, byCat: map[string]int64{}}
	for i, k := range s.SafeKEKs {
		if err := checkLine(fmt.Sprintf("Scope.SafeKEKs[%d]", i), k, maxName, true); err != nil {
			return nil, err
		}
		m.safe[k] = true
	}
	catIndex := map[string]int{}
	for e, err := range l.trail.Search(ctx, q) {
		if err != nil {
			return nil, err
		}
		m.entries++
		if len(e.Subject) == 0 {
			continue
		}
		i, ok := m.tokens[string(e.Subject)]
		if !ok {
			i = int32(len(m.aggs))
			m.tokens[string(e.Subject)] = i
			m.aggs = append(m.aggs, agg{first: e.Time, last: e.Time})
		}
		a := &m.aggs[i]
		a.n++
		if e.Action == "crypto.decrypt" && e.Outcome == gdpr.Success {
			a.decrypted = true
		}
		if e.Time.Before(a.first) {
			a.first = e.Time
		}
		if e.Time.After(a.last) {
			a.last = e.Time
		}
		for _, c := range e.Categories {
			ci, ok := catIndex[c]
			if !ok {
				ci = len(m.cats)
				catIndex[c] = ci
				m.cats = append(m.cats, c)
				m.enc = append(m.enc, slices.Contains(s.Encrypted, c))
			}
			for len(a.cats) <= ci/64 {
				a.cats = append(a.cats, 0)
			}
			a.cats[ci/64] |= 1 << (ci % 64)
		}
	}
	return m, nil
}

// inFlight is how many batches of candidates are being turned into
// tokens at once: the trail's lookups wait on its database, so a few
// overlap, while the matching stays in candidate order.
const inFlight = 4

// tokensJob is one batch being turned into tokens.
type tokensJob struct {
	batch []gdpr.SubjectID
	toks  [][]byte
	err   error
	done  chan struct{}
}

// match streams candidates through the trail in batches, up to inFlight
// at a time, and matches each batch in order.
func (m *matcher) match(ctx context.Context, candidates iter.Seq2[gdpr.SubjectID, error], fn func(Subject) error) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var queue []*tokensJob
	defer func() {
		cancel()
		for _, j := range queue { // no lookup outlives the call
			<-j.done
		}
	}()
	consume := func() error {
		j := queue[0]
		queue = queue[1:]
		<-j.done
		if j.err != nil {
			return j.err
		}
		return m.matchBatch(ctx, j.batch, j.toks, fn)
	}
	start := func(batch []gdpr.SubjectID) error {
		j := &tokensJob{batch: batch, done: make(chan struct{})}
		go func() {
			defer close(j.done)
			j.toks, j.err = m.l.trail.SubjectTokens(ctx, j.batch)
		}()
		queue = append(queue, j)
		if len(queue) == inFlight {
			return consume()
		}
		return nil
	}
	batch := make([]gdpr.SubjectID, 0, m.l.batch)
	var n int64
	for s, err := range candidates {
		if err != nil {
			return errs.At("candidates", err)
		}
		if err := s.Validate(); err != nil {
			return invalid(fmt.Sprintf("candidates[%d]", n), "not a subject ID")
		}
		n++
		m.candidates++
		if len(m.tokens) == 0 {
			continue // nothing to match: count the candidates only
		}
		batch = append(batch, s)
		if len(batch) == cap(batch) {
			if err := start(batch); err != nil {
				return err
			}
			batch = make([]gdpr.SubjectID, 0, m.l.batch)
		}
	}
	if len(batch) > 0 {
		if err := start(batch); err != nil {
			return err
		}
	}
	for len(queue) > 0 {
		if err := consume(); err != nil {
			return err
		}
	}
	return nil
}

func (m *matcher) matchBatch(ctx context.Context, batch []gdpr.SubjectID, toks [][]byte, fn func(Subject) error) error {
	if len(toks) != len(batch) {
		return fmt.Errorf("breach: the trail gave %d tokens for %d subjects", len(toks), len(batch))
	}
	var found []Subject
	var idx []int32
	for i, t := range toks {
		if t == nil {
			continue
		}
		ai, ok := m.tokens[string(t)]
		if !ok || m.aggs[ai].matched {
			continue
		}
		m.aggs[ai].matched = true
		a := &m.aggs[ai]
		found = append(found, Subject{ID: batch[i], Entries: a.n, First: a.first, Last: a.last, Categories: m.catsOf(a)})
		idx = append(idx, ai)
	}
	if len(found) == 0 {
		return nil
	}
	// The keys of those whose every affected category was stored
	// encrypted: only they may be unintelligible.
	var ask []gdpr.SubjectID
	var at []int
	for i := range found {
		if m.allEncrypted(&m.aggs[idx[i]]) {
			ask = append(ask, found[i].ID)
			at = append(at, i)
		}
	}
	if len(ask) > 0 {
		keys, err := m.l.keys.SubjectKeys(ctx, ask)
		if err != nil {
			return err
		}
		if len(keys) != len(ask) {
			return fmt.Errorf("breach: the keys gave %d states for %d subjects", len(keys), len(ask))
		}
		for j, k := range keys {
			s := &found[at[j]]
			s.Key = k
			s.Unintelligible = m.safeKey(k)
		}
	}
	for i := range found {
		s := found[i]
		m.subjects++
		if s.Unintelligible {
			m.unintelligible++
		}
		for _, c := range s.Categories {
			m.byCat[c]++
		}
		if fn != nil {
			if err := fn(s); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *matcher) catsOf(a *agg) []string {
	var out []string
	for w, bits := range a.cats {
		for b := 0; b < 64; b++ {
			if bits&(1<<b) != 0 {
				out = append(out, m.cats[w*64+b])
			}
		}
	}
	sort.Strings(out)
	return out
}

// allEncrypted reports whether every category of a's entries is in
// Scope.Encrypted (and there is at least one), and none of them is a
// decryption: data the scope's account decrypted was seen in clear.
func (m *matcher) allEncrypted(a *agg) bool {
	if len(m.scope.Encrypted) == 0 || a.decrypted {
		return false
	}
	any := false
	for w, bits := range a.cats {
		for b := 0; b < 64; b++ {
			if bits&(1<<b) != 0 {
				if !m.enc[w*64+b] {
					return false
				}
				any = true
			}
		}
	}
	return any
}

// safeKey reports whether a key kept the subject's ciphertexts
// unintelligible over the whole window: wrapped under a safe KEK since
// before it began, or shredded before it.
func (m *matcher) safeKey(k gdpr.SubjectKey) bool {
	since := m.scope.Since
	switch k.State {
	case gdpr.KeyLive:
		return m.safe[k.KEK] && !k.Since.IsZero() && !k.Since.After(since)
	case gdpr.KeyShredded:
		return !k.Since.IsZero() && !k.Since.After(since)
	}
	return false
}

func (m *matcher) summary(now time.Time) Affected {
	var matched int64
	for i := range m.aggs {
		if m.aggs[i].matched {
			matched++
		}
	}
	a := Affected{
		Scope: m.l.storedScope(m.scope), ActorRef: m.l.actorRef(m.scope.Actor), ScopeDigest: m.l.scopeDigest(m.scope),
		At:      now.UTC().Truncate(time.Microsecond),
		Entries: m.entries, Tokens: int64(len(m.aggs)), Candidates: m.candidates,
		Subjects: m.subjects, Unintelligible: m.unintelligible,
		Unmatched: int64(len(m.aggs)) - matched,
	}
	if len(m.byCat) > 0 {
		a.ByCategory = m.byCat
	}
	if len(m.scope.Encrypted) > 0 {
		a.Reasoning = fmt.Sprintf("Of %d subjects affected, %d had every affected data category (%s) stored only encrypted under "+
			"their own key, wrapped under a key-encryption key that was not compromised (%s) since before the window began, or "+
			"shredded before it, and none of whose data the entries in scope decrypted; their data is unintelligible to anyone "+
			"without those keys (Art. 34(3)(a)). The others had data outside those categories, data decrypted in the window, "+
			"no key of their own, or a key wrapped anew during the window.",
			a.Subjects, a.Unintelligible, strings.Join(m.scope.Encrypted, ", "), strings.Join(m.scope.SafeKEKs, ", "))
	}
	return a
}

// storedScope is s as the breach's event keeps it: without the ID of a
// staff or subject actor, which is personal data.
func (l *Log) storedScope(s Scope) Scope {
	if s.Actor.Kind != gdpr.ActorSystem {
		s.Actor.ID = ""
	}
	// A resource prefix may name a record of one person
	// ("customer/4711/"): it is kept as a keyed reference.
	if s.ResourcePrefix != "" {
		s.ResourcePrefix = "ref:" + hex.EncodeToString(l.mac("gdpr/breach/resource-ref/v1", s.ResourcePrefix)[:16])
	}
	s.Categories, s.Actions = slices.Clone(s.Categories), slices.Clone(s.Actions)
	return s
}

// actorRef is the keyed reference of a staff or subject actor, "" for
// none or a system.
func (l *Log) actorRef(a gdpr.Actor) string {
	if a.ID == "" || a.Kind == gdpr.ActorSystem {
		return ""
	}
	return hex.EncodeToString(l.mac("gdpr/breach/actor-ref/v1", string(a.Kind), a.ID)[:16])
}

// scopeDigest is a keyed digest of the whole of s.
func (l *Log) scopeDigest(s Scope) string {
	// The same scope written another way (another zone, lists in another
	// order, nil for empty) has the same digest.
	s.Since, s.Until = s.Since.UTC(), s.Until.UTC()
	canon := func(v []string) []string {
		v = slices.Clone(v)
		slices.Sort(v)
		v = slices.Compact(v)
		if len(v) == 0 {
			return nil
		}
		return v
	}
	s.Categories, s.Actions, s.Encrypted, s.SafeKEKs = canon(s.Categories), canon(s.Actions), canon(s.Encrypted), canon(s.SafeKEKs)
	b, _ := json.Marshal(struct {
		Scope
		ActorID string
	}{s, s.Actor.ID}) // a Scope always encodes
	return hex.EncodeToString(l.mac("gdpr/breach/scope/v1", string(b)))
}

func (l *Log) mac(label string, parts ...string) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte(label))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// ref is the reference of subject in breach's notices: HMAC-SHA-256
// under the subject key of a label, the breach ID and the subject ID, so
// that references of one subject in two breaches are unrelated.
func (l *Log) ref(breach string, subject gdpr.SubjectID) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte("gdpr/breach/subject-ref/v1\x00"))
	h.Write([]byte(breach))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	return h.Sum(nil)
}
