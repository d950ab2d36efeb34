package sqlretention

import (
	"database/sql/driver"
	"fmt"
	"io"
	"strconv"
)

// Mask says how one column of an anonymised row is changed: the pieces
// of an anonymisation strategy (Table.Strategies). Null, Fixed and
// Truncate are done by the database, in one UPDATE of the batch's rows;
// Pseudonym and Func are done in Go, on the values read in the batch's
// transaction, one UPDATE a row.
//
// A NULL stays NULL under every mask but Fixed: Truncate of NULL is NULL,
// and Pseudonym and Func are not called for it. Fixed writes its value
// over NULLs too.
//
// Which masks fit which columns:
//
//   - Null fits every type; the column must be nullable.
//   - Fixed fits every type, with a value the driver binds to the
//     column's type: a string for text, varchar and json/jsonb (the JSON
//     text), an int64 for integers, a string or float64 for
//     numeric/decimal, a bool for boolean (on MySQL/MariaDB and SQLite
//     an int64 as well), a time.Time for date and timestamp columns,
//     a []byte for bytea/blob.
//   - Truncate fits text columns (char, varchar, text; it keeps the
//     first n characters) and binary ones (bytea, blob, varbinary: the
//     first n bytes). Other types are refused by the database when the
//     batch runs: PostgreSQL knows no substring of an integer or a
//     jsonb, and cutting a JSON text short would not leave JSON.
//   - Pseudonym fits text columns wide enough for the pseudonym.
//   - Func fits every type: it gets the value as the driver reads it and
//     returns one the driver binds to the column.
//
// The zero Mask is invalid; NewDeleter refuses it.
type Mask struct {
	col  string
	kind maskKind
	// value is Fixed's constant; n Truncate's length; p Pseudonym's
	// keyed function; fn Func's function.
	value any
	n     int
	p     Pseudonymiser
	fn    func(v any) (any, error)
}

type maskKind uint8

const (
	maskInvalid maskKind = iota
	maskNull
	maskFixed
	maskTruncate
	maskPseudonym
	maskFunc
)

// Column returns the column the mask changes.
func (m Mask) Column() string { return m.col }

// String describes the mask without its value: "Null(email)",
// "Fixed(country)", "Truncate(name, 1)", "Pseudonym(email)", "Func(ip)".
// Fixed's constant is not shown: it is the host's, and may be anything.
func (m Mask) String() string {
	switch m.kind {
	case maskNull:
		return "Null(" + m.col + ")"
	case maskFixed:
		return "Fixed(" + m.col + ")"
	case maskTruncate:
		return "Truncate(" + m.col + ", " + strconv.Itoa(m.n) + ")"
	case maskPseudonym:
		return "Pseudonym(" + m.col + ")"
	case maskFunc:
		return "Func(" + m.col + ")"
	}
	return "Mask(invalid)"
}

// GoString is String: %#v shows no Fixed value, Func or Pseudonymiser
// either.
func (m Mask) GoString() string { return "sqlretention." + m.String() }

// Format prints String under every verb but %#v, which prints
// GoString, so that no Fixed value reaches fmt through a Mask, a
// []Mask or a Table.
func (m Mask) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, m.GoString())
		return
	}
	io.WriteString(f, m.String())
}

// Null sets column to NULL.
func Null(column string) Mask { return Mask{col: column, kind: maskNull} }

// Fixed sets column to the constant v, bound as a parameter: the same
// value for every row, NULLs included. v must be a value database/sql
// binds (an integer, float, bool, string, []byte or time.Time, a
// pointer to one, or a driver.Valuer) of a type the column takes (see
// Mask); nil is Null.
func Fixed(column string, v any) Mask { return Mask{col: column, kind: maskFixed, value: v} }

// Truncate keeps the first n characters of a text value (bytes of a
// binary one), n ≥ 0; a shorter value and NULL stay as they are. It is
// done by the database: SUBSTRING(col FROM 1 FOR n) on PostgreSQL,
// LEFT(col, n) on MySQL/MariaDB, SUBSTR(col, 1, n) on SQLite, all three
// counting characters of text and bytes of binary values.
func Truncate(column string, n int) Mask { return Mask{col: column, kind: maskTruncate, n: n} }

// Pseudonymiser computes keyed pseudonyms: the same domain and value
// give the same pseudonym, and without the key a pseudonym reveals
// nothing of the value. *retention.Pseudonymiser meets it. It must be
// safe for concurrent use.
type Pseudonymiser interface {
	Pseudonym(domain, value string) string
}

// Pseudonym replaces the text value of column with p.Pseudonym(domain,
// value), where domain is "<table>.<column>", so equal values of one
// column keep equal pseudonyms and a column's pseudonyms do not match
// another's. It is done in Go: the batch reads the values and writes the
// pseudonyms row by row in one transaction. A value that is not text
// (as the driver reads it: a string, or bytes on MySQL/MariaDB) fails
// the batch with an error that does not show it. NULL stays NULL.
//
// A pseudonym is personal data while its key exists (Art. 4(5), Recital
// 26): see the retention package's section on anonymisation.
func Pseudonym(column string, p Pseudonymiser) Mask {
	return Mask{col: column, kind: maskPseudonym, p: p}
}

// Func replaces the value of column with fn(value), computed in Go for
// anything the other masks do not do: truncating an IP address
// (retention.TruncateIPString), coarsening a time, an age band. fn gets
// the value as the driver reads it into an any, never nil (NULL stays
// NULL without a call): text as a string on every database; integers
// as an int64; booleans as a bool on PostgreSQL, an int64 on
// MySQL/MariaDB and SQLite; numeric/decimal as a string, on SQLite a
// float64 (it keeps them as REAL); dates and timestamps as a time.Time
// (on MySQL/MariaDB read without parseTime, parsed as UTC); bytea/blob
// as a []byte; json/jsonb as a []byte on PostgreSQL, a string on
// MariaDB and SQLite (the integration tests check each). It returns the
// value to store, of a type the driver binds to the column (nil stores
// NULL). An error fails the batch and rolls back every change of it;
// the Deleter's error wraps fn's error (errors.Is and errors.As find
// it) but does not repeat its text, which may quote the value. fn must
// be safe for concurrent use when different sweeps share the Deleter.
func Func(column string, fn func(v any) (any, error)) Mask {
	return Mask{col: column, kind: maskFunc, fn: fn}
}

// validMask reports what is wrong with m, apart from its column name.
func validMask(m Mask) string {
	switch m.kind {
	case maskNull:
	case maskFixed:
		if m.value == nil {
			return ""
		}
		if _, ok := m.value.(driver.Valuer); ok {
			return ""
		}
		if _, err := driver.DefaultParameterConverter.ConvertValue(m.value); err != nil {
			return "Fixed's value is of a type database/sql cannot bind"
		}
	case maskTruncate:
		if m.n < 0 {
			return "Truncate's length must not be negative"
		}
	case maskPseudonym:
		if m.p == nil {
			return "Pseudonym needs a Pseudonymiser"
		}
	case maskFunc:
		if m.fn == nil {
			return "Func needs a function"
		}
	default:
		return "the zero Mask: make one with Null, Fixed, Truncate, Pseudonym or Func"
	}
	return ""
}
