package export

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

// The export benchmark: a bundle of N records (default 1,000,000;
// GDPR_BENCH_EXPORT_N sets another) of about 200 bytes of fields each,
// against encoding/json writing the same records, in the same run:
//
//	go test -run '^$' -bench 'Export' -benchtime 1x -count 5 -timeout 60m ./export/
//
// Every sub-benchmark reports the JSON bytes of its records as its
// MB/s (b.SetBytes), records/s, and peak-heap-MiB, the highest HeapInuse
// seen by a sampler every 2 ms during the run. The Builder's
// sub-benchmarks also time, before each of their ops and outside the
// timer, the raw baseline they compare with, and report x-raw: their
// time over the baseline's, so that both sides of the ratio run under
// the same load.

// benchN is the number of records of a benchmark bundle.
func benchN(b *testing.B) int {
	if s := os.Getenv("GDPR_BENCH_EXPORT_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("GDPR_BENCH_EXPORT_N=%q is not a positive count", s)
		}
		return n
	}
	return 1_000_000
}

// benchVariants is how many distinct field sets the generator cycles
// through: 4096 × ~200 B is far more than deflate's 32 KiB window, so no
// record repeats one the compressor can still see.
const benchVariants = 4096

// benchValues are the prepared field values of each variant, already
// boxed, so that the generator allocates nothing per record but the ID.
type benchValues struct {
	email, name, street, city, phone, plan, orders, newsletter, signedUp any
	when                                                                 time.Time
}

var benchPool = sync.OnceValue(func() []benchValues {
	first := []string{"Anna", "Ben", "Clara", "David", "Elif", "Farid", "Greta", "Hannes", "Ines", "Jonas", "Katrin", "Lukas", "Mira", "Noah", "Olga", "Paul"}
	last := []string{"Schmidt", "Müller", "Weber", "Fischer", "Wagner", "Becker", "Hoffmann", "Schäfer", "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Braun", "Zimmermann"}
	streets := []string{"Hauptstraße", "Bahnhofstraße", "Gartenweg", "Lindenallee", "Schulstraße", "Am Markt", "Bergstraße", "Kirchplatz"}
	cities := []string{"10115 Berlin", "20095 Hamburg", "80331 München", "50667 Köln", "60311 Frankfurt am Main", "70173 Stuttgart", "04109 Leipzig", "01067 Dresden"}
	plans := []string{"free", "basic", "premium", "business"}
	base := time.Date(2019, time.January, 7, 8, 0, 0, 0, time.UTC)
	// A small xorshift, so the variants are the same in every run.
	x := uint64(0x9E3779B97F4A7C15)
	rnd := func(n int) int {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return int(x % uint64(n))
	}
	vs := make([]benchValues, benchVariants)
	for i := range vs {
		f, l := first[rnd(len(first))], last[rnd(len(last))]
		when := base.Add(time.Duration(rnd(6*365*24*3600)) * time.Second)
		vs[i] = benchValues{
			email:      f + "." + l + strconv.Itoa(rnd(10000)) + "@example.com",
			name:       f + " " + l,
			street:     streets[rnd(len(streets))] + " " + strconv.Itoa(1+rnd(200)),
			city:       cities[rnd(len(cities))],
			phone:      "+49 " + strconv.Itoa(30+rnd(900)) + " " + strconv.Itoa(1000000+rnd(9000000)),
			plan:       plans[rnd(len(plans))],
			orders:     rnd(500),
			newsletter: rnd(2) == 0,
			signedUp:   when.Add(-time.Duration(rnd(1000)) * time.Hour),
			when:       when,
		}
	}
	return vs
})

