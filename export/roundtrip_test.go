package export_test

// Round trips of whole bundles, and the reader against tampered ones:
// what a subject, a receiving controller and a spreadsheet user rely on
// when they take a bundle apart again.

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/export"
)

var rtNow = time.Date(2026, 7, 1, 8, 30, 0, 0, time.UTC)

// rtRegister has an activity on each kind of basis that matters to
// portability.
var rtRegister = &gdpr.Register{
	Controller: gdpr.Party{Name: "Roundtrip Shop GmbH", Email: "privacy@roundtrip.example"},
	Activities: []gdpr.Activity{
		{
			ID: "newsletter", Name: "Newsletter", Basis: gdpr.Consent, SubjectCategories: []string{"subscribers"},
			DataCategories: []gdpr.Category{{ID: "contact"}}, Retention: gdpr.RetentionRule{Description: "until withdrawn"},
		},
		{
			ID: "shop", Name: "Orders", Basis: gdpr.Contract, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "orders"}}, Retention: gdpr.RetentionRule{Description: "10 years"},
		},
		{
			ID: "fraud", Name: "Fraud prevention", Basis: gdpr.LegitimateInterests, LegitimateInterestAssessment: "LIA-1",
			SubjectCategories: []string{"customers"}, DataCategories: []gdpr.Category{{ID: "device"}},
			Retention: gdpr.RetentionRule{Description: "90 days"},
		},
		{
			ID: "health", Name: "Health diary", Basis: gdpr.ExplicitConsent, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "diary"}}, Retention: gdpr.RetentionRule{Description: "until deleted"},
		},
	},
}

var rtAccess = gdpr.Request{ID: "req-rt", Kind: gdpr.KindAccess, Subject: "s-rt"}

func rtKey(t *testing.T) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return pub, key
}

