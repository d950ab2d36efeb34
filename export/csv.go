package export

import (
	"bufio"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

// A CSV file (RFC 4180, CRLF line ends, UTF-8) holds a dataset's records
// flattened, one row per record. Its columns are id, time, category,
// activity and provided, then one column per flattened field path in
// byte order of the path, then, only if a dataset has more than
// MaxColumns paths, the column "(more)":
//
//   - a nested object's members become columns of their own, their path
//     joined with ".": {"address": {"city": "Berlin"}} is the column
//     "address.city". An empty object is the cell "{}" in its own column.
//   - an array is one cell, holding its JSON text: ["a","b"] is
//     `["a","b"]`.
//   - a []byte is standard base64; a time is RFC 3339 in UTC with
//     nanoseconds; a value with a MarshalText method is its text; null is
//     an empty cell; a string that is not valid UTF-8 has each run of
//     invalid bytes replaced by U+FFFD.
//   - a key that holds a "." flattens to the same column as the nested
//     path it spells ({"a.b": 1} and {"a": {"b": 1}} are both "a.b");
//     when one record has both, the second in byte order of the keys goes
//     into the "(more)" cell. The JSON file keeps them apart.
//   - the paths after the first MaxColumns of a dataset (or once its
//     column names reach 256 KiB together) go into the "(more)" cell, as
//     a JSON object of path to cell text.
//
// A record without a value for a column has an empty cell. A text cell
// that a spreadsheet would take for a formula — one that begins, after
// any spaces, with =, +, -, @, a tab or a carriage return — is written
// with a leading apostrophe, as OWASP advises against CSV injection, and
// so is a header of that shape; number cells are written as they are.
// The JSON files hold the exact values; the CSV files are the
// flattened view for spreadsheets.

// MaxColumns is the most field columns a dataset's CSV file has.
const MaxColumns = 1024

// maxColumnBytes bounds the length of a dataset's column names together.
const maxColumnBytes = 256 << 10

// moreColumn is the column of the paths past MaxColumns.
const moreColumn = "(more)"

var fixedColumns = []string{"id", "time", "category", "activity", "provided"}

// columns is one dataset's registry of flattened paths.
type columns struct {
	index map[string]int // path → column number among the field columns
	names []string
	bytes int      // the names' length together
	seen  []uint64 // by column: the row that last filled it
	row   uint64   // the row being flattened, from 1
	more  bool     // some record had paths past MaxColumns
}

// a cell of a spooled row: its column, whether its text comes from a
// string (and so may need the apostrophe), and the text.
const (
	cellMore  = -1 // the (more) column
	cellFixed = -2 // fixedColumns start below: -2 - i
	colBias   = 8  // added to a column number so every code is positive
)

// rowEncoder flattens records into spooled rows: for each cell a uvarint
// of (column+colBias)<<1 | text, a uvarint length and the bytes; a 0 ends the
// row.
type rowEncoder struct {
	cols  *columns
	buf   []byte
	more  []byte // the (more) cell's JSON being built
	path  []byte
	enc   encoder // for arrays' JSON text
	value []byte
}

func (r *rowEncoder) cell(col int, text bool, v []byte) {
	c := uint64(col+colBias) << 1
	if text {
		c |= 1
	}
	r.buf = binary.AppendUvarint(r.buf, c)
	r.buf = binary.AppendUvarint(r.buf, uint64(len(v)))
	r.buf = append(r.buf, v...)
}

func (r *rowEncoder) fixed(i int, text bool, v []byte) { r.cell(cellFixed-i, text, v) }

// row appends rec's spooled row to r.buf. The record was encoded as JSON
// first, so its values are known to be representable.
func (r *rowEncoder) row(rec *gdpr.Record) error {
	r.fixed(0, true, []byte(rec.ID))
	if !rec.Time.IsZero() {
		r.fixed(1, false, rec.Time.UTC().AppendFormat(r.value[:0], time.RFC3339Nano))
	}
	if rec.Category != "" {
		r.fixed(2, true, []byte(rec.Category))
	}
	if rec.Activity != "" {
		r.fixed(3, true, []byte(rec.Activity))
	}
	r.fixed(4, false, []byte(strconv.FormatBool(rec.Provided)))
	r.more = r.more[:0]
	r.path = r.path[:0]
	r.cols.row++
	if err := r.object(rec.Fields); err != nil {
		return err
	}
	if len(r.more) > 0 {
		r.more = append(r.more, '}')
		r.more[0] = '{'
		r.cell(cellMore, true, r.more)
	}
	r.buf = append(r.buf, 0)
	return nil
}

func (r *rowEncoder) object(m map[string]any) error {
	for _, k := range sortedKeys(m) {
		n := len(r.path)
		if n > 0 {
			r.path = append(r.path, '.')
		}
		r.path = append(r.path, k...)
		if err := r.field(m[k]); err != nil {
			return err
		}
		r.path = r.path[:n]
	}
	return nil
}

func (r *rowEncoder) field(v any) error {
	if m, ok := v.(map[string]any); ok && len(m) > 0 {
		return r.object(m)
	}
	text := false
	b := r.value[:0]
	switch v := v.(type) {
	case nil:
	case string:
		text = true
		if utf8.ValidString(v) {
			b = append(b, v...)
		} else {
			b = append(b, strings.ToValidUTF8(v, "\uFFFD")...)
		}
	case bool:
		b = strconv.AppendBool(b, v)
	case []byte:
		text = true // base64 may begin with "+"
		b = base64.StdEncoding.AppendEncode(b, v)
	case time.Time:
		b = v.UTC().AppendFormat(b, time.RFC3339Nano)
	case json.Number:
		b = append(b, v...)
	case map[string]any:
		b = append(b, "{}"...)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		r.enc.buf = r.enc.buf[:0]
		if err := r.enc.value(v, 0); err != nil {
			return err
		}
		b = append(b, r.enc.buf...)
	case encoding.TextMarshaler:
		t, err := v.MarshalText()
		if err != nil {
			return &errValue{string(r.path), "a value whose MarshalText fails"}
		}
		text = true
		b = append(b, strings.ToValidUTF8(string(t), "\uFFFD")...)
	default:
		rv := reflect.ValueOf(v)
		switch {
		case rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String && !rv.IsNil():
			m := make(map[string]any, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				m[it.Key().String()] = it.Value().Interface()
			}
			return r.field(m)
		case rv.Kind() == reflect.String:
			return r.field(rv.String())
		}
		// arrays and everything else: the JSON text
		r.enc.buf = r.enc.buf[:0]
		r.enc.types = r.enc.types[:0]
		if err := r.enc.value(v, 0); err != nil {
			return err
		}
		text = true
		b = append(b, r.enc.buf...)
	}
	r.value = b
	col, ok := r.cols.index[string(r.path)]
	if ok && r.cols.seen[col] == r.cols.row {
		// a key with a "." that spells a nested path this record has
		// too: the second value goes to (more) rather than over the first
		r.cols.more = true
		r.more = append(r.more, ',')
		r.more = appendString(r.more, strings.ToValidUTF8(string(r.path), "\uFFFD"))
		r.more = append(r.more, ':')
		r.more = appendString(r.more, string(b))
		return nil
	}
	if !ok {
		if len(r.cols.names) >= MaxColumns || r.cols.bytes+len(r.path) > maxColumnBytes {
			r.cols.more = true
			r.more = append(r.more, ',')
			r.more = appendString(r.more, strings.ToValidUTF8(string(r.path), "\uFFFD"))
			r.more = append(r.more, ':')
			r.more = appendString(r.more, string(b))
			return nil
		}
		col = len(r.cols.names)
		name := string(r.path)
		r.cols.bytes += len(name)
		r.cols.index[name] = col
		r.cols.names = append(r.cols.names, name)
		r.cols.seen = append(r.cols.seen, 0)
	}
	r.cols.seen[col] = r.cols.row
	r.cell(col, text, b)
	return nil
}

// header returns the CSV header and, for each spooled column number
// (field columns from 0, then cellMore and the fixed ones), its position.
func (c *columns) header() (names []string, pos map[int]int) {
	order := make([]int, len(c.names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(c.names[a], c.names[b]) })
	pos = make(map[int]int, len(c.names)+len(fixedColumns)+1)
	names = append(names, fixedColumns...)
	for i := range fixedColumns {
		pos[cellFixed-i] = i
	}
	for _, col := range order {
		pos[col] = len(names)
		names = append(names, strings.ToValidUTF8(c.names[col], "\uFFFD"))
	}
	if c.more {
		pos[cellMore] = len(names)
		names = append(names, moreColumn)
	}
	return names, pos
}

// rowReader reads spooled rows back.
type rowReader struct {
	r     *bufio.Reader
	pos   map[int]int
	cells []string
	text  []bool
	buf   []byte
}

var errSpool = errors.New("export: spool corrupted")

// next reads one row into rr.cells (and whether each is text); io.EOF at
// the end.
func (rr *rowReader) next() error {
	for i := range rr.cells {
		rr.cells[i] = ""
		rr.text[i] = false
	}
	first := true
	for {
		c, err := binary.ReadUvarint(rr.r)
		if err != nil {
			if first && err == io.EOF {
				return io.EOF
			}
			return errSpool
		}
		first = false
		if c == 0 {
			return nil
		}
		n, err := binary.ReadUvarint(rr.r)
		if err != nil || n > 1<<31 {
			return errSpool
		}
		if uint64(cap(rr.buf)) < n {
			rr.buf = make([]byte, n)
		}
		b := rr.buf[:n]
		if _, err := io.ReadFull(rr.r, b); err != nil {
			return errSpool
		}
		col := int(c>>1) - colBias
		p, ok := rr.pos[col]
		if !ok {
			return errSpool
		}
		rr.cells[p] = string(b)
		rr.text[p] = c&1 == 1
	}
}

// needsQuote reports whether a text cell would be taken for a formula.
func needsApostrophe(s string) bool {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return true
	}
	// the full-width forms some spreadsheets accept as well
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '＝', '＋', '－', '＠':
		return true
	}
	return false
}

func inert(s string) string {
	if needsApostrophe(s) {
		return "'" + s
	}
	return s
}

// csvWriter writes a dataset's CSV rows.
type csvWriter struct {
	w   *csv.Writer
	rec []string
}

func newCSVWriter(w io.Writer) *csvWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &csvWriter{w: cw}
}

func (c *csvWriter) header(names []string) error {
	c.rec = c.rec[:0]
	for _, n := range names {
		c.rec = append(c.rec, inert(n))
	}
	return c.w.Write(c.rec)
}

func (c *csvWriter) row(cells []string, text []bool) error {
	c.rec = c.rec[:0]
	for i, s := range cells {
		if text[i] {
			s = inert(s)
		}
		c.rec = append(c.rec, s)
	}
	return c.w.Write(c.rec)
}

func (c *csvWriter) flush() error {
	c.w.Flush()
	return c.w.Error()
}