// benchRecords calls fn with n records made on the fly: one Record and
// one Fields map, refilled for each, so that nothing of the n is held.
func benchRecords(n int, fn func(gdpr.Record) error) error {
	pool := benchPool()
	fields := make(map[string]any, 9)
	id := make([]byte, 0, 16)
	for i := range n {
		v := &pool[i%len(pool)]
		fields["email"], fields["name"], fields["street"] = v.email, v.name, v.street
		fields["city"], fields["phone"], fields["plan"] = v.city, v.phone, v.plan
		fields["orders"], fields["newsletter"], fields["signed_up"] = v.orders, v.newsletter, v.signedUp
		id = strconv.AppendInt(append(id[:0], "cus-"...), int64(1_000_000+i), 10)
		r := gdpr.Record{
			Dataset: "customers", ID: string(id), Time: v.when.Add(time.Duration(i) * time.Millisecond),
			Category: "contact", Activity: "crm", Provided: true, Fields: fields,
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// benchSource is an Exporter of n generated records.
type benchSource int

func (s benchSource) ExportSubject(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
	return benchRecords(int(s), func(r gdpr.Record) error { return w.WriteRecord(ctx, r) })
}

// rawJSON writes n records with encoding/json to w, flate-compressed at
// level unless level is noFlate.
const noFlate = -100

func rawJSON(n, level int) error {
	var w io.Writer = io.Discard
	var fw *flate.Writer
	if level != noFlate {
		var err error
		if fw, err = flate.NewWriter(io.Discard, level); err != nil {
			return err
		}
		w = fw
	}
	enc := json.NewEncoder(w)
	if err := benchRecords(n, func(r gdpr.Record) error { return enc.Encode(r) }); err != nil {
		return err
	}
	if fw != nil {
		return fw.Close()
	}
	return nil
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// benchJSONBytes is the size of the n records as encoding/json writes
// them, the byte count of every sub-benchmark's MB/s.
var benchJSONBytes = sync.OnceValues(func() (map[int]int64, *sync.Mutex) { return map[int]int64{}, new(sync.Mutex) })

func jsonBytes(b *testing.B, n int) int64 {
	m, mu := benchJSONBytes()
	mu.Lock()
	defer mu.Unlock()
	if s, ok := m[n]; ok {
		return s
	}
	var c countingWriter
	enc := json.NewEncoder(&c)
	if err := benchRecords(n, func(r gdpr.Record) error { return enc.Encode(r) }); err != nil {
		b.Fatal(err)
	}
	m[n] = c.n
	return c.n
}

// heapSampler records the highest HeapInuse (heap objects and the free
// space of their spans) seen every 2 ms until stop.
type heapSampler struct {
	peak atomic.Uint64
	done chan struct{}
	wg   sync.WaitGroup
}

func heapInuse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{})}
	h.peak.Store(heapInuse())
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-h.done:
				return
			case <-t.C:
				if v := heapInuse(); v > h.peak.Load() {
					h.peak.Store(v)
				}
			}
		}
	}()
	return h
}

// stop ends the sampling and returns the peak in MiB.
func (h *heapSampler) stop() float64 {
	close(h.done)
	h.wg.Wait()
	if v := heapInuse(); v > h.peak.Load() {
		h.peak.Store(v)
	}
	return float64(h.peak.Load()) / (1 << 20)
}

// processCPU returns the CPU time, user and system, of the process so
// far, from /proc/self/stat (Linux); ok false elsewhere.
func processCPU() (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command, which is in parentheses: state is
	// the 3rd field, utime and stime the 14th and 15th, in USER_HZ
	// (100 a second) ticks.
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

func benchBuilder(tb testing.TB, n, level int) *Builder {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		tb.Fatal(err)
	}
	bd, err := New(priv,
		WithSources(Source{Name: "crm", Exporter: benchSource(n)}),
		WithRegister(benchRegister()),
		WithCompression(level),
		WithSpoolDir(tb.TempDir()),
		WithClock(func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return bd
}

func benchRegister() *gdpr.Register {
	return &gdpr.Register{
		Controller: gdpr.Party{Name: "Acme GmbH", Email: "privacy@acme.example"},
		Activities: []gdpr.Activity{{
			ID: "crm", Name: "Customer relationship", Purpose: "customer_service",
			Basis: gdpr.Contract, SubjectCategories: []string{"customers"},
			DataCategories: []gdpr.Category{{ID: "contact", Description: "Name, address, e-mail"}},
			Retention:      gdpr.RetentionRule{Period: gdpr.Period{Years: 3}, Description: "after the contract ends"},
		}},
	}
}

var benchRequest = gdpr.Request{ID: "req-bench", Kind: gdpr.KindAccess, Subject: "subject-1"}

func BenchmarkExport(b *testing.B) {
	n := benchN(b)
	size := jsonBytes(b, n)
	report := func(b *testing.B, peak float64) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		b.ReportMetric(peak, "peak-heap-MiB")
	}
	raw := func(level int) func(b *testing.B) {
		return func(b *testing.B) {
			b.SetBytes(size)
			runtime.GC()
			h := startHeapSampler()
			b.ResetTimer()
			for range b.N {
				if err := rawJSON(n, level); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, h.stop())
		}
	}
	builder := func(level, rawLevel int) func(b *testing.B) {
		return func(b *testing.B) {
			bd := benchBuilder(b, n, level)
			b.SetBytes(size)
			var rawTime, rawCPU, cpu time.Duration
			cpuOK := true
			var peak float64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				t := time.Now()
				c0, ok0 := processCPU()
				if err := rawJSON(n, rawLevel); err != nil {
					b.Fatal(err)
				}
				c1, ok1 := processCPU()
				rawTime += time.Since(t)
				rawCPU += c1 - c0
				runtime.GC()
				h := startHeapSampler()
				c2, ok2 := processCPU()
				b.StartTimer()
				if _, err := bd.Write(context.Background(), io.Discard, benchRequest); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				c3, ok3 := processCPU()
				cpu += c3 - c2
				cpuOK = cpuOK && ok0 && ok1 && ok2 && ok3
				peak = max(peak, h.stop())
			}
			report(b, peak)
			b.ReportMetric(float64(b.Elapsed())/float64(rawTime), "x-raw")
			if cpuOK && rawCPU > 0 {
				// the work, whatever else runs on the machine
				b.ReportMetric(float64(cpu)/float64(rawCPU), "cpu-x-raw")
			}
		}
	}
	b.Run("raw-json", raw(noFlate))
	b.Run("raw-json-flate-default", raw(flate.DefaultCompression))
	b.Run("raw-json-flate-bestspeed", raw(flate.BestSpeed))
	b.Run("builder-store", builder(flate.NoCompression, noFlate))
	b.Run("builder-default", builder(flate.DefaultCompression, flate.DefaultCompression))
	b.Run("builder-bestspeed", builder(flate.BestSpeed, flate.BestSpeed))
}

