package export

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

// A data file holds one dataset's records as a JSON array, one record
// object per line:
//
//	[
//	{"id":"1","time":"2026-05-01T10:00:00Z","category":"contact","activity":"newsletter","provided":true,"fields":{"email":"…"}},
//	{"id":"2","provided":false,"fields":{"photo":"iVBORw0…"},"types":{"/photo":"bytes"}}
//	]
//
// The members are always in that order; "time", "category" and
// "activity" are left out when empty, "types" when no value needs it.
// Field values are plain JSON, with object members sorted by name, so a
// consumer that knows nothing of this package reads them as they are.
// Three kinds of value that JSON has no type for are written as strings,
// and "types" maps the JSON Pointer (RFC 6901) of each such value within
// "fields" to its kind, so that Open gives back exactly what was written:
//
//	"bytes"          a []byte, as standard base64
//	"binary-string"  a string that is not valid UTF-8, as standard base64
//	                 of its bytes (JSON strings are Unicode text)
//	"time"           a time.Time, as RFC 3339 in UTC with nanoseconds
//
// Numbers are written as Go's encoding/json writes them and read back as
// json.Number, which keeps every digit; integers of any size stay exact.
// Values of other types (structs, types with a MarshalJSON or MarshalText
// method, such as uuid.UUID and net.IP) are written by encoding/json and
// read back as the generic JSON value. A field name is at most 1024
// bytes of UTF-8.

// The kinds of the "types" member.
const (
	typeBytes        = "bytes"
	typeBinaryString = "binary-string"
	typeTime         = "time"
)

// maxValueDepth bounds the nesting of a record's fields.
const maxValueDepth = 64

// errValue is why a record's value cannot be written; it names the
// field's path (keys, no values).
type errValue struct{ path, why string }

func (e *errValue) Error() string { return "field " + showPath(e.path) + ": " + e.why }

// showPath renders a JSON Pointer for an error: each key as show quotes
// it (or hides it), indices as numbers, joined with ".".
func showPath(ptr string) string {
	if ptr == "" {
		return "(top)"
	}
	var b strings.Builder
	for i, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		if i > 0 {
			b.WriteByte('.')
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(tok); err == nil {
			b.WriteString(tok)
		} else {
			b.WriteString(show(tok))
		}
	}
	return b.String()
}

// encoder appends records as JSON lines and collects their "types".
type encoder struct {
	buf   []byte
	types []byte   // the "types" members of the current record
	path  []byte   // JSON Pointer of the value being written
	top   []string // the sorted keys of the last fields (see topKeys)
}

// record appends r's JSON line, without a newline, to e.buf.
func (e *encoder) record(r *gdpr.Record) error {
	e.types = e.types[:0]
	e.path = e.path[:0]
	b := append(e.buf, `{"id":`...)
	b = appendString(b, r.ID)
	if !r.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = r.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if r.Category != "" {
		b = append(b, `,"category":`...)
		b = appendString(b, r.Category)
	}
	if r.Activity != "" {
		b = append(b, `,"activity":`...)
		b = appendString(b, r.Activity)
	}
	if r.Provided {
		b = append(b, `,"provided":true,"fields":`...)
	} else {
		b = append(b, `,"provided":false,"fields":`...)
	}
	e.buf = b
	if err := e.fieldMap(r.Fields, 0); err != nil {
		return err
	}
	if len(e.types) > 0 {
		e.buf = append(e.buf, `,"types":{`...)
		e.buf = append(e.buf, e.types[1:]...) // drop the leading comma
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) fieldMap(m map[string]any, depth int) error {
	if len(m) == 0 {
		e.buf = append(e.buf, "{}"...)
		return nil
	}
	var keys []string
	if depth == 0 {
		keys = e.topKeys(m)
	} else {
		keys = sortedKeys(m)
	}
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.key(k); err != nil {
			return err
		}
		n := len(e.path)
		e.path = appendPointer(e.path, k)
		if err := e.value(m[k], depth+1); err != nil {
			return err
		}
		e.path = e.path[:n]
	}
	e.buf = append(e.buf, '}')
	return nil
}

// topKeys returns the keys of a record's fields in order: those of the
// last record if m has the same (the records of a dataset mostly do),
// which is cheaper than sorting them again.
func (e *encoder) topKeys(m map[string]any) []string {
	if len(m) == len(e.top) {
		same := true
		for _, k := range e.top {
			if _, ok := m[k]; !ok {
				same = false
				break
			}
		}
		if same {
			return e.top
		}
	}
	e.top = e.top[:0]
	for k := range m {
		e.top = append(e.top, k)
	}
	slices.Sort(e.top)
	return e.top
}

// maxKey bounds a field name: names are kept as CSV columns.
const maxKey = 1024

func (e *encoder) key(k string) error {
	if !utf8.ValidString(k) || len(k) > maxKey {
		return &errValue{string(e.path), "a field name over 1024 bytes or not valid UTF-8"}
	}
	e.buf = appendString(e.buf, k)
	e.buf = append(e.buf, ':')
	return nil
}

