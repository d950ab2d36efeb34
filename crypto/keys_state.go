package crypto

import (
	"context"
	"errors"
	"strconv"

	"github.com/gdprkit/gdpr"
)

var _ gdpr.KeyCustodian = (*Keyring)(nil)

// SubjectKeys reports, for each subject in order, how its encrypted
// fields are protected at rest (gdpr.KeyCustodian):
//
//	gdpr.KeyLive      the subject has a key; KEK is the ID of the
//	                  key-encryption key that wraps it now, Since when
//	                  its record was last written (the key created,
//	                  rotated, revived or rewrapped under a new KEK)
//	gdpr.KeyShredded  the subject's key was destroyed; Since is the time
//	                  of the shred if the Store is a TombstoneReader (as
//	                  memkeys and sqlkeys are), zero otherwise
//	gdpr.KeyNone      the subject has no key of their own and no
//	                  tombstone: none of their data was encrypted under
//	                  a key of theirs (a Scope's key is not theirs)
//
// A breach investigation asks it whose compromised ciphertexts stayed
// unintelligible (Art. 34(3)(a)): those of a subject whose key is
// shredded, or wrapped under a KEK the attacker did not hold. It says how
// the key is wrapped now, and Since since when: before Since the key may
// have been wrapped under another KEK (Rewrap moves keys from one to the
// next), and a subject revived after a shred (Revive) had their older
// ciphertexts under the destroyed key. It speaks of the Store at rest,
// not of keys a running instance holds unwrapped in its cache.
//
// It reads key metadata only: it creates no key (a subject without one
// stays without, unlike on Encrypt), unwraps no keyset (no KEK, no KMS
// call), puts nothing in the cache, asks no Guard and records no audit
// event (as ExportSubject). A subject given more than once is read once,
// and each of its places gets the same answer. With a Store that is a
// BatchGetter (memkeys and sqlkeys are) the call is one GetMany; with
// another, one Get per distinct subject and a Tombstone per shredded one.
// Each answer is its subject's state at one moment of the call, not all
// of them at one moment. An empty subjects reads nothing and returns an
// empty slice.
//
// Errors (*Error of Op "subject_keys"): ErrInvalid for a nil ctx (Field
// "ctx") or an invalid subject ID (Field "subjects[i]", i its index, and
// nothing read); a Store's failure behind "store", a context's error as
// it is. No answer comes with an error. It is safe for concurrent use.
func (k *Keyring) SubjectKeys(ctx context.Context, subjects []gdpr.SubjectID) ([]gdpr.SubjectKey, error) {
	const op = "subject_keys"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	for i, s := range subjects {
		if err := s.Validate(); err != nil {
			return nil, wrap(op, invalid("subjects["+strconv.Itoa(i)+"]", err))
		}
	}
	out := make([]gdpr.SubjectKey, len(subjects))
	if len(subjects) == 0 {
		return out, nil
	}
	// One read per distinct Ref; place[i] is the index in refs of
	// subjects[i].
	refs := make([]string, 0, len(subjects))
	place := make([]int, len(subjects))
	seen := make(map[string]int, len(subjects))
	for i, s := range subjects {
		ref := k.ref(owner{subject: s})
		j, ok := seen[ref]
		if !ok {
			j = len(refs)
			seen[ref] = j
			refs = append(refs, ref)
		}
		place[i] = j
	}
	keys, err := k.refKeys(ctx, refs)
	if err != nil {
		return nil, wrap(op, err)
	}
	for i, j := range place {
		out[i] = keys[j]
	}
	return out, nil
}

// refKeys reads the state of the keys of refs, in their order: with one
// GetMany if the Store is a BatchGetter, else with Get (and Tombstone, if
// the Store is a TombstoneReader) per Ref. It creates, unwraps and caches
// nothing.
func (k *Keyring) refKeys(ctx context.Context, refs []string) ([]gdpr.SubjectKey, error) {
	out := make([]gdpr.SubjectKey, len(refs))
	if bg, ok := k.store.(BatchGetter); ok {
		states, err := bg.GetMany(ctx, refs)
		if err != nil {
			return nil, fromStore(err)
		}
		if len(states) != len(refs) {
			return nil, at("store", because(ErrInvalid, "GetMany returned an answer per Ref for another number of Refs", nil))
		}
		for i, st := range states {
			switch st.State {
			case gdpr.KeyLive:
				out[i] = gdpr.SubjectKey{State: gdpr.KeyLive, KEK: st.Record.KEK, Since: st.Record.Updated}
			case gdpr.KeyShredded:
				out[i] = gdpr.SubjectKey{State: gdpr.KeyShredded, Since: st.Shredded}
			case gdpr.KeyNone:
			default:
				return nil, at("store", because(ErrInvalid, "GetMany returned an unknown state", nil))
			}
		}
		return out, nil
	}
	tr, _ := k.store.(TombstoneReader)
	for i, ref := range refs {
		r, err := k.store.Get(ctx, ref)
		switch {
		case err == nil:
			out[i] = gdpr.SubjectKey{State: gdpr.KeyLive, KEK: r.KEK, Since: r.Updated}
		case errors.Is(err, ErrShredded):
			out[i] = gdpr.SubjectKey{State: gdpr.KeyShredded}
			if tr == nil {
				continue
			}
			switch when, err := tr.Tombstone(ctx, ref); {
			case err == nil:
				out[i].Since = when
			case !errors.Is(err, ErrNotFound): // revived meanwhile: still report the shred the Get saw
				return nil, fromStore(err)
			}
		case errors.Is(err, ErrNotFound):
		default:
			return nil, fromStore(err)
		}
	}
	return out, nil
}
