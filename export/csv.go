package export

import (
	"bufio"
	"encoding"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
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

// rowEncoder flattens records into spooled rows: a uvarint of the row's
// length, then for each cell a uvarint of (column+colBias)<<1 | text, a
// uvarint length and the bytes.
type rowEncoder struct {
	cols  *columns
	buf   []byte // the framed row
	cells []byte // the row's cells, before the frame
	more  []byte // the (more) cell's JSON being built
	path  []byte
	enc   encoder // for arrays' JSON text
	value []byte
	// top is the sorted keys of the last record's fields, and vals
	// their values: records of a dataset mostly have the same keys, so
	// checking that a record has the keys of the last one is cheaper
	// than sorting them again. keys are the scratch slices of the
	// nested objects, by depth.
	top   []string
	vals  []any
	keys  [][]string
	depth int
}

func (r *rowEncoder) code(col int, text bool, n int) {
	c := uint64(col+colBias) << 1
	if text {
		c |= 1
	}
	r.cells = binary.AppendUvarint(r.cells, c)
	r.cells = binary.AppendUvarint(r.cells, uint64(n))
}

func (r *rowEncoder) cell(col int, text bool, v []byte) {
	r.code(col, text, len(v))
	r.cells = append(r.cells, v...)
}

func (r *rowEncoder) cellString(col int, text bool, v string) {
	r.code(col, text, len(v))
	r.cells = append(r.cells, v...)
}

// row sets r.buf to rec's spooled row. The record was encoded as JSON
// first, so its values are known to be representable.
func (r *rowEncoder) row(rec *gdpr.Record) error {
	r.cells = r.cells[:0]
	r.cellString(cellFixed, true, rec.ID)
	if !rec.Time.IsZero() {
		r.value = rec.Time.UTC().AppendFormat(r.value[:0], time.RFC3339Nano)
		r.cell(cellFixed-1, false, r.value)
	}
	if rec.Category != "" {
		r.cellString(cellFixed-2, true, rec.Category)
	}
	if rec.Activity != "" {
		r.cellString(cellFixed-3, true, rec.Activity)
	}
	r.cellString(cellFixed-4, false, strconv.FormatBool(rec.Provided))
	r.more = r.more[:0]
	r.path = r.path[:0]
	r.depth = 0
	r.cols.row++
	if err := r.object(rec.Fields); err != nil {
		return err
	}
	if len(r.more) > 0 {
		r.more = append(r.more, '}')
		r.more[0] = '{'
		r.cell(cellMore, true, r.more)
	}
	r.buf = binary.AppendUvarint(r.buf[:0], uint64(len(r.cells)))
	r.buf = append(r.buf, r.cells...)
	return nil
}

// sameKeys reports whether m has exactly the keys of r.top, and if so
// leaves their values in r.vals.
func (r *rowEncoder) sameKeys(m map[string]any) bool {
	if len(m) != len(r.top) || len(m) == 0 {
		return false
	}
	r.vals = r.vals[:0]
	for _, k := range r.top {
		v, ok := m[k]
		if !ok {
			return false
		}
		r.vals = append(r.vals, v)
	}
	return true
}

func (r *rowEncoder) object(m map[string]any) error {
	if r.depth == 0 {
		if !r.sameKeys(m) {
			r.top = appendSortedKeys(r.top[:0], m)
			r.vals = r.vals[:0]
			for _, k := range r.top {
				r.vals = append(r.vals, m[k])
			}
		}
		// r.top and r.vals stay as they are below depth 0. On an error
		// the depth is left as it is: the row is abandoned.
		r.depth++
		for i, k := range r.top {
			if err := r.member(k, r.vals[i]); err != nil {
				return err
			}
		}
		r.depth--
		return nil
	}
	d := r.depth
	if len(r.keys) < d {
		r.keys = append(r.keys, nil)
	}
	keys := appendSortedKeys(r.keys[d-1][:0], m)
	r.keys[d-1] = keys
	r.depth++
	for _, k := range keys {
		if err := r.member(k, m[k]); err != nil {
			return err
		}
	}
	r.depth--
	return nil
}

func (r *rowEncoder) member(k string, v any) error {
	n := len(r.path)
	if n > 0 {
		r.path = append(r.path, '.')
	}
	r.path = append(r.path, k...)
	if err := r.field(v); err != nil {
		return err
	}
	r.path = r.path[:n]
	return nil
}

// appendSortedKeys appends m's keys, in byte order, to keys.
func appendSortedKeys(keys []string, m map[string]any) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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
		if utf8.ValidString(v) {
			// the common case, without a copy
			if col, ok := r.column(); ok {
				r.cellString(col, true, v)
				return nil
			}
			b = append(b, v...)
		} else {
			b = append(b, strings.ToValidUTF8(v, "\uFFFD")...)
		}
		text = true
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
	case int:
		b = strconv.AppendInt(b, int64(v), 10)
	case int64:
		b = strconv.AppendInt(b, v, 10)
	case int8, int16, int32, uint, uint8, uint16, uint32, uint64, float32, float64:
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
	col, ok := r.column()
	if !ok {
		r.more = append(r.more, ',')
		r.more = appendString(r.more, strings.ToValidUTF8(string(r.path), "\uFFFD"))
		r.more = append(r.more, ':')
		r.more = appendString(r.more, string(b))
		return nil
	}
	r.cell(col, text, b)
	return nil
}