// TestExportHeapBounded is a sanity check, not a performance test (the
// benchmark measures the heap of a 1,000,000-record bundle): while a
// bundle of 20,000 generated records is written, the heap in use stays
// far below what holding its records, or its files, would take.
func TestExportHeapBounded(t *testing.T) {
	const n = 20_000
	if testing.Short() {
		t.Skip("writes a 20,000-record bundle")
	}
	bd := benchBuilder(t, n, flate.DefaultCompression)
	var out countingWriter
	runtime.GC()
	before := heapInuse()
	h := startHeapSampler()
	m, err := bd.Write(context.Background(), &out, benchRequest)
	peak := h.stop()
	if err != nil {
		t.Fatal(err)
	}
	var data int64
	for _, f := range m.Files {
		data += f.Size
	}
	held := peak - float64(before)/(1<<20)
	t.Logf("%d records, %d bytes of files, archive %d bytes, heap peak %.1f MiB, %.1f MiB above the start", n, data, out.n, peak, held)
	// The files are about 11 MB; the records as gdpr.Records, more.
	if held > 48 {
		t.Errorf("the writer held %.1f MiB of heap for %d records", held, n)
	}
	if m.Files[0].Records != n {
		t.Errorf("%s has %d records, want %d", m.Files[0].Path, m.Files[0].Records, n)
	}
}

