package pgarray

import (
	"database/sql/driver"
	"testing"
)

func TestLiterals(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Int64s(nil), "{}"},
		{Int64s([]int64{1, -2, 9223372036854775807}), "{1,-2,9223372036854775807}"},
		{Byteas(nil), "{}"},
		{Byteas([][]byte{{0x00, 0xff}, nil, {}, []byte(`"\`)}), `{"\\x00ff",NULL,"\\x","\\x225c"}`},
		{Texts(nil), "{}"},
		{Texts([]string{"a", `q"uo\te`, "", "{x,y}", "NULL"}), `{"a","q\"uo\\te","","{x,y}","NULL"}`},
	} {
		if c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

type otherDriver struct{ driver.Driver }

func TestBinder(t *testing.T) {
	for _, b := range []Binder{{}, For(nil), For(otherDriver{}), For(&otherDriver{})} {
		if b.Native() {
			t.Errorf("%#v binds natively", b)
		}
		if got := b.Int64s([]int64{1}); got != "{1}" {
			t.Errorf("Int64s = %#v", got)
		}
		if got := b.Byteas([][]byte{nil}); got != "{NULL}" {
			t.Errorf("Byteas = %#v", got)
		}
		if got := b.Texts(nil); got != "{}" {
			t.Errorf("Texts = %#v", got)
		}
	}
	n := Binder{native: true}
	// nil slices are empty arrays, as "{}" is, not NULL.
	if got, ok := n.Int64s(nil).([]int64); !ok || got == nil {
		t.Errorf("native Int64s(nil) = %#v", got)
	}
	if got, ok := n.Byteas(nil).([][]byte); !ok || got == nil {
		t.Errorf("native Byteas(nil) = %#v", got)
	}
	if got, ok := n.Texts(nil).([]string); !ok || got == nil {
		t.Errorf("native Texts(nil) = %#v", got)
	}
	if got, ok := n.Byteas([][]byte{{1}, nil}).([][]byte); !ok || len(got) != 2 || got[1] != nil {
		t.Errorf("native Byteas = %#v", got)
	}
}
