// Package pgarray binds Go slices to the array placeholders of the SQL
// stores' PostgreSQL queries (?::bigint[], ?::bytea[], ?::text[]).
//
// Every driver binds an array literal ('{…}') as text, which the server
// casts, so the stores need no driver-specific array type and stay
// driver-independent; the literal writers are [Int64s], [Byteas] and
// [Texts]. A [Binder] made [For] pgx's database/sql driver passes the
// slices themselves instead, which pgx sends as binary arrays: no hex
// literal built on one side and parsed on the other (for a 512-entry
// audit batch, about 100 KiB of text). The choice is made from the
// driver's type alone, so no store imports pgx.
package pgarray

import (
	"encoding/hex"
	"strconv"
)

// Int64s returns v as a bigint[] literal.
func Int64s(v []int64) string {
	b := make([]byte, 0, 2+len(v)*8)
	b = append(b, '{')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, x, 10)
	}
	return string(append(b, '}'))
}

// Byteas returns v as a bytea[] literal: "\\x<hex>" elements (the
// backslash escaped for the array parser), NULL for a nil element.
func Byteas(v [][]byte) string {
	n := 2
	for _, x := range v {
		n += 2*len(x) + 6
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		if x == nil {
			b = append(b, "NULL"...)
			continue
		}
		b = append(b, `"\\x`...)
		b = hex.AppendEncode(b, x)
		b = append(b, '"')
	}
	return string(append(b, '}'))
}

// Texts returns v as a text[] literal: every element quoted, '"' and '\'
// escaped with a backslash (a text value holds no NUL in PostgreSQL).
func Texts(v []string) string {
	n := 2
	for _, x := range v {
		n += len(x) + 3
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(x); j++ {
			if x[j] == '"' || x[j] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, x[j])
		}
		b = append(b, '"')
	}
	return string(append(b, '}'))
}