// column returns the column of r.path for this row, registering it if
// new; false if its value goes into (more): the dataset has MaxColumns
// (or maxColumnBytes of names) already, or a key with a "." spells a
// nested path this record has too, whose value the column holds.
func (r *rowEncoder) column() (int, bool) {
	col, ok := r.cols.index[string(r.path)]
	if ok && r.cols.seen[col] == r.cols.row {
		r.cols.more = true
		return 0, false
	}
	if !ok {
		if len(r.cols.names) >= MaxColumns || r.cols.bytes+len(r.path) > maxColumnBytes {
			r.cols.more = true
			return 0, false
		}
		col = len(r.cols.names)
		name := string(r.path)
		r.cols.bytes += len(name)
		r.cols.index[name] = col
		r.cols.names = append(r.cols.names, name)
		r.cols.seen = append(r.cols.seen, 0)
	}
	r.cols.seen[col] = r.cols.row
	return col, true
}

// header returns the CSV header and, for each spooled column code
// (column+colBias: the fixed columns, cellMore, then the field columns
// from colBias), its position in the header, -1 for none.
func (c *columns) header() (names []string, pos []int) {
	order := make([]int, len(c.names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(c.names[a], c.names[b]) })
	pos = make([]int, colBias+len(c.names))
	for i := range pos {
		pos[i] = -1
	}
	names = append(names, fixedColumns...)
	for i := range fixedColumns {
		pos[cellFixed-i+colBias] = i
	}
	for _, col := range order {
		pos[col+colBias] = len(names)
		names = append(names, strings.ToValidUTF8(c.names[col], "\uFFFD"))
	}
	if c.more {
		pos[cellMore+colBias] = len(names)
		names = append(names, moreColumn)
	}
	return names, pos
}

// rowReader reads spooled rows back.
type rowReader struct {
	r     *bufio.Reader
	pos   []int
	cells [][]byte // into buf, valid until the next call of next
	text  []bool
	buf   []byte
}

func newRowReader(r *bufio.Reader, names []string, pos []int) *rowReader {
	return &rowReader{r: r, pos: pos, cells: make([][]byte, len(names)), text: make([]bool, len(names))}
}

var errSpool = errors.New("export: spool corrupted")