func (e *encoder) tag(kind string) {
	e.types = append(e.types, ',')
	e.types = appendString(e.types, string(e.path))
	e.types = append(e.types, ':', '"')
	e.types = append(e.types, kind...)
	e.types = append(e.types, '"')
}

func (e *encoder) value(v any, depth int) error {
	if depth > maxValueDepth {
		return &errValue{string(e.path), "nested too deeply"}
	}
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		if utf8.ValidString(v) {
			e.buf = appendString(e.buf, v)
		} else {
			e.buf = appendBase64(e.buf, []byte(v))
			e.tag(typeBinaryString)
		}
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, v, 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case float64:
		return e.float(v, 64)
	case float32:
		return e.float(float64(v), 32)
	case json.Number:
		if !isNumber(string(v)) {
			return &errValue{string(e.path), "a json.Number that is not a number"}
		}
		e.buf = append(e.buf, v...)
	case time.Time:
		v = v.UTC() // RFC 3339 offsets are whole minutes; some zones' are not
		if y := v.Year(); y < 0 || y > 9999 {
			return &errValue{string(e.path), "a time outside the years 0 to 9999"}
		}
		e.buf = append(e.buf, '"')
		e.buf = v.AppendFormat(e.buf, time.RFC3339Nano)
		e.buf = append(e.buf, '"')
		e.tag(typeTime)
	case []byte:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = appendBase64(e.buf, v)
		e.tag(typeBytes)
	case map[string]any:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.fieldMap(v, depth)
	case []any:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, x := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			n := len(e.path)
			e.path = append(e.path, '/')
			e.path = strconv.AppendInt(e.path, int64(i), 10)
			if err := e.value(x, depth+1); err != nil {
				return err
			}
			e.path = e.path[:n]
		}
		e.buf = append(e.buf, ']')
	case []string:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, x := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			n := len(e.path)
			e.path = append(e.path, '/')
			e.path = strconv.AppendInt(e.path, int64(i), 10)
			if err := e.value(x, depth+1); err != nil {
				return err
			}
			e.path = e.path[:n]
		}
		e.buf = append(e.buf, ']')
	case map[string]string:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = x
		}
		return e.fieldMap(m, depth)
	default:
		return e.reflectValue(v, depth)
	}
	return nil
}

// reflectValue writes the values of other types: maps with string keys,
// slices and arrays, pointers, and, through encoding/json, structs and
// types with their own JSON encoding.
func (e *encoder) reflectValue(v any, depth int) error {
	switch v.(type) {
	case json.Marshaler, encoding.TextMarshaler:
		// uuid.UUID, net.IP and the like: their text, as encoding/json
		// writes them, not the bytes they are made of
		return e.marshal(v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.value(rv.Elem().Interface(), depth+1)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return e.marshal(v)
		}
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		m := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			m[it.Key().String()] = it.Value().Interface()
		}
		return e.fieldMap(m, depth)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return e.value(b, depth)
		}
		s := make([]any, rv.Len())
		for i := range s {
			s[i] = rv.Index(i).Interface()
		}
		return e.value(s, depth)
	case reflect.String:
		return e.value(rv.String(), depth)
	case reflect.Bool:
		return e.value(rv.Bool(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return e.value(rv.Int(), depth)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return e.value(rv.Uint(), depth)
	case reflect.Float32, reflect.Float64:
		return e.float(rv.Float(), rv.Type().Bits())
	}
	return e.marshal(v)
}

func (e *encoder) marshal(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		// The error of json.Marshal may quote the value; say only why.
		var ute *json.UnsupportedTypeError
		if errors.As(err, &ute) {
			return &errValue{string(e.path), "a value of a type JSON cannot hold (" + ute.Type.String() + ")"}
		}
		return &errValue{string(e.path), "a value encoding/json cannot encode"}
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return &errValue{string(e.path), "a value whose JSON encoding is malformed"}
	}
	e.buf = append(e.buf, c.Bytes()...)
	return nil
}

// float writes f as encoding/json does.
func (e *encoder) float(f float64, bits int) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return &errValue{string(e.path), "a number that is NaN or infinite"}
	}
	e.buf = appendFloat(e.buf, f, bits)
	return nil
}

