package pgarray

import "testing"

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