// next reads one row into rr.cells (and whether each is text); io.EOF at
// the end.
func (rr *rowReader) next() error {
	clear(rr.cells)
	clear(rr.text)
	n, err := binary.ReadUvarint(rr.r)
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return errSpool
	}
	if n > 1<<31 {
		return errSpool
	}
	if uint64(cap(rr.buf)) < n {
		rr.buf = make([]byte, n)
	}
	b := rr.buf[:n]
	if _, err := io.ReadFull(rr.r, b); err != nil {
		return errSpool
	}
	for len(b) > 0 {
		c, k := binary.Uvarint(b)
		if k <= 0 {
			return errSpool
		}
		b = b[k:]
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return errSpool
		}
		b = b[k:]
		col := c >> 1
		if col >= uint64(len(rr.pos)) || rr.pos[col] < 0 {
			return errSpool
		}
		p := rr.pos[col]
		rr.cells[p] = b[:l:l]
		rr.text[p] = c&1 == 1
		b = b[l:]
	}
	return nil
}

// strings returns the row's cells as strings.
func (rr *rowReader) strings(out []string) []string {
	out = out[:0]
	for _, c := range rr.cells {
		out = append(out, string(c))
	}
	return out
}

// needsApostrophe reports whether a text cell would be taken for a
// formula.
func needsApostrophe(s []byte) bool {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i == len(s) {
		return false
	}
	switch s[i] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return true
	case 0xEF:
		// the full-width forms some spreadsheets accept as well:
		// U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠ (EF BC 9D, EF BC 8B,
		// EF BC 8D, EF BC A0)
		if i+2 < len(s) && s[i+1] == 0xBC {
			switch s[i+2] {
			case 0x9D, 0x8B, 0x8D, 0xA0:
				return true
			}
		}
	}
	return false
}

// csvWriter writes a dataset's CSV rows as encoding/csv writes them
// with UseCRLF, byte for byte, straight from the spooled cells.
type csvWriter struct {
	w *bufio.Writer
}

func newCSVWriter(w *bufio.Writer) *csvWriter { return &csvWriter{w: w} }

func (c *csvWriter) header(names []string) error {
	for i, n := range names {
		if i > 0 {
			c.w.WriteByte(',')
		}
		b := []byte(n)
		writeCell(c.w, needsApostrophe(b), b)
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

func (c *csvWriter) row(cells [][]byte, text []bool) error {
	for i, s := range cells {
		if i > 0 {
			c.w.WriteByte(',')
		}
		writeCell(c.w, text[i] && needsApostrophe(s), s)
	}
	_, err := c.w.WriteString("\r\n")
	return err
}

// writeCell writes one cell, after an apostrophe if apos, quoted as
// encoding/csv quotes: a cell is quoted if it holds a comma, a quote, a
// CR or an LF, if it is \. or if it begins with a Unicode space; in a
// quoted cell a quote is doubled, an LF is written as CRLF and a CR is
// left out (encoding/csv's UseCRLF).
func writeCell(w *bufio.Writer, apos bool, s []byte) {
	quote := false
	if len(s) > 0 || apos {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '\n' || c == '\r' || c == '"' || c == ',' {
				quote = true
				break
			}
		}
		if !quote && !apos {
			if string(s) == `\.` {
				quote = true
			} else if s[0] < utf8.RuneSelf {
				quote = asciiSpace[s[0]]
			} else {
				r, _ := utf8.DecodeRune(s)
				quote = unicode.IsSpace(r)
			}
		}
	}
	if !quote {
		if apos {
			w.WriteByte('\'')
		}
		w.Write(s)
		return
	}
	w.WriteByte('"')
	if apos {
		w.WriteByte('\'')
	}
	for len(s) > 0 {
		i := 0
		for i < len(s) && s[i] != '"' && s[i] != '\r' && s[i] != '\n' {
			i++
		}
		w.Write(s[:i])
		if i == len(s) {
			break
		}
		switch s[i] {
		case '"':
			w.WriteString(`""`)
		case '\n':
			w.WriteString("\r\n")
		}
		s = s[i+1:]
	}
	w.WriteByte('"')
}

var asciiSpace = [utf8.RuneSelf]bool{'\t': true, '\n': true, '\v': true, '\f': true, '\r': true, ' ': true}