func appendFloat(b []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		m := len(b) - n
		if m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

// isNumber reports whether s is a JSON number literal, and nothing else.
func isNumber(s string) bool {
	if s == "" {
		return false
	}
	first, last := s[0], s[len(s)-1]
	return (first == '-' || '0' <= first && first <= '9') && '0' <= last && last <= '9' && json.Valid([]byte(s))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendPointer appends "/" and the JSON Pointer escape of k (RFC 6901:
// "~" as "~0", "/" as "~1").
func appendPointer(p []byte, k string) []byte {
	p = append(p, '/')
	if strings.IndexByte(k, '~') < 0 && strings.IndexByte(k, '/') < 0 {
		return append(p, k...)
	}
	for i := 0; i < len(k); i++ {
		switch k[i] {
		case '~':
			p = append(p, '~', '0')
		case '/':
			p = append(p, '~', '1')
		default:
			p = append(p, k[i])
		}
	}
	return p
}

func appendBase64(b []byte, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// appendString appends s, valid UTF-8, as a JSON string, escaped as
// encoding/json escapes it: with <, > and & as \u003c, \u003e, \u0026
// and U+2028, U+2029 escaped, so the text is safe inside HTML too.
func appendString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexd[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeRecord parses one line of a data file of dataset into a Record,
// restoring the values "types" names. It rejects what the writer never
// writes: unknown or duplicate members, a missing id or fields, a type
// tag on a path that holds no string, a time or base64 that does not
// parse.
func decodeRecord(dataset string, line []byte) (gdpr.Record, error) {
	if !utf8.Valid(line) {
		return gdpr.Record{}, errors.New("a record that is not valid UTF-8")
	}
	var raw struct {
		ID       *string           `json:"id"`
		Time     string            `json:"time"`
		Category string            `json:"category"`
		Activity string            `json:"activity"`
		Provided *bool             `json:"provided"`
		Fields   json.RawMessage   `json:"fields"`
		Types    map[string]string `json:"types"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return gdpr.Record{}, errors.New("a malformed record")
	}
	if dec.More() {
		return gdpr.Record{}, errors.New("trailing data after a record")
	}
	if err := noDuplicateMembers(line); err != nil {
		return gdpr.Record{}, err
	}
	if err := exactMembers(line); err != nil {
		return gdpr.Record{}, err
	}
	if raw.ID == nil || *raw.ID == "" || raw.Provided == nil || raw.Fields == nil {
		return gdpr.Record{}, errors.New("a record without its id, provided or fields")
	}
	r := gdpr.Record{Dataset: dataset, ID: *raw.ID, Category: raw.Category, Activity: raw.Activity, Provided: *raw.Provided}
	if raw.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, raw.Time)
		if err != nil {
			return gdpr.Record{}, errors.New("a record with a malformed time")
		}
		r.Time = t
	}
	fd := json.NewDecoder(bytes.NewReader(raw.Fields))
	fd.UseNumber()
	var fields any
	if err := fd.Decode(&fields); err != nil {
		return gdpr.Record{}, errors.New("a record with malformed fields")
	}
	m, ok := fields.(map[string]any)
	if !ok {
		return gdpr.Record{}, errors.New("a record whose fields are not an object")
	}
	for ptr, kind := range raw.Types {
		if err := restore(m, ptr, kind); err != nil {
			return gdpr.Record{}, err
		}
	}
	r.Fields = m
	return r, nil
}

// restore replaces the string at the JSON Pointer ptr in m by the value
// of kind it encodes.
func restore(m map[string]any, ptr, kind string) error {
	bad := errors.New("a record whose types name a value that is not there")
	if !strings.HasPrefix(ptr, "/") {
		return bad
	}
	tokens := strings.Split(ptr[1:], "/")
	var parent any = m
	for i, tok := range tokens {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		last := i == len(tokens)-1
		var get func() any
		var set func(any)
		switch p := parent.(type) {
		case map[string]any:
			v, ok := p[tok]
			if !ok {
				return bad
			}
			get, set = func() any { return v }, func(x any) { p[tok] = x }
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(p) || strconv.Itoa(n) != tok {
				return bad
			}
			get, set = func() any { return p[n] }, func(x any) { p[n] = x }
		default:
			return bad
		}
		if !last {
			parent = get()
			continue
		}
		s, ok := get().(string)
		if !ok {
			return bad
		}
		switch kind {
		case typeBytes, typeBinaryString:
			b, err := base64.StdEncoding.Strict().DecodeString(s)
			if err != nil {
				return errors.New("a record with malformed base64")
			}
			if kind == typeBytes {
				set(b)
			} else {
				set(string(b))
			}
		case typeTime:
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return errors.New("a record with a malformed time value")
			}
			set(t)
		default:
			return errors.New("a record with an unknown value type")
		}
	}
	return nil
}

// noDuplicateMembers rejects JSON text with an object that names a
// member twice, on which parsers disagree.
func noDuplicateMembers(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj  bool
		key  bool // the next token of an object is a key
		seen map[string]bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return errors.New("a malformed record")
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:n-1]
				continue
			}
			k := tok.(string)
			if stack[n-1].seen[k] {
				return errors.New("a record that names a member twice")
			}
			stack[n-1].seen[k] = true
			stack[n-1].key = false
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].key = true
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{obj: true, key: true, seen: map[string]bool{}})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// recordMembers are the members of a record object, as the writer spells
// them: encoding/json matches names case-insensitively, and a record
// whose "ID" and "id" differ must not read as one of them.
var recordMembers = map[string]bool{"id": true, "time": true, "category": true, "activity": true, "provided": true, "fields": true, "types": true}

// exactMembers rejects a record whose top-level members are not spelt as
// the writer spells them.
func exactMembers(line []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return errors.New("a malformed record")
	}
	for k := range top {
		if !recordMembers[k] {
			return errors.New("a record with a member this format does not have")
		}
	}
	return nil
}
