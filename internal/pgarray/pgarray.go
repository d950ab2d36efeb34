// Package pgarray writes PostgreSQL array literals ('{…}'), which every
// driver binds as text and the server casts (?::bigint[], ?::bytea[],
// ?::text[]), so that the SQL stores need no driver-specific array type
// and stay driver-independent.
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
