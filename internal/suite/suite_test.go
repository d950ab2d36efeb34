package suite

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

type store interface{ Name() string }

type impl struct{ name string }

func (i *impl) Name() string { return i.name }

func TestIsNil(t *testing.T) {
	var typedNil *impl
	for _, c := range []struct {
		v    store
		want bool
	}{{nil, true}, {typedNil, true}, {&impl{"a"}, false}} {
		if got := isNil(c.v); got != c.want {
			t.Errorf("isNil(%#v) = %v; want %v", c.v, got, c.want)
		}
	}
}

func TestRunGivesEachTestBothHandles(t *testing.T) {
	var made atomic.Int32
	var ran []string
	Run(t, "store", func(*testing.T) (store, store) {
		made.Add(1)
		return &impl{"s"}, &impl{"other"}
	}, []Test[store]{
		{"Both", func(t *testing.T, s, other store) { ran = append(ran, s.Name()+"+"+other.Name()) }},
		{"One", One(func(t *testing.T, s store) { ran = append(ran, s.Name()) })},
	})
	if made.Load() != 2 || len(ran) != 2 || ran[0] != "s+other" || ran[1] != "s" {
		t.Fatalf("made %d storages, ran %v; want a fresh pair per test", made.Load(), ran)
	}
}

func TestRaceAlternatesHandles(t *testing.T) {
	s, other := &impl{"s"}, &impl{"other"}
	boom := errors.New("boom")
	errs := Race(t, 6, store(s), store(other), func(ctx context.Context, g int, h store) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if want := map[bool]string{true: "s", false: "other"}[g%2 == 0]; h.Name() != want {
			t.Errorf("goroutine %d on %s; want %s", g, h.Name(), want)
		}
		if g == 3 {
			return boom
		}
		return nil
	})
	for g, err := range errs {
		if (g == 3) != errors.Is(err, boom) {
			t.Errorf("errs[%d] = %v", g, err)
		}
	}
}
