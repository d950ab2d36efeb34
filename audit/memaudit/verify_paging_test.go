package memaudit

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
)

func TestVerifyPaging(t *testing.T) {
	ctx := context.Background()
	skey, _, _ := audit.GenerateKey("x.example/log")
	s, v, _ := audit.NewSigner(skey)
	key := make([]byte, 32)
	rand.Read(key)
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 7, 8, 9, 16, 17, 31, 33, 64} {
		st := New()
		l, err := audit.New(ctx, st, key, s, v, audit.WithCheckpoints(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		var evs []gdpr.Event
		for i := range n {
			evs = append(evs, gdpr.Event{Time: time.Unix(int64(i), 0), Actor: gdpr.System("x"), Action: "a.b", Outcome: gdpr.Success})
		}
		l.Append(ctx, evs...)
		l.Checkpoint(ctx)
		all, _ := st.Entries(ctx, 0, n)
		tp := tamperer{st}
		for trial := 0; trial < 40; trial++ {
			var del []int64
			for i := range int64(n) {
				if r.IntN(3) == 0 {
					del = append(del, i)
				}
			}
			for _, i := range del {
				tp.DeleteEntry(t, i)
			}
			for _, page := range []int{1, 2, 3, 4, 5, 7, 8, 100} {
				rep, _ := l.Verify(ctx, audit.VerifyOptions{PageSize: page})
				var got []int64
				for _, p := range rep.Problems {
					if p.Kind != audit.EntryMissing {
						t.Fatalf("n=%d page=%d del=%v: unexpected %v", n, page, del, p)
					}
					got = append(got, p.Index)
				}
				if !slices.Equal(got, del) && !(len(got) == 0 && len(del) == 0) {
					t.Fatalf("n=%d page=%d: missing %v want %v", n, page, got, del)
				}
				if rep.Entries != int64(n-len(del)) {
					t.Fatalf("n=%d page=%d: Entries %d", n, page, rep.Entries)
				}
			}
			for _, i := range del {
				tp.InsertEntry(t, all[i])
			}
		}
		l.Close(ctx)
		_ = fmt.Sprint
	}
}
