package retention

import (
	"context"
	"iter"
	"time"

	"github.com/gdprkit/gdpr"
)

// Notice is a subject whose records of a category reach the end of
// their period soon, so the host can tell them before the data go (an
// inactive account warned that it will be deleted, with a link to keep
// it).
type Notice struct {
	Subject  gdpr.SubjectID
	Target   string
	Category string
	Action   Action
	// Expires is when the subject's earliest such record expires
	// (Policy.Expiry).
	Expires time.Time
}

// NoticePageSize is how many subjects Notices asks a Noticer for at a
// time.
const NoticePageSize = 500

// Notices yields, target by target and in subject order within each,
// the subjects with records that have not expired now but will within
// the window: their period ends at or before now+within. Held subjects,
// and categories a hold keeps whole, are left out, since their records
// will not be swept. Targets whose Deleter is not a Noticer are skipped.
// The sequence pages through the Deleters (NoticePageSize subjects a
// call); it stops at the first error, which it yields with a zero
// Notice. A window that is not positive is an error wrapping ErrInvalid.
func (s *Sweeper) Notices(ctx context.Context, within time.Duration) iter.Seq2[Notice, error] {
	return func(yield func(Notice, error) bool) {
		if err := checkCtx("notices", ctx); err != nil {
			yield(Notice{}, err)
			return
		}
		if within <= 0 {
			yield(Notice{}, wrap("notices", invalid("within", "a window is positive")))
			return
		}
		now := s.clock()
		for _, t := range s.targets {
			n, ok := t.Deleter.(Noticer)
			if !ok {
				continue
			}
			whole, held, err := s.held(ctx, t.Category)
			if err != nil {
				yield(Notice{}, wrap("notices", err))
				return
			}
			if whole {
				continue
			}
			q := ExpiringQuery{Target: t.Name, Policy: t.policy, From: t.policy.Cutoff(now),
				Before: t.policy.Cutoff(now.Add(within)), Limit: NoticePageSize}
			if !q.From.Before(q.Before) {
				continue
			}
			b := Batch{Held: held}
			for {
				page, err := n.Expiring(ctx, q)
				if err != nil {
					yield(Notice{}, wrap("notices", at(t.Name, because(ErrTarget, "the deleter of target "+show(t.Name)+" failed", err))))
					return
				}
				if len(page) > q.Limit {
					yield(Notice{}, wrap("notices", at(t.Name, because(ErrTarget, "the deleter of target "+show(t.Name)+" returned more than the limit", nil))))
					return
				}
				for _, e := range page {
					if e.Subject <= q.After && q.After != "" {
						yield(Notice{}, wrap("notices", at(t.Name, because(ErrTarget, "the deleter of target "+show(t.Name)+" returned subjects out of order", nil))))
						return
					}
					q.After = e.Subject
					if b.IsHeld(e.Subject) {
						continue
					}
					if !yield(Notice{Subject: e.Subject, Target: t.Name, Category: t.Category, Action: t.policy.Action,
						Expires: t.policy.Expiry(e.Start.In(s.loc))}, nil) {
						return
					}
				}
				if len(page) < q.Limit {
					break
				}
			}
		}
	}
}
