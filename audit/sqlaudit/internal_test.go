package sqlaudit

import (
	"fmt"
	"testing"

	"github.com/gdprkit/gdpr/internal/sqlbase"

	"golang.org/x/mod/sumdb/tlog"
)

func TestArrayLiterals(t *testing.T) {
	s := &Store{b: &sqlbase.Base{}} // the zero Binder: literals, as on any driver but pgx
	if got := s.hashArray([]tlog.Hash{{1}}); got != `{"\\x01`+fmt.Sprintf("%062d", 0)+`"}` {
		t.Errorf("hashArray = %s", got)
	}
}

func TestPlaceholders(t *testing.T) {
	for _, c := range []struct {
		n, k int
		want string
	}{{1, 1, "?"}, {3, 1, "?, ?, ?"}, {1, 2, "(?, ?)"}, {2, 3, "(?, ?, ?), (?, ?, ?)"}} {
		if got := placeholders(c.n, c.k); got != c.want {
			t.Errorf("placeholders(%d, %d) = %q; want %q", c.n, c.k, got, c.want)
		}
	}
}

func TestConsecutive(t *testing.T) {
	for _, c := range []struct {
		in   []int64
		want bool
	}{{[]int64{5}, true}, {[]int64{5, 6, 7}, true}, {[]int64{5, 7}, false}, {[]int64{6, 5}, false}, {[]int64{5, 5}, false}} {
		if got := consecutive(c.in); got != c.want {
			t.Errorf("consecutive(%v) = %v", c.in, got)
		}
	}
}
