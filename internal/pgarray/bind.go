package pgarray

import (
	"database/sql/driver"
	"reflect"
)

// A Binder turns Go slices into the arguments of ?::bigint[], ?::bytea[]
// and ?::text[] placeholders: the slices themselves on a driver that
// encodes them as PostgreSQL arrays (pgx's database/sql driver, which
// sends them in binary and needs no literal built and parsed), array
// literals on any other. The zero Binder writes literals.
type Binder struct{ native bool }

// For returns the Binder for drv, the driver of the host's *sql.DB
// (db.Driver()). It looks at drv's type alone: no query, no import of
// the driver. A driver wrapped by another (a tracing or metrics wrapper)
// is not recognised and gets literals, which every driver binds.
func For(drv driver.Driver) Binder { return Binder{native: nativeDriver(drv)} }

// nativeDriver reports whether drv is github.com/jackc/pgx/v5/stdlib's,
// whose default type map encodes []int64, [][]byte (a nil element as
// NULL) and []string as bigint[], bytea[] and text[] in every query
// execution mode, the simple protocol included.
func nativeDriver(drv driver.Driver) bool {
	t := reflect.TypeOf(drv)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && t.PkgPath() == "github.com/jackc/pgx/v5/stdlib"
}

// Native reports whether b binds the slices themselves.
func (b Binder) Native() bool { return b.native }

// Int64s returns the argument for a bigint[] placeholder.
func (b Binder) Int64s(v []int64) any {
	if b.native {
		if v == nil {
			v = []int64{} // an empty array, as the literal "{}" is, not NULL
		}
		return v
	}
	return Int64s(v)
}

// Byteas returns the argument for a bytea[] placeholder; a nil element is
// NULL.
func (b Binder) Byteas(v [][]byte) any {
	if b.native {
		if v == nil {
			v = [][]byte{}
		}
		return v
	}
	return Byteas(v)
}

// Texts returns the argument for a text[] placeholder.
func (b Binder) Texts(v []string) any {
	if b.native {
		if v == nil {
			v = []string{}
		}
		return v
	}
	return Texts(v)
}