// TestCompressAheadSameBytes checks that the CSV files deflated beside
// the JSON files (with two CPUs or more) give the bytes the one-CPU
// path writes, in a single archive and in parts (where a file that no
// longer fits its part is written again, split), and that the bundle
// reads back.
func TestCompressAheadSameBytes(t *testing.T) {
	const aheadRecords = 1200
	// Values that take space and do not compress away, so that parts of
	// MinPartSize split the data files.
	src := gdpr.ExporterFunc(func(ctx context.Context, _ gdpr.SubjectID, w gdpr.RecordWriter) error {
		x := uint64(7)
		noise := make([]byte, 1000)
		for i := range aheadRecords {
			for j := range noise {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				noise[j] = noise[j]/2 + byte(x)%64
			}
			f := map[string]any{
				"text": string(noise), "n": i, "quoted": "a,\"b\"\r\nc", "formula": "=1+" + strconv.Itoa(i),
				"nested": map[string]any{"at": time.Unix(int64(i)*3600, 0).UTC(), "bytes": []byte{byte(i), 1}},
			}
			ds := []string{"alpha", "beta", "gamma"}[i%3]
			if err := w.WriteRecord(ctx, gdpr.Record{Dataset: ds, ID: "r" + strconv.Itoa(i), Time: time.Unix(int64(i), 0), Provided: true, Fields: f}); err != nil {
				return err
			}
		}
		return nil
	})
	_, priv, _ := ed25519.GenerateKey(nil)
	write := func(procs, level int, parts bool) [][]byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		opts := []Option{
			WithSources(Source{Name: "s", Exporter: src}), WithCompression(level), WithHTMLRows(5),
			WithClock(func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }),
		}
		if parts {
			opts = append(opts, WithPartSize(MinPartSize))
		}
		bd, err := New(priv, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var bufs []*bytes.Buffer
		if !parts {
			var buf bytes.Buffer
			if _, err := bd.Write(context.Background(), &buf, benchRequest); err != nil {
				t.Fatal(err)
			}
			return [][]byte{buf.Bytes()}
		}
		_, err = bd.WriteParts(context.Background(), benchRequest, func(int) (io.WriteCloser, error) {
			bufs = append(bufs, new(bytes.Buffer))
			return nopCloser{bufs[len(bufs)-1]}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		out := make([][]byte, len(bufs))
		for i, b := range bufs {
			out[i] = b.Bytes()
		}
		return out
	}
	for _, c := range []struct {
		level int
		parts bool
	}{{flate.BestSpeed, false}, {flate.DefaultCompression, true}} {
		one, two := write(1, c.level, c.parts), write(2, c.level, c.parts)
		if len(one) != len(two) {
			t.Fatalf("level %d, parts %v: %d parts on one CPU, %d on two", c.level, c.parts, len(one), len(two))
		}
		for i := range one {
			if !bytes.Equal(one[i], two[i]) {
				t.Fatalf("level %d, parts %v: part %d differs between one CPU and two", c.level, c.parts, i+1)
			}
		}
		if !c.parts {
			continue
		}
		if len(two) < 2 {
			t.Fatalf("%d part; the test wants its files split", len(two))
		}
		var ps []Part
		for _, b := range two {
			ps = append(ps, Part{R: bytes.NewReader(b), Size: int64(len(b))})
		}
		bundle, err := OpenParts(ps, priv.Public().(ed25519.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		var got int
		for _, ds := range bundle.Datasets() {
			for _, err := range bundle.Records(context.Background(), ds) {
				if err != nil {
					t.Fatal(err)
				}
				got++
			}
		}
		if got != aheadRecords {
			t.Fatalf("read %d records back, want %d", got, aheadRecords)
		}
	}
}

// TestCSVWriterAsEncodingCSV checks the CSV writer, which writes cells
// straight from the spool for speed, against encoding/csv (UseCRLF) over
// the cells with the formula apostrophe, byte for byte.
func TestCSVWriterAsEncodingCSV(t *testing.T) {
	cells := []string{
		"", "a", " a", "a ", "\ta", "\u00a0a", "\u0085a", "\u3000a", "\u2028a", `\.`, `\..`, ".", "a,b", ",", `a"b`, `"`,
		"a\rb", "a\r\nb", "\n", "\r", "=1", " =1", "  +x", "-", "@", "'", "＝1", " ＋", "－", "＠a", "\uff1e", "\xef\xbc",
		"\xff\xfe", "é", "=a,b", "-\"q\"", "\t=", "\r=", "\n=", "a\n=", "x\u00a0",
	}
	// The reference: what the writer did with encoding/csv.
	inert := func(s string) string {
		t := strings.TrimLeft(s, " ")
		if t == "" {
			return s
		}
		switch t[0] {
		case '=', '+', '-', '@', '\t', '\r', '\n':
			return "'" + s
		}
		switch r, _ := utf8.DecodeRuneInString(t); r {
		case '＝', '＋', '－', '＠':
			return "'" + s
		}
		return s
	}
	var want, got bytes.Buffer
	ref := csv.NewWriter(&want)
	ref.UseCRLF = true
	bw := bufio.NewWriter(&got)
	cw := newCSVWriter(bw)
	row := func(cs []string, text []bool) {
		rec := make([]string, len(cs))
		bs := make([][]byte, len(cs))
		for i, c := range cs {
			rec[i] = c
			if text[i] {
				rec[i] = inert(c)
			}
			bs[i] = []byte(c)
		}
		if err := ref.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := cw.row(bs, text); err != nil {
			t.Fatal(err)
		}
	}
	for _, text := range []bool{true, false} {
		for _, c := range cells {
			row([]string{c}, []bool{text})
			row([]string{c, c}, []bool{text, !text})
		}
	}
	x := uint32(1)
	for range 20000 {
		n := 1 + int(x%4)
		cs, text := make([]string, n), make([]bool, n)
		for i := range cs {
			for range 1 + x%3 {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				cs[i] += cells[x%uint32(len(cells))]
			}
			text[i] = x&64 != 0
		}
		row(cs, text)
	}
	if err := cw.header(cells); err != nil {
		t.Fatal(err)
	}
	hdr := make([]string, len(cells))
	for i, c := range cells {
		hdr[i] = inert(c)
	}
	ref.Write(hdr)
	ref.Flush()
	bw.Flush()
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		g, w := got.Bytes(), want.Bytes()
		i := 0
		for i < min(len(g), len(w)) && g[i] == w[i] {
			i++
		}
		t.Fatalf("the CSV differs from encoding/csv's at byte %d: %q, want %q", i, g[max(0, i-20):min(len(g), i+20)], w[max(0, i-20):min(len(w), i+20)])
	}
}