func rtSource(recs ...gdpr.Record) gdpr.Exporter {
	return gdpr.ExporterFunc(func(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
		for _, r := range recs {
			if err := w.WriteRecord(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// rtBuilder returns a Builder over recs (one source, "crm"), with
// rtRegister and the fixed clock before opts.
func rtBuilder(t *testing.T, key ed25519.PrivateKey, recs []gdpr.Record, opts ...export.Option) *export.Builder {
	t.Helper()
	all := append([]export.Option{
		export.WithRegister(rtRegister),
		export.WithClock(func() time.Time { return rtNow }),
		export.WithSources(export.Source{Name: "crm", Exporter: rtSource(recs...)}),
	}, opts...)
	b, err := export.New(key, all...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rtWrite(t *testing.T, b *export.Builder, r gdpr.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := b.Write(context.Background(), &buf, r); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func rtOpenErr(data []byte, pub ed25519.PublicKey, opts ...export.ReadOption) (*export.Bundle, error) {
	return export.Open(bytes.NewReader(data), int64(len(data)), pub, opts...)
}

func rtOpen(t *testing.T, data []byte, pub ed25519.PublicKey, opts ...export.ReadOption) *export.Bundle {
	t.Helper()
	bd, err := rtOpenErr(data, pub, opts...)
	if err != nil {
		t.Fatalf("Open of an untouched bundle: %v", err)
	}
	return bd
}

func rtRecords(t *testing.T, bd *export.Bundle, dataset string) []gdpr.Record {
	t.Helper()
	var out []gdpr.Record
	for r, err := range bd.Records(context.Background(), dataset) {
		if err != nil {
			t.Fatalf("Records(%s): %v", dataset, err)
		}
		out = append(out, r)
	}
	return out
}

func rtFile(t *testing.T, bd *export.Bundle, part int, path string) []byte {
	t.Helper()
	rc, err := bd.File(part, path)
	if err != nil {
		t.Fatalf("File(%d, %s): %v", part, path, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return data
}

func rtZip(t *testing.T, data []byte) *zip.Reader {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// rtCopyRaw copies f into zw under name, its compressed bytes as they
// are.
func rtCopyRaw(t *testing.T, zw *zip.Writer, f *zip.File, name string) {
	t.Helper()
	r, err := f.OpenRaw()
	if err != nil {
		t.Fatal(err)
	}
	fh := f.FileHeader
	fh.Name = name
	w, err := zw.CreateRaw(&fh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, r); err != nil {
		t.Fatal(err)
	}
}

// rtAdd writes a fresh deflated entry.
func rtAdd(t *testing.T, zw *zip.Writer, name string, content []byte) {
	t.Helper()
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: rtNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
}

// rtRebuild rebuilds data's archive entry by entry: edit is called for
// each entry in order and writes what replaces it (nothing, to drop it).
func rtRebuild(t *testing.T, data []byte, edit func(zw *zip.Writer, f *zip.File)) []byte {
	t.Helper()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range rtZip(t, data).File {
		edit(zw, f)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// rtReplace rebuilds data's archive with the entries named in repl
// replaced by new content, every other entry copied raw.
func rtReplace(t *testing.T, data []byte, repl map[string][]byte) []byte {
	t.Helper()
	return rtRebuild(t, data, func(zw *zip.Writer, f *zip.File) {
		if c, ok := repl[f.Name]; ok {
			rtAdd(t, zw, f.Name, c)
			return
		}
		rtCopyRaw(t, zw, f, f.Name)
	})
}

func rtEntry(t *testing.T, data []byte, name string) []byte {
	t.Helper()
	for _, f := range rtZip(t, data).File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no entry %s", name)
	return nil
}

func rtManifest(t *testing.T, data []byte) *export.Manifest {
	t.Helper()
	var m export.Manifest
	if err := json.Unmarshal(rtEntry(t, data, export.ManifestPath), &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

// rtSign signs m with key as the format documents it, without this
// package: Ed25519 over "gdpr-export/1 manifest\n" and the JCS of the
// manifest without its "signature" member. It returns manifest.json.
func rtSign(t *testing.T, m *export.Manifest, key ed25519.PrivateKey) []byte {
	t.Helper()
	c := *m
	c.Signature = nil
	raw, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := export.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(key, append([]byte("gdpr-export/1 manifest\n"), canon...))
	pub := key.Public().(ed25519.PublicKey)
	c.Signature = &export.Signature{
		Algorithm: "Ed25519", KeyID: export.KeyID(pub),
		PublicKey: base64.StdEncoding.EncodeToString(pub), Value: base64.StdEncoding.EncodeToString(sig),
	}
	out, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// rtDiff describes how got differs from want, or returns "": types and
// values alike, times by Equal and in UTC; it never prints a long value.
func rtDiff(path string, got, want any) string {
	switch w := want.(type) {
	case nil:
		if got != nil {
			return fmt.Sprintf("%s: got a %T, want nil", path, got)
		}
	case time.Time:
		g, ok := got.(time.Time)
		switch {
		case !ok:
			return fmt.Sprintf("%s: got a %T, want a time.Time", path, got)
		case !g.Equal(w):
			return fmt.Sprintf("%s: got %v, want %v", path, g, w)
		case g.Location() != time.UTC:
			return fmt.Sprintf("%s: got a time in %v, want UTC", path, g.Location())
		}
	case []byte:
		g, ok := got.([]byte)
		switch {
		case !ok:
			return fmt.Sprintf("%s: got a %T, want a []byte", path, got)
		case !bytes.Equal(g, w):
			return fmt.Sprintf("%s: got %d bytes, want %d bytes, differing", path, len(g), len(w))
		}
	case string:
		g, ok := got.(string)
		switch {
		case !ok:
			return fmt.Sprintf("%s: got a %T, want a string", path, got)
		case g != w && len(w) > 64:
			return fmt.Sprintf("%s: got a string of %d bytes, want %d bytes, differing", path, len(g), len(w))
		case g != w:
			return fmt.Sprintf("%s: got %q, want %q", path, g, w)
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got a %T, want a map[string]any", path, got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: got %d members, want %d", path, len(g), len(w))
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s: member %q missing", path, k)
			}
			if d := rtDiff(path+"/"+k, gv, wv); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: got a %T, want a []any", path, got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: got %d elements, want %d", path, len(g), len(w))
		}
		for i := range w {
			if d := rtDiff(fmt.Sprintf("%s/%d", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
	default:
		if reflect.TypeOf(got) != reflect.TypeOf(want) || !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%s: got %T %v, want %T %v", path, got, got, want, want)
		}
	}
	return ""
}

// rtNum is the json.Number of v's digits as encoding/json writes them.
func rtNum(t *testing.T, v any) json.Number {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return json.Number(b)
}

func rtRandom(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

type rtCents int64

// rtText is a value with a MarshalText method; rtName a named string.
type (
	rtText string
	rtName string
)

func (s rtText) MarshalText() ([]byte, error) { return []byte(s), nil }

type rtCounter struct{ n int64 }

func (c *rtCounter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// ---------------------------------------------------------------------

// Write, Open and Records give back, field by field, what the source
// wrote, under the documented mapping: numbers as json.Number with
// encoding/json's digits, []byte as []byte, non-UTF-8 strings as the same
// bytes, times equal and in UTC; and the record's own members.
func TestRoundTripEveryValueType(t *testing.T) {
	t.Parallel() // the two large round trips, side by side under -race
	nepal := time.FixedZone("NPT", 5*3600+45*60)
	odd := time.FixedZone("LMT", 3600+23) // an offset RFC 3339 cannot write
	tm := time.Date(2026, 2, 3, 4, 5, 6, 789012345, nepal)
	blob := rtRandom(t, 1<<20)
	var control strings.Builder
	for c := rune(0); c < 0x20; c++ {
		control.WriteRune(c)
	}
	control.WriteString("\x7f\u0085\u2028\u2029<>&\"\\'/ é 😀👩‍👩‍👧 \uFEFF")
	big := strings.Repeat("The quick brown fox 🦊 jumps over the lazy dog <&>.\n", 4<<20/54+1)[:4<<20]
	if !utf8.ValidString(big) {
		big = strings.ToValidUTF8(big, "")
	}
	v := func(x any) map[string]any { return map[string]any{"v": x} }

	cases := []struct {
		name   string
		fields map[string]any
		want   map[string]any
	}{
		{"int", v(42), v(json.Number("42"))},
		{"int8", v(int8(-128)), v(json.Number("-128"))},
		{"int16", v(int16(math.MaxInt16)), v(rtNum(t, int16(math.MaxInt16)))},
		{"int32", v(int32(math.MinInt32)), v(rtNum(t, int32(math.MinInt32)))},
		{"int64 min", v(int64(math.MinInt64)), v(json.Number("-9223372036854775808"))},
		{"uint64 max", v(uint64(math.MaxUint64)), v(json.Number("18446744073709551615"))},
		{"uint8", v(uint8(255)), v(json.Number("255"))},
		{"named int", v(rtCents(-1999)), v(json.Number("-1999"))},
		{"float 0.1", v(0.1), v(rtNum(t, 0.1))},
		{"float 1e20", v(1e20), v(rtNum(t, 1e20))},
		{"float 1e21", v(1e21), v(rtNum(t, 1e21))},
		{"float 1e-7", v(1e-7), v(rtNum(t, 1e-7))},
		{"float 1e-6", v(1e-6), v(rtNum(t, 1e-6))},
		{"float fraction", v(123456789.125), v(rtNum(t, 123456789.125))},
		{"float -0", v(math.Copysign(0, -1)), v(rtNum(t, math.Copysign(0, -1)))},
		{"float max", v(math.MaxFloat64), v(rtNum(t, math.MaxFloat64))},
		{"float smallest", v(math.SmallestNonzeroFloat64), v(rtNum(t, math.SmallestNonzeroFloat64))},
		{"float32", v(float32(3.14)), v(rtNum(t, float32(3.14)))},
		{"float32 small", v(float32(1e-7)), v(rtNum(t, float32(1e-7)))},
		{"json.Number huge", v(json.Number("123456789012345678901234567890")), v(json.Number("123456789012345678901234567890"))},
		{"json.Number exp", v(json.Number("-1.5e+300")), v(json.Number("-1.5e+300"))},
		{"bools", map[string]any{"t": true, "f": false}, map[string]any{"t": true, "f": false}},
		{"bytes", v([]byte{0, 1, 0xfe, 0xff}), v([]byte{0, 1, 0xfe, 0xff})},
		{"bytes empty", v([]byte{}), v([]byte{})},
		{"bytes 1 MiB random", v(blob), v(blob)},
		{"binary string", v("ok \xff\xfe\x80 end"), v("ok \xff\xfe\x80 end")},
		{"binary string only", v("\xc3\x28"), v("\xc3\x28")},
		{"time", v(tm), v(tm)},
		{"time odd offset", v(time.Date(1900, 1, 1, 0, 0, 0, 1, odd)), v(time.Date(1900, 1, 1, 0, 0, 0, 1, odd))},
		{"time zero year", v(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)), v(time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC))},
		{"nested", v(map[string]any{
			"a": []any{1, map[string]any{
				"b": []any{[]byte{7}, tm, "\xff", []any{map[string]any{"c": map[string]any{"d": 2.5, "e": nil}}}},
			}},
			"empty map":  map[string]any{},
			"empty list": []any{},
		}), v(map[string]any{
			"a": []any{json.Number("1"), map[string]any{
				"b": []any{[]byte{7}, tm, "\xff", []any{map[string]any{"c": map[string]any{"d": json.Number("2.5"), "e": nil}}}},
			}},
			"empty map":  map[string]any{},
			"empty list": []any{},
		})},
		{"map[string]string", v(map[string]string{"b": "2", "a": "1", "bin": "\xfe"}), v(map[string]any{"a": "1", "b": "2", "bin": "\xfe"})},
		{"[]string", v([]string{"x", "", "\xff", "y"}), v([]any{"x", "", "\xff", "y"})},
		{"keys with / and ~", v(map[string]any{
			"a/b": []byte{1, 2}, "~": tm, "~1": "\xfe", "/": map[string]any{"~/~": []byte{3}}, "": []byte{4}, "~0/": []any{"\xff"},
		}), v(map[string]any{
			"a/b": []byte{1, 2}, "~": tm, "~1": "\xfe", "/": map[string]any{"~/~": []byte{3}}, "": []byte{4}, "~0/": []any{"\xff"},
		})},
		{"top-level keys with / and ~", map[string]any{"x/y": []byte{9}, "~z": tm, "~1": "\x80"}, map[string]any{"x/y": []byte{9}, "~z": tm, "~1": "\x80"}},
		{"control characters and HTML", v(control.String()), v(control.String())},
		{"4 MiB string", v(big), v(big)},
		{"nil", v(nil), v(nil)},
		{"nil bytes", v([]byte(nil)), v(nil)},
		{"no fields", map[string]any{}, map[string]any{}},
	}

	var recs []gdpr.Record
	type meta struct {
		id, dataset, category, activity string
		time                            time.Time
		provided                        bool
	}
	metas := map[string]meta{}
	want := map[string][]string{} // dataset → IDs in order
	for i, c := range cases {
		m := meta{id: fmt.Sprintf("%02d %s ü/~", i, c.name), dataset: "values", provided: i%2 == 0}
		if i%2 == 1 {
			m.dataset = "values-2.b"
		}
		if i%3 != 0 {
			m.time = time.Date(2025, 12, 31, 23, 59, 59, i, nepal)
			m.category = "contact"
			m.activity = []string{"shop", "newsletter", "unregistered"}[i%3]
		}
		metas[m.id] = m
		want[m.dataset] = append(want[m.dataset], m.id)
		recs = append(recs, gdpr.Record{Dataset: m.dataset, ID: m.id, Time: m.time, Category: m.category,
			Activity: m.activity, Provided: m.provided, Fields: c.fields})
	}
	pub, key := rtKey(t)
	// BestSpeed: the default level takes seconds for 5 MiB under -race
	bd := rtOpen(t, rtWrite(t, rtBuilder(t, key, recs, export.WithHTMLRows(1), export.WithCompression(flate.BestSpeed)), rtAccess), pub)
	if got := bd.Datasets(); !reflect.DeepEqual(got, []string{"values", "values-2.b"}) {
		t.Fatalf("Datasets() = %q", got)
	}
	got := map[string]gdpr.Record{}
	for ds, ids := range want {
		rs := rtRecords(t, bd, ds)
		if len(rs) != len(ids) {
			t.Fatalf("dataset %s: %d records, want %d", ds, len(rs), len(ids))
		}
		for i, r := range rs {
			if r.ID != ids[i] {
				t.Errorf("dataset %s: record %d has ID %q, want %q (written order)", ds, i, r.ID, ids[i])
			}
			got[r.ID] = r
		}
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := metas[fmt.Sprintf("%02d %s ü/~", i, c.name)]
			r, ok := got[m.id]
			if !ok {
				t.Fatalf("record %q missing", m.id)
			}
			if r.Dataset != m.dataset || r.Category != m.category || r.Activity != m.activity || r.Provided != m.provided {
				t.Errorf("record members: got dataset %q category %q activity %q provided %v, want %q %q %q %v",
					r.Dataset, r.Category, r.Activity, r.Provided, m.dataset, m.category, m.activity, m.provided)
			}
			switch {
			case m.time.IsZero() && !r.Time.IsZero():
				t.Errorf("Time: got %v, want the zero time", r.Time)
			case !m.time.IsZero() && (!r.Time.Equal(m.time) || r.Time.Location() != time.UTC):
				t.Errorf("Time: got %v, want %v in UTC", r.Time, m.time)
			}
			if d := rtDiff("fields", r.Fields, c.want); d != "" {
				t.Error(d)
			}
		})
	}
}

// ---------------------------------------------------------------------

// rtFormula reports whether a spreadsheet would run cell as a formula:
// it begins, after spaces, with one of = + - @ tab CR or their
// full-width forms.
func rtFormula(cell string) bool {
	s := strings.TrimLeft(cell, " ")
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
		return true
	}
	return false
}

// Values and field names made to run in a spreadsheet or a browser are
// inert in the CSV files and in index.html, and exact in the JSON files.
func TestInjectionInertEverywhere(t *testing.T) {
	payloads := []string{
		`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`,
		`=cmd|' /C calc'!A0`, `@SUM(1+1)*cmd|' /C calc'!A0`, `+1+1`, `-2+3`,
		"\t=1", "\r=1", " =1", "  @x", "＝1", "＋1", "－1", "＠SUM(1)",
	}
	var recs []gdpr.Record
	for i, p := range payloads {
		recs = append(recs, gdpr.Record{
			Dataset: "inject", ID: p, Category: p, Activity: p, Provided: true,
			Fields: map[string]any{
				"v": p, p: "named", "n": -5, "num": json.Number("-5"),
				"list": []string{p}, "nested": map[string]any{"x": p},
				"text": rtText(p), "named": rtName(p),
			},
		})
		// a second dataset where the payload is the only column
		recs = append(recs, gdpr.Record{Dataset: "names", ID: fmt.Sprint(i), Fields: map[string]any{p: p}})
	}
	pub, key := rtKey(t)
	bd := rtOpen(t, rtWrite(t, rtBuilder(t, key, recs), rtAccess), pub)

	// The JSON files hold the values as written.
	for i, r := range rtRecords(t, bd, "inject") {
		p := payloads[i]
		if r.ID != p || r.Category != p || r.Activity != p || r.Fields["v"] != p || r.Fields[p] != "named" ||
			r.Fields["text"] != p || r.Fields["named"] != p {
			t.Errorf("payload %q does not come back exact from the JSON file: %+v", p, r)
		}
	}

	csvFiles := 0
	for _, fe := range bd.Manifest().Files {
		if !strings.HasSuffix(fe.Path, ".csv") {
			continue
		}
		csvFiles++
		rows, err := csv.NewReader(bytes.NewReader(rtFile(t, bd, fe.Part, fe.Path))).ReadAll()
		if err != nil {
			t.Fatalf("%s does not parse as CSV: %v", fe.Path, err)
		}
		if len(rows) < 2 {
			t.Fatalf("%s: %d rows", fe.Path, len(rows))
		}
		header := rows[0]
		for _, h := range header {
			if rtFormula(h) && !strings.HasPrefix(h, "'") {
				t.Errorf("%s: header %q would run as a formula", fe.Path, h)
			}
		}
		numbers := 0
		for ri, row := range rows[1:] {
			for ci, cell := range row {
				col := header[ci]
				if col == "n" || col == "num" {
					numbers++
					if cell != "-5" {
						t.Errorf("%s row %d: the number -5 in column %s is the cell %q", fe.Path, ri+1, col, cell)
					}
					continue
				}
				if rtFormula(cell) && !strings.HasPrefix(cell, "'") {
					t.Errorf("%s row %d column %q: cell %q would run as a formula", fe.Path, ri+1, col, cell)
				}
				if col == "v" && !strings.ContainsRune(payloads[ri], '\r') {
					// the apostrophe is all that is added
					want := payloads[ri]
					if rtFormula(want) {
						want = "'" + want
					}
					if cell != want {
						t.Errorf("%s row %d: cell %q, want %q", fe.Path, ri+1, cell, want)
					}
				}
			}
		}
		if fe.Dataset == "inject" && numbers != 2*len(payloads) {
			t.Errorf("%s: %d number cells, want %d", fe.Path, numbers, 2*len(payloads))
		}
	}
	if csvFiles != 2 {
		t.Fatalf("%d CSV files, want 2", csvFiles)
	}

	page := string(rtFile(t, bd, 1, export.HTMLPath))
	lower := strings.ToLower(page)
	if strings.Contains(lower, "<script") {
		t.Error("index.html holds a <script")
	}
	for _, raw := range []string{`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`} {
		if strings.Contains(page, raw) {
			t.Errorf("index.html holds %q unescaped", raw)
		}
	}
	// Every tag of the page is the page's own: no event handler in any.
	for rest := lower; ; {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			t.Error("index.html ends inside a tag")
			break
		}
		if tag := rest[i : i+j+1]; strings.Contains(tag, "onerror") || strings.HasPrefix(tag, "<img") {
			t.Errorf("index.html has the tag %q", tag)
		}
		rest = rest[i+j+1:]
	}
	for _, esc := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(page, esc) {
			t.Errorf("index.html does not show the value escaped, as %q", esc)
		}
	}
}

// ---------------------------------------------------------------------

// rtTamperBundle is a real access bundle of two datasets.
func rtTamperBundle(t *testing.T) ([]byte, ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	pub, key := rtKey(t)
	var recs []gdpr.Record
	for i := range 20 {
		recs = append(recs,
			gdpr.Record{Dataset: "orders", ID: fmt.Sprint(i), Activity: "shop", Provided: true,
				Fields: map[string]any{"item": fmt.Sprint("item ", i), "cents": 100 * i}},
			gdpr.Record{Dataset: "profile", ID: fmt.Sprint(i), Activity: "newsletter", Provided: true,
				Fields: map[string]any{"name": "Alice", "photo": []byte{byte(i), 1, 2, 3}}})
	}
	data := rtWrite(t, rtBuilder(t, key, recs), rtAccess)
	rtOpen(t, data, pub)
	return data, pub, key
}

func rtWantErr(t *testing.T, what string, data []byte, pub ed25519.PublicKey, want error, opts ...export.ReadOption) {
	t.Helper()
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("%s: Open panics: %v", what, p)
			}
		}()
		_, err = rtOpenErr(data, pub, opts...)
	}()
	if !errors.Is(err, want) {
		t.Errorf("%s: Open = %v, want an error wrapping %v", what, err, want)
	}
	var ee *export.Error
	if err != nil && !errors.As(err, &ee) {
		t.Errorf("%s: Open returns a %T, not an *export.Error", what, err)
	}
}

// The reader refuses a bundle changed in any way the signed manifest
// does not account for, and one signed by a key it was not given.
func TestTamperRejected(t *testing.T) {
	data, pub, key := rtTamperBundle(t)
	entries := rtZip(t, data).File
	if len(entries) != 7 {
		t.Fatalf("%d entries, want 7", len(entries))
	}

	t.Run("raw copy opens", func(t *testing.T) {
		// the control: rebuilding with raw copies is no change
		rtOpen(t, rtRebuild(t, data, func(zw *zip.Writer, f *zip.File) { rtCopyRaw(t, zw, f, f.Name) }), pub)
	})

	t.Run("one byte of each entry's data", func(t *testing.T) {
		for _, f := range entries {
			off, err := f.DataOffset()
			if err != nil || f.CompressedSize64 == 0 {
				t.Fatalf("%s: offset %d, err %v, %d compressed bytes", f.Name, off, err, f.CompressedSize64)
			}
			bad := bytes.Clone(data)
			bad[off+int64(f.CompressedSize64)/2] ^= 0x5a
			rtWantErr(t, "a byte flipped in "+f.Name, bad, pub, export.ErrBundle)
		}
	})

	t.Run("entry dropped", func(t *testing.T) {
		for _, drop := range entries {
			bad := rtRebuild(t, data, func(zw *zip.Writer, f *zip.File) {
				if f.Name != drop.Name {
					rtCopyRaw(t, zw, f, f.Name)
				}
			})
			rtWantErr(t, "without "+drop.Name, bad, pub, export.ErrBundle)
		}
	})

	t.Run("entry added", func(t *testing.T) {
		for _, add := range []struct{ name, content string }{
			{"data/extra.json", "[\n]\n"}, {"data/extra.csv", "id\r\n"}, {"evil.txt", "hello"},
			{"data/orders.json", "[\n]\n"}, // a second entry of a listed path
		} {
			for _, last := range []bool{false, true} {
				bad := rtRebuild(t, data, func(zw *zip.Writer, f *zip.File) {
					if f.Name == export.ManifestPath && !last {
						rtAdd(t, zw, add.name, []byte(add.content))
					}
					rtCopyRaw(t, zw, f, f.Name)
					if f.Name == export.ManifestPath && last {
						rtAdd(t, zw, add.name, []byte(add.content))
					}
				})
				rtWantErr(t, fmt.Sprintf("with %s (after the manifest: %v)", add.name, last), bad, pub, export.ErrBundle)
			}
		}
	})

	t.Run("entry renamed", func(t *testing.T) {
		for _, to := range []string{"../x", "/abs", "data/../x", "../data/orders.csv", `data\orders.csv`, "./data/orders.csv", "data//orders.csv", "DATA/orders.csv"} {
			bad := rtRebuild(t, data, func(zw *zip.Writer, f *zip.File) {
				name := f.Name
				if name == "data/orders.csv" {
					name = to
				}
				rtCopyRaw(t, zw, f, name)
			})
			rtWantErr(t, "data/orders.csv renamed "+to, bad, pub, export.ErrBundle)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		for i := range 50 {
			n := len(data) * i / 50
			rtWantErr(t, fmt.Sprintf("truncated to %d of %d bytes", n, len(data)), data[:n:n], pub, export.ErrBundle)
		}
		rtWantErr(t, "without its last byte", data[:len(data)-1], pub, export.ErrBundle)
	})

	t.Run("manifest altered, not re-signed", func(t *testing.T) {
		m := rtManifest(t, data)
		m.Files[0].Records++
		raw, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		rtWantErr(t, "records count altered", rtReplace(t, data, map[string][]byte{export.ManifestPath: raw}), pub, export.ErrSignature)
	})

	t.Run("re-signed", func(t *testing.T) {
		// The control: the documented signing input, with the trusted
		// key, over the manifest as it was, opens.
		same := rtReplace(t, data, map[string][]byte{export.ManifestPath: rtSign(t, rtManifest(t, data), key)})
		rtOpen(t, same, pub)

		otherPub, otherKey := rtKey(t)
		// The data changed, the manifest brought up to date and signed
		// properly, but with another key, which it names.
		path := "data/profile.json"
		changed := bytes.ReplaceAll(rtEntry(t, data, path), []byte(`"Alice"`), []byte(`"Mallory"`))
		m := rtManifest(t, data)
		found := false
		for i, fe := range m.Files {
			if fe.Path == path {
				sum := sha256.Sum256(changed)
				m.Files[i].Size, m.Files[i].SHA256 = int64(len(changed)), hex.EncodeToString(sum[:])
				found = true
			}
		}
		if !found {
			t.Fatalf("no %s in the manifest", path)
		}
		forged := rtReplace(t, data, map[string][]byte{path: changed, export.ManifestPath: rtSign(t, m, otherKey)})
		rtWantErr(t, "re-signed with a key the reader does not trust", forged, pub, export.ErrSignature)
		// The bundle is well made: with the other key trusted it opens,
		// and holds the changed data.
		bd := rtOpen(t, forged, otherPub)
		if rs := rtRecords(t, bd, "profile"); len(rs) != 20 || rs[0].Fields["name"] != "Mallory" {
			t.Fatalf("the re-signed bundle's records: %d, first %v", len(rs), rs[0].Fields)
		}
		rtOpen(t, forged, pub, export.WithKeys(otherPub))
		// The other key's signature, but the manifest's hashes left as
		// they were: the data no longer match, whatever key is trusted.
		stale := rtReplace(t, data, map[string][]byte{path: changed, export.ManifestPath: rtSign(t, rtManifest(t, data), otherKey)})
		_, err := rtOpenErr(stale, otherPub)
		if !errors.Is(err, export.ErrBundle) || errors.Is(err, export.ErrSignature) {
			t.Errorf("data changed under a validly signed manifest: Open = %v, want ErrBundle, not ErrSignature", err)
		}
	})

	t.Run("zip bomb", func(t *testing.T) { rtZipBomb(t, data, pub) })
}

// rtZipBomb writes archives holding 300 MiB of zeros deflated, streamed
// to temporary files, and checks the reader refuses each quickly without
// inflating them.
func rtZipBomb(t *testing.T, data []byte, pub ed25519.PublicKey) {
	const size = 300 << 20
	// 1 MiB of zeros deflated, flushed to a byte boundary: its blocks are
	// not final and copy only zeros, so it repeats into a valid stream;
	// an empty final block ends it. (Deflating all 300 MiB takes far
	// too long under the race detector.)
	var chunk bytes.Buffer
	fw, err := flate.NewWriter(&chunk, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	fw.Write(zeros)
	fw.Flush()
	end := []byte{0x03, 0x00}
	compressed := int64(size/len(zeros)*chunk.Len() + len(end))
	var crc uint32
	for range size / len(zeros) {
		crc = crc32.Update(crc, crc32.IEEETable, zeros)
	}

	orders := rtZip(t, data).File[0]
	if orders.Name != "data/orders.json" {
		t.Fatalf("first entry %s", orders.Name)
	}
	for _, c := range []struct {
		what string
		name string
		fh   zip.FileHeader // sizes as the archive claims them
		opts []export.ReadOption
		want error
	}{
		{"an extra data/x.json", "data/x.json",
			zip.FileHeader{CRC32: crc, UncompressedSize64: size}, nil, export.ErrTooLarge},
		{"data/orders.json replaced, the ratio limit raised", "data/orders.json",
			zip.FileHeader{CRC32: crc, UncompressedSize64: size}, []export.ReadOption{export.WithMaxRatio(1 << 30)}, export.ErrBundle},
		{"data/orders.json replaced, claiming the manifest's size", "data/orders.json",
			zip.FileHeader{CRC32: orders.CRC32, UncompressedSize64: orders.UncompressedSize64}, []export.ReadOption{export.WithMaxRatio(1 << 30)}, export.ErrBundle},
	} {
		f, err := os.Create(filepath.Join(t.TempDir(), "bomb.zip"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for _, e := range rtZip(t, data).File {
			if e.Name == c.name {
				continue
			}
			if e.Name == export.ManifestPath {
				fh := c.fh
				fh.Name, fh.Method, fh.Modified, fh.CompressedSize64 = c.name, zip.Deflate, rtNow, uint64(compressed)
				w, err := zw.CreateRaw(&fh)
				if err != nil {
					t.Fatal(err)
				}
				for range size / len(zeros) {
					if _, err := w.Write(chunk.Bytes()); err != nil {
						t.Fatal(err)
					}
				}
				w.Write(end)
			}
			rtCopyRaw(t, zw, e, e.Name)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1<<20 {
			t.Fatalf("the bomb archive is %d bytes", fi.Size())
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err = export.Open(f, fi.Size(), pub, c.opts...)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		f.Close()
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Open = %v, want %v", c.what, err, c.want)
		}
		if took > 2*time.Second {
			t.Errorf("%s: Open took %v", c.what, took)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: Open allocated %d MiB", c.what, grew>>20)
		}
	}
}

// ---------------------------------------------------------------------

type rtPart struct {
	bytes.Buffer
	closed bool
}

func (p *rtPart) Close() error { p.closed = true; return nil }

// A bundle split into parts reads back whole, in order, and only with
// every part, each in its place and unchanged.
func TestPartsRoundTripInOrder(t *testing.T) {
	t.Parallel() // the two large round trips, side by side under -race
	var recs []gdpr.Record
	want := map[string][]string{}
	ids := map[string][]string{}
	for i := range 256 {
		// three records in four to one dataset, so that its files do not
		// end where a part would
		ds := []string{"mail", "mail", "mail", "photos"}[i%4]
		blob := hex.EncodeToString(rtRandom(t, 8<<10)) // 16 KiB that compress about 2:1
		recs = append(recs, gdpr.Record{Dataset: ds, ID: fmt.Sprint(i), Activity: "shop", Provided: true, Fields: map[string]any{"blob": blob}})
		want[ds] = append(want[ds], blob)
		ids[ds] = append(ids[ds], fmt.Sprint(i))
	}
	pub, key := rtKey(t)
	// BestSpeed: the default level takes seconds for this under -race
	b := rtBuilder(t, key, recs, export.WithPartSize(export.MinPartSize), export.WithHTMLRows(1), export.WithCompression(flate.BestSpeed))
	var parts []*rtPart
	m, err := b.WriteParts(context.Background(), rtAccess, func(n int) (io.WriteCloser, error) {
		if n != len(parts)+1 {
			t.Errorf("next(%d) after %d parts", n, len(parts))
		}
		p := &rtPart{}
		parts = append(parts, p)
		return p, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 3 || m.Parts != len(parts) {
		t.Fatalf("%d parts, the manifest says %d; want at least 3", len(parts), m.Parts)
	}
	for i, p := range parts {
		if !p.closed {
			t.Errorf("part %d not closed", i+1)
		}
	}
	split := false
	for i, fe := range m.Files {
		for _, g := range m.Files[:i] {
			split = split || g.Path == fe.Path
		}
	}
	if !split {
		t.Error("no data file continues in a later part")
	}
	asParts := func(ps ...[]byte) []export.Part {
		var out []export.Part
		for _, p := range ps {
			out = append(out, export.Part{R: bytes.NewReader(p), Size: int64(len(p))})
		}
		return out
	}
	var raw [][]byte
	for _, p := range parts {
		raw = append(raw, p.Bytes())
	}

	bd, err := export.OpenParts(asParts(raw...), pub)
	if err != nil {
		t.Fatalf("OpenParts: %v", err)
	}
	for ds, blobs := range want {
		rs := rtRecords(t, bd, ds)
		if len(rs) != len(blobs) {
			t.Fatalf("dataset %s: %d records, want %d", ds, len(rs), len(blobs))
		}
		for i, r := range rs {
			if r.Fields["blob"] != blobs[i] || r.ID != ids[ds][i] {
				t.Fatalf("dataset %s: record %d (ID %s) differs from the one written", ds, i, r.ID)
			}
		}
	}

	wantBad := func(what string, ps []export.Part) {
		t.Helper()
		if _, err := export.OpenParts(ps, pub); !errors.Is(err, export.ErrBundle) {
			t.Errorf("%s: OpenParts = %v, want ErrBundle", what, err)
		}
	}
	swapped := append([][]byte{raw[1], raw[0]}, raw[2:]...)
	wantBad("parts 1 and 2 swapped", asParts(swapped...))
	for i := range raw {
		missing := append(append([][]byte{}, raw[:i]...), raw[i+1:]...)
		wantBad(fmt.Sprintf("part %d missing", i+1), asParts(missing...))
	}
	for i := range raw[:len(raw)-1] {
		f := rtZip(t, raw[i]).File[0]
		off, err := f.DataOffset()
		if err != nil {
			t.Fatal(err)
		}
		altered := bytes.Clone(raw[i])
		altered[off+int64(f.CompressedSize64)/2] ^= 1
		ps := append(append(append([][]byte{}, raw[:i]...), altered), raw[i+1:]...)
		wantBad(fmt.Sprintf("a byte of part %d altered", i+1), asParts(ps...))
		// The modification time of the part's first entry: no file's
		// bytes, only the part's SHA-256 in the manifest covers it.
		altered = bytes.Clone(raw[i])
		altered[10] ^= 1
		ps = append(append(append([][]byte{}, raw[:i]...), altered), raw[i+1:]...)
		wantBad(fmt.Sprintf("the first entry's time in part %d altered", i+1), asParts(ps...))
	}
}

// ---------------------------------------------------------------------

// A source that fails midway aborts the bundle before a byte is written,
// with an error that names it and holds no personal data.
func TestSourceFailsMidwayWritesNothing(t *testing.T) {
	const personal = "Jane Roe, 12 Secret Lane"
	good := export.Source{Name: "early", Exporter: rtSource(gdpr.Record{Dataset: "early", ID: "1", Fields: map[string]any{"x": personal}})}
	failing := export.Source{Name: "crm", Exporter: gdpr.ExporterFunc(func(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
		for i := range 3 {
			if err := w.WriteRecord(ctx, gdpr.Record{Dataset: "contacts", ID: fmt.Sprint(i), Fields: map[string]any{"name": personal}}); err != nil {
				return err
			}
		}
		return fmt.Errorf("connection lost while reading %q", personal)
	})}
	laterCalled := false
	later := export.Source{Name: "later", Exporter: gdpr.ExporterFunc(func(context.Context, gdpr.SubjectID, gdpr.RecordWriter) error {
		laterCalled = true
		return nil
	})}
	_, key := rtKey(t)
	b, err := export.New(key, export.WithRegister(rtRegister), export.WithSources(good, failing, later))
	if err != nil {
		t.Fatal(err)
	}

	check := func(what string, m *export.Manifest, err error) {
		t.Helper()
		if m != nil {
			t.Errorf("%s: a manifest beside the error", what)
		}
		if !errors.Is(err, export.ErrSource) {
			t.Fatalf("%s: %v, want ErrSource", what, err)
		}
		var ee *export.Error
		if !errors.As(err, &ee) || ee.Field != "crm" {
			t.Errorf("%s: %#v, want an *export.Error with Field %q", what, err, "crm")
		}
		for _, verb := range []string{"%v", "%+v", "%s"} {
			if out := fmt.Sprintf(verb, err); strings.Contains(out, "Jane") || strings.Contains(out, "Secret") {
				t.Errorf("%s: %s of the error holds the personal value: %s", what, verb, out)
			}
		}
		if laterCalled {
			t.Errorf("%s: the source after the failing one was asked", what)
		}
	}

	var w rtCounter
	m, err := b.Write(context.Background(), &w, rtAccess)
	check("Write", m, err)
	if w.n != 0 {
		t.Errorf("Write wrote %d bytes before failing", w.n)
	}
	nexts := 0
	m, err = b.WriteParts(context.Background(), rtAccess, func(int) (io.WriteCloser, error) {
		nexts++
		return &rtPart{}, nil
	})
	check("WriteParts", m, err)
	if nexts != 0 {
		t.Errorf("WriteParts asked for %d parts before failing", nexts)
	}
}

// ---------------------------------------------------------------------

// The same records, Register and clock give the same bytes, from another
// Builder too; another clock gives other bytes.
func TestDeterministicAcrossBuilders(t *testing.T) {
	wide := map[string]any{}
	labels := map[string]string{}
	for i := range 64 {
		wide[fmt.Sprint("k", i)] = map[string]any{"n": i, "s": fmt.Sprint("v", i), "b": []byte{byte(i)}}
		labels[fmt.Sprint("l", i)] = fmt.Sprint(i)
	}
	recs := []gdpr.Record{
		{Dataset: "wide", ID: "1", Activity: "shop", Provided: true, Time: rtNow.Add(-time.Hour), Fields: map[string]any{"wide": wide, "labels": labels}},
		{Dataset: "wide", ID: "2", Activity: "fraud", Fields: map[string]any{"labels": labels, "t": rtNow}},
		{Dataset: "other", ID: "1", Activity: "newsletter", Provided: true, Fields: wide},
	}
	_, key := rtKey(t)
	disclosures := export.WithDisclosures(gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) {
		return []gdpr.Disclosure{{Recipient: "Parcel Service", Kind: gdpr.Processor}}, nil
	}))
	for _, kind := range []gdpr.RequestKind{gdpr.KindAccess, gdpr.KindPortability} {
		r := gdpr.Request{ID: "req-det", Kind: kind, Subject: "s-1"}
		a := rtWrite(t, rtBuilder(t, key, recs, disclosures), r)
		if b := rtWrite(t, rtBuilder(t, key, recs, disclosures), r); !bytes.Equal(a, b) {
			t.Errorf("%s: two Builders with the same input and clock wrote different bytes", kind)
		}
		later := rtWrite(t, rtBuilder(t, key, recs, disclosures, export.WithClock(func() time.Time { return rtNow.Add(time.Minute) })), r)
		if bytes.Equal(a, later) {
			t.Errorf("%s: another clock wrote the same bytes", kind)
		}
	}
}

// ---------------------------------------------------------------------

// A portability bundle holds only what the subject provided under
// consent or a contract, counts the rest, and has no Art. 15 information.
func TestPortabilityFilter(t *testing.T) {
	recs := []gdpr.Record{
		{Dataset: "profile", ID: "consent", Activity: "newsletter", Provided: true, Fields: map[string]any{"v": "in-consent"}},
		{Dataset: "orders", ID: "contract", Activity: "shop", Provided: true, Fields: map[string]any{"v": "in-contract"}},
		{Dataset: "diary", ID: "explicit", Activity: "health", Provided: true, Fields: map[string]any{"v": "in-explicit"}},
		{Dataset: "scores", ID: "li", Activity: "fraud", Provided: true, Fields: map[string]any{"v": "OUT-legitimate-interests"}},
		{Dataset: "orders", ID: "derived", Activity: "shop", Provided: false, Fields: map[string]any{"v": "OUT-derived"}},
		{Dataset: "orders", ID: "unknown", Activity: "nowhere", Provided: true, Fields: map[string]any{"v": "OUT-unknown-activity"}},
		{Dataset: "orders", ID: "none", Provided: true, Fields: map[string]any{"v": "OUT-no-activity"}},
	}
	pub, key := rtKey(t)
	b := rtBuilder(t, key, recs)
	var buf bytes.Buffer
	m, err := b.Write(context.Background(), &buf, gdpr.Request{ID: "req-port", Kind: gdpr.KindPortability, Subject: "s-1"})
	if err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	bd := rtOpen(t, data, pub)
	if m.Omitted != 4 || bd.Manifest().Omitted != 4 {
		t.Errorf("Omitted %d (read back %d), want 4", m.Omitted, bd.Manifest().Omitted)
	}
	if bd.Manifest().Kind != gdpr.KindPortability {
		t.Errorf("kind %s", bd.Manifest().Kind)
	}
	if got := bd.Datasets(); !reflect.DeepEqual(got, []string{"diary", "orders", "profile"}) {
		t.Errorf("Datasets() = %q, want diary, orders, profile", got)
	}
	var ids []string
	for _, ds := range bd.Datasets() {
		for _, r := range rtRecords(t, bd, ds) {
			ids = append(ids, r.ID)
		}
	}
	if !reflect.DeepEqual(ids, []string{"explicit", "contract", "consent"}) {
		t.Errorf("records %q, want explicit, contract, consent", ids)
	}
	if _, err := bd.Information(); !errors.Is(err, export.ErrNotFound) {
		t.Errorf("Information() of a portability bundle: %v, want ErrNotFound", err)
	}
	for _, f := range rtZip(t, data).File {
		if f.Name == export.InformationPath {
			t.Error("a portability bundle holds information.json")
		}
		content := rtEntry(t, data, f.Name)
		if bytes.Contains(content, []byte("OUT-")) {
			t.Errorf("%s holds an omitted record's value", f.Name)
		}
	}
	page := string(rtFile(t, bd, 1, export.HTMLPath))
	if !strings.Contains(page, "4 records") || !strings.Contains(page, "Art. 20(1)") {
		t.Errorf("index.html does not say 4 records were omitted (Art. 20(1))")
	}
}

// ---------------------------------------------------------------------

// An access bundle gives the supplementary information of Art. 15(1)
// and (2) from the Register, the disclosures and the authority.
func TestAccessInformation(t *testing.T) {
	reg := &gdpr.Register{
		Controller:     gdpr.Party{Name: "Info Shop GmbH", Address: "Marktplatz 1, 10115 Berlin", Email: "privacy@info.example"},
		Representative: &gdpr.Party{Name: "EU Rep Ltd", Email: "rep@eurep.example"},
		DPO:            &gdpr.Party{Name: "Data Protection Officer", Email: "dpo@info.example", Phone: "+49 30 1234"},
		Activities: []gdpr.Activity{
			{
				ID: "shop", Name: "Orders", Basis: gdpr.Contract, Source: "subject", SubjectCategories: []string{"customers"},
				DataCategories: []gdpr.Category{{ID: "orders", Description: "What you ordered"}},
				Retention:      gdpr.RetentionRule{Period: gdpr.Period{Years: 10}, Description: "after the order (tax law)"},
			},
			{
				ID: "scoring", Name: "Credit scoring", Description: "To decide on payment by invoice.",
				Basis: gdpr.LegitimateInterests, LegitimateInterestAssessment: "LIA-9",
				Source:            "Credit agency X",
				SubjectCategories: []string{"customers"},
				DataCategories:    []gdpr.Category{{ID: "credit", Description: "Credit score"}},
				Recipients: []gdpr.Recipient{
					{Name: "Payment provider", Kind: gdpr.Processor, Country: "NL"},
					{Name: "Health body", Kind: gdpr.PublicAuthority, Organisation: "World Health Organization"},
				},
				Transfers: []gdpr.Transfer{
					{Country: "US", Recipient: "Cloud Inc.", Safeguard: gdpr.StandardContractualClauses, Reference: "SCC-2021/914"},
					{Organisation: "World Health Organization", Safeguard: gdpr.Derogation, Derogation: "d"},
				},
				Retention:          gdpr.RetentionRule{Period: gdpr.Period{Months: 6}},
				AutomatedDecisions: &gdpr.AutomatedDecisions{Logic: "A score from payment history.", Significance: "Invoice payment may be refused."},
			},
		},
	}
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	disclosed := []gdpr.Disclosure{
		{Recipient: "Parcel Service", Kind: gdpr.Processor, Reference: "C-123", Categories: []string{"orders"}, At: at},
		{Recipient: "Tax office", Kind: gdpr.PublicAuthority},
	}
	authority := gdpr.Party{Name: "Berliner Beauftragte für Datenschutz", URL: "https://www.datenschutz-berlin.de", Address: "Alt-Moabit 59-61"}
	pub, key := rtKey(t)
	b, err := export.New(key, export.WithRegister(reg), export.WithClock(func() time.Time { return rtNow }),
		export.WithDisclosures(gdpr.DisclosuresFunc(func(context.Context, gdpr.SubjectID) ([]gdpr.Disclosure, error) { return disclosed, nil })),
		export.WithAuthority(authority),
		export.WithSources(export.Source{Name: "crm", Exporter: rtSource(
			gdpr.Record{Dataset: "orders", ID: "1", Activity: "shop", Provided: true, Fields: map[string]any{"item": "tea"}},
			gdpr.Record{Dataset: "orders", ID: "2", Activity: "shop", Provided: true, Fields: map[string]any{"item": "cake"}},
			gdpr.Record{Dataset: "scores", ID: "1", Activity: "scoring", Fields: map[string]any{"score": 612}},
		)}))
	if err != nil {
		t.Fatal(err)
	}
	bd := rtOpen(t, rtWrite(t, b, rtAccess), pub)
	info, err := bd.Information()
	if err != nil {
		t.Fatal(err)
	}
	if info.Controller != reg.Controller {
		t.Errorf("Controller %+v, want %+v", info.Controller, reg.Controller)
	}
	if info.DPO == nil || *info.DPO != *reg.DPO {
		t.Errorf("DPO %+v, want %+v", info.DPO, reg.DPO)
	}
	if info.Representative == nil || *info.Representative != *reg.Representative {
		t.Errorf("Representative %+v, want %+v", info.Representative, reg.Representative)
	}
	if info.Authority == nil || *info.Authority != authority {
		t.Errorf("Authority %+v, want %+v", info.Authority, authority)
	}
	if len(info.Activities) != 2 {
		t.Fatalf("%d activities, want 2", len(info.Activities))
	}
	for i, a := range reg.Activities {
		ai := info.Activities[i]
		if ai.ID != a.ID || ai.Name != a.Name || ai.Purpose != a.PurposeKey() || ai.Description != a.Description ||
			ai.Basis != a.Basis || ai.BasisArticle != a.Basis.Article() {
			t.Errorf("activity %s: %+v", a.ID, ai)
		}
		if !reflect.DeepEqual(ai.Categories, a.DataCategories) {
			t.Errorf("activity %s: categories %+v, want %+v", a.ID, ai.Categories, a.DataCategories)
		}
		if !reflect.DeepEqual(ai.Recipients, a.Recipients) {
			t.Errorf("activity %s: recipients %+v, want %+v", a.ID, ai.Recipients, a.Recipients)
		}
		if !reflect.DeepEqual(ai.Transfers, a.Transfers) {
			t.Errorf("activity %s: transfers %+v, want %+v", a.ID, ai.Transfers, a.Transfers)
		}
		if !reflect.DeepEqual(ai.Retention, a.Retention) {
			t.Errorf("activity %s: retention %+v, want %+v", a.ID, ai.Retention, a.Retention)
		}
		if !reflect.DeepEqual(ai.AutomatedDecisions, a.AutomatedDecisions) {
			t.Errorf("activity %s: automated decisions %+v, want %+v", a.ID, ai.AutomatedDecisions, a.AutomatedDecisions)
		}
	}
	if s := info.Activities[0].Source; s != "" {
		t.Errorf("data collected from the subject have the source %q", s)
	}
	if s := info.Activities[1].Source; s != "Credit agency X" {
		t.Errorf("data from a credit agency have the source %q", s)
	}
	if n0, n1 := info.Activities[0].Records, info.Activities[1].Records; n0 != 2 || n1 != 1 {
		t.Errorf("records by activity %d, %d; want 2, 1", n0, n1)
	}
	if len(info.Disclosures) != len(disclosed) {
		t.Fatalf("%d disclosures, want %d", len(info.Disclosures), len(disclosed))
	}
	for i, d := range disclosed {
		g := info.Disclosures[i]
		if g.Recipient != d.Recipient || g.Kind != d.Kind || g.Reference != d.Reference ||
			!reflect.DeepEqual(g.Categories, d.Categories) || !g.At.Equal(d.At) {
			t.Errorf("disclosure %d: %+v, want %+v", i, g, d)
		}
	}
	articles := map[string]bool{}
	for _, r := range info.Rights {
		articles[r.Article] = r.Text != ""
	}
	for _, art := range []string{"Art. 16", "Art. 17", "Art. 18", "Art. 21", "Art. 77"} {
		if !articles[art] {
			t.Errorf("Rights lack %s (or its text): %+v", art, info.Rights)
		}
	}
	page := string(rtFile(t, bd, 1, export.HTMLPath))
	for _, s := range []string{"Berliner Beauftragte", "dpo@info.example", "EU Rep Ltd", "Credit agency X", "A score from payment history.",
		"<td>tea</td>", "<td>cake</td>", "<td>612</td>"} {
		if !strings.Contains(page, s) {
			t.Errorf("index.html does not show %q", s)
		}
	}
}
