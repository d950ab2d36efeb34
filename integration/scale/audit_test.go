package scale_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/sqlaudit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// auditTemplates is how many entries the trail writes itself, one per
// subject subj(0) … subj(K-1), which the server copies round-robin to fill
// the log; subj(K) gets one entry, never copied (a rare subject).
const auditTemplates = 1000

// audit fills the trail with e.sz.audit entries and their Merkle tree,
// computed on the server, then measures Verify, proofs and queries.
//
// The trail appends the templates through audit.Log.Append (real
// pseudonyms, salts and bodies). The server then copies them: each copy
// gets its own time (in the body's time field and the time_us column)
// and its own nonce (the 16 bytes before the last, attribute-count, byte
// of the body), so every leaf hash differs. Then it recomputes the whole
// tree with sha256() level by level (RFC 6962: leaf = SHA-256(0x00 ‖
// body), node = SHA-256(0x01 ‖ left ‖ right)), after checking that its
// hashes of the templates' tree equal the ones the Log stored, writes them
// at their tlog storage indexes, and sets the head to the root, which Go
// computes from the stored hashes with tlog.TreeHash.
func (f *fixture) audit(t *testing.T) {
	e := f.e
	ctx := context.Background()
	const sec = "audit"
	N := e.sz.audit
	K := int64(auditTemplates)

	// The templates.
	k := f.openKit(t)
	trail := k.Trail()
	h, err := trail.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	T0 := h.Size
	base := time.Now().Add(-time.Duration(N+K+1) * time.Millisecond).Truncate(time.Millisecond)
	var evs []gdpr.Event
	for i := range K + 1 {
		evs = append(evs, gdpr.Event{Time: base.Add(time.Duration(T0+i) * time.Millisecond), Actor: gdpr.System("scale"),
			Action: "scale.event", Subject: subj(i), Outcome: gdpr.Success})
	}
	for len(evs) > 0 {
		n := min(len(evs), 500)
		if _, err := trail.Append(ctx, evs[:n]...); err != nil {
			t.Fatalf("Append: %v", err)
		}
		evs = evs[n:]
	}
	if err := k.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st, err := sqlaudit.New(e.db, sqldialect.Postgres, sqlaudit.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err = st.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	H0 := h.Size
	if H0 != T0+K+1 {
		t.Fatalf("head %d after the templates, want %d", H0, T0+K+1)
	}
	ent, hashes := prefix+"audit_entries", prefix+"audit_hashes"
	if bad := e.count(fmt.Sprintf("SELECT count(*) FROM %s WHERE idx >= %d AND idx < %d AND (subject IS NULL OR get_byte(body, length(body) - 1) <> 0 OR time_us <> %d + (idx - %d) * 1000)",
		ent, T0, H0, base.UnixMicro(), 0)); bad != 0 {
		t.Fatalf("%d templates are not of the shape the copies assume (a subject, no attributes, time base + idx ms)", bad)
	}

	var gen time.Duration
	if N > H0 {
		gen += e.exec("audit: templates table", fmt.Sprintf("CREATE UNLOGGED TABLE scale_gen_tmpl AS SELECT idx - %d AS k, subject, actor, body FROM %s WHERE idx >= %d AND idx < %d",
			T0, ent, T0, T0+K))
		gen += e.withoutIndexes(ent, func() time.Duration {
			return e.exec(fmt.Sprintf("audit: copy %d entries", N-H0), fmt.Sprintf(`INSERT INTO %s (idx, time_us, subject, actor, body)
SELECT g, %d + g * 1000, t.subject, t.actor,
  overlay(overlay(t.body PLACING int8send(%d + g * 1000) FROM 2 FOR 8)
    PLACING substring(sha256(int8send(g)) FROM 1 FOR 16) FROM length(t.body) - 16 FOR 16)
FROM generate_series(%d::bigint, %d::bigint) g JOIN scale_gen_tmpl t ON t.k = (g - %d) %% %d`,
				ent, base.UnixMicro(), base.UnixMicro(), H0, N-1, H0, K))
		})
		gen += e.exec("audit: drop templates table", "DROP TABLE scale_gen_tmpl")
	}
	gen += e.exec("audit: ANALYZE entries", "ANALYZE "+ent)
	gen += f.auditTree(t, N, H0)
	gen += e.exec("audit: ANALYZE hashes", "ANALYZE "+hashes)
	// The head: the root from the stored hashes.
	t0 := time.Now()
	root, err := tlog.TreeHash(N, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return st.ReadHashes(ctx, idx) }))
	if err != nil {
		t.Fatalf("TreeHash: %v", err)
	}
	e.exec("audit: set the head", "UPDATE "+prefix+"audit_head SET size = $1, root = $2 WHERE id = 1", N, root[:])
	gen += time.Since(t0)
	e.figure(sec, "generated", fmt.Sprintf("%d entries (%d written by Log.Append, the rest copied on the server) and %d stored hashes in %v; entries %s, hashes %s",
		N, H0, tlog.StoredHashCount(N), us(gen), e.tableSize(ent), e.tableSize(hashes)))

	// A kit opens on it: audit.New checks the log against its stored
	// checkpoints.
	t0 = time.Now()
	k = f.openKit(t)
	e.figure(sec, "kit.Open over the log (audit.New's consistency checks)", us(time.Since(t0)).String())
	trail = k.Trail()

	// Verify, with the heap and the process's peak RSS sampled.
	runtime.GC()
	resetPeakRSS()
	hwm0 := vmHWM()
	var peakHeap atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
	var lastLog time.Time
	t0 = time.Now()
	rep, err := trail.Verify(ctx, audit.VerifyOptions{Progress: func(done, total int64) {
		if time.Since(lastLog) > 15*time.Second {
			lastLog = time.Now()
			t.Logf("verify progress: %d of %d", done, total)
		}
	}})
	vt := time.Since(t0)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if !rep.OK() || rep.Size < N || rep.Entries != rep.Size {
		t.Fatalf("Verify: size %d, %d entries, problems %v", rep.Size, rep.Entries, rep.Problems)
	}
	e.figure(sec, "Verify (page 4096)", fmt.Sprintf("%d entries in %v (%s); peak HeapInuse %s, peak RSS %s (VmHWM reset before; %s at the start)",
		rep.Entries, us(vt), rate(rep.Entries, vt), mib(peakHeap.Load()), mib(vmHWM()), mib(hwm0)))
	cst, err := sqlaudit.New(e.cdb, sqldialect.Postgres, sqlaudit.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer cst.Close()
	pc := e.explainCalls(func() {
		if _, err := cst.Entries(ctx, N/2, 4096); err != nil {
			t.Errorf("Entries: %v", err)
		}
		lo := tlog.StoredHashIndex(0, N/2)
		idx := make([]int64, tlog.StoredHashIndex(0, N/2+4096)-lo)
		for i := range idx {
			idx[i] = lo + int64(i)
		}
		if _, err := cst.ReadHashes(ctx, idx); err != nil {
			t.Errorf("ReadHashes: %v", err)
		}
	})
	e.figure(sec, "Verify: EXPLAIN of one page's statements", pc.String())
	if len(pc.seqBig) > 0 {
		t.Errorf("Verify reads a big table sequentially: %v", pc.seqBig)
	}

	// Proofs at the current size, checked against a checkpoint.
	cp, err := trail.Checkpoint(ctx)
	if err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	size := cp.Size
	rng := rand.New(rand.NewPCG(5, 6))
	var pe, pcs durations
	for i := range 300 {
		idx := rng.Int64N(size)
		t0 := time.Now()
		p, err := trail.ProveEntry(ctx, idx, size)
		pe = append(pe, time.Since(t0))
		if err != nil {
			t.Fatalf("ProveEntry(%d, %d): %v", idx, size, err)
		}
		if i < 20 {
			_, body, err := trail.Entry(ctx, idx)
			if err != nil {
				t.Fatalf("Entry(%d): %v", idx, err)
			}
			if err := audit.CheckEntry(cp, idx, body, p); err != nil {
				t.Fatalf("CheckEntry(%d): %v", idx, err)
			}
		}
		old := 1 + rng.Int64N(size-1)
		t0 = time.Now()
		if _, err := trail.ProveConsistency(ctx, old, size); err != nil {
			t.Fatalf("ProveConsistency(%d, %d): %v", old, size, err)
		}
		pcs = append(pcs, time.Since(t0))
	}
	e.figure(sec, "ProveEntry at the full size", pe.String())
	e.figure(sec, "ProveConsistency to the full size from a random size", pcs.String())

	// Subject queries: a subject with N/K entries, paged through, and the
	// first page of random subjects; a subject with one entry.
	heavy := subj(3)
	var pages durations
	var got int64
	from := int64(0)
	t0 = time.Now()
	for {
		t1 := time.Now()
		es, err := trail.Entries(ctx, audit.Filter{Subject: heavy, From: from, Limit: audit.MaxPage})
		pages = append(pages, time.Since(t1))
		if err != nil {
			t.Fatalf("Entries: %v", err)
		}
		got += int64(len(es))
		if len(es) < audit.MaxPage {
			break
		}
		from = es[len(es)-1].Index + 1
	}
	all := time.Since(t0)
	want := int64(1) + (N-H0+K-1-3)/K
	if N <= H0 {
		want = 1
	}
	if got != want {
		t.Errorf("Entries of %s: %d, want %d", heavy, got, want)
	}
	e.figure(sec, "Entries by subject, paged (1000 a page)", fmt.Sprintf("%d entries of one subject in %v (%s); pages %v", got, us(all), rate(got, all), pages))
	var first durations
	for range 200 {
		s := subj(rng.Int64N(K))
		t1 := time.Now()
		es, err := trail.Entries(ctx, audit.Filter{Subject: s, Limit: 100})
		first = append(first, time.Since(t1))
		if err != nil || len(es) == 0 {
			t.Fatalf("Entries(%s): %d, %v", s, len(es), err)
		}
	}
	e.figure(sec, "Entries by subject, first page of 100, random subjects", first.String())
	var rare durations
	for range 50 {
		t1 := time.Now()
		es, err := trail.Entries(ctx, audit.Filter{Subject: subj(K), Limit: 100})
		rare = append(rare, time.Since(t1))
		if err != nil || len(es) != 1 {
			t.Fatalf("Entries of the rare subject: %d, %v", len(es), err)
		}
	}
	e.figure(sec, "Entries by subject, a subject with 1 entry", rare.String())
	pc = e.explainCalls(func() {
		if _, err := trail.Entries(ctx, audit.Filter{Subject: heavy, From: N / 2, Limit: audit.MaxPage}); err != nil {
			t.Errorf("Entries: %v", err)
		}
		if _, err := trail.Entries(ctx, audit.Filter{Subject: subj(K), Limit: 100}); err != nil {
			t.Errorf("Entries: %v", err)
		}
	})
	e.figure(sec, "Entries by subject: EXPLAIN of its statements", pc.String())
	if len(pc.seqBig) > 0 {
		t.Errorf("Entries reads a big table sequentially: %v", pc.seqBig)
	}
	if err := k.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// auditTree recomputes the log's whole Merkle tree on the server for
// entries [0, n), checks it against the hashes stored for [0, stored),
// and replaces the stored hashes with it.
func (f *fixture) auditTree(t *testing.T, n, stored int64) time.Duration {
	e := f.e
	var d time.Duration
	ent, hashes := prefix+"audit_entries", prefix+"audit_hashes"
	// sidx is tlog.StoredHashIndex: level l's n'th hash is at 2m -
	// popcount(m) + l, m = (n+1)·2^l - 1.
	d += e.exec("audit: sidx()", `CREATE FUNCTION scale_sidx(l int, n bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
AS $$ SELECT 2 * m - bit_count(m::bit(64)) + l FROM (SELECT ((n + 1) << l) - 1 AS m) s $$`)
	d += e.exec("audit: level 0", fmt.Sprintf("CREATE UNLOGGED TABLE scale_lvl_0 AS SELECT idx AS n, sha256('\\x00'::bytea || body) AS h FROM %s WHERE idx < %d", ent, n))
	levels := 1
	for cnt := n; cnt >= 2; cnt /= 2 {
		l := levels
		d += e.exec(fmt.Sprintf("audit: level %d (%d nodes)", l, cnt/2), fmt.Sprintf(`CREATE UNLOGGED TABLE scale_lvl_%d AS
SELECT n / 2 AS n, sha256('\x01'::bytea || h || nh) AS h
FROM (SELECT n, h, lead(h) OVER (ORDER BY n) AS nh FROM scale_lvl_%d) s WHERE n %% 2 = 0 AND nh IS NOT NULL`, l, l-1))
		levels++
	}
	// The templates' tree as the Log stored it.
	var match int64
	for l := range levels {
		match += e.count(fmt.Sprintf("SELECT count(*) FROM scale_lvl_%d v JOIN %s h ON h.idx = scale_sidx(%d, v.n) WHERE h.hash = v.h AND v.n < %d", l, hashes, l, stored>>l))
	}
	if want := tlog.StoredHashCount(stored); match != want {
		t.Fatalf("the server's tree matches %d of the %d hashes the Log stored: the SQL is not RFC 6962", match, want)
	}
	e.figure("audit", "server-side tree check", fmt.Sprintf("all %d hashes the Log stored for its first %d entries equal the server's", match, stored))
	d += e.exec("audit: empty hashes", "TRUNCATE "+hashes)
	d += e.withoutIndexes(hashes, func() time.Duration {
		var sum time.Duration
		for l := range levels {
			sum += e.exec(fmt.Sprintf("audit: store level %d", l), fmt.Sprintf("INSERT INTO %s (idx, hash) SELECT scale_sidx(%d, n), h FROM scale_lvl_%d", hashes, l, l))
		}
		return sum
	})
	for l := range levels {
		d += e.exec(fmt.Sprintf("audit: drop level %d", l), fmt.Sprintf("DROP TABLE scale_lvl_%d", l))
	}
	d += e.exec("audit: drop sidx()", "DROP FUNCTION scale_sidx(int, bigint)")
	if got, want := e.count("SELECT count(*) FROM "+hashes), tlog.StoredHashCount(n); got != want {
		t.Fatalf("%d stored hashes, want %d", got, want)
	}
	return d
}

// withoutIndexes drops table's indexes and primary key, runs load, and
// makes them again as they were (their definitions from the catalog).
func (e *env) withoutIndexes(table string, load func() time.Duration) time.Duration {
	t := e.t
	ctx := context.Background()
	type def struct{ name, sql string }
	var cons, idx []def
	rows, err := e.db.QueryContext(ctx, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u')", table)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d def
		rows.Scan(&d.name, &d.sql)
		cons = append(cons, d)
	}
	rows.Close()
	rows, err = e.db.QueryContext(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`, table)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d def
		rows.Scan(&d.name, &d.sql)
		idx = append(idx, d)
	}
	rows.Close()
	var sum time.Duration
	for _, d := range idx {
		sum += e.exec("drop index "+d.name, "DROP INDEX "+d.name)
	}
	for _, d := range cons {
		sum += e.exec("drop constraint "+d.name, "ALTER TABLE "+table+" DROP CONSTRAINT "+d.name)
	}
	sum += load()
	for _, d := range cons {
		sum += e.exec("add constraint "+d.name, "ALTER TABLE "+table+" ADD CONSTRAINT "+d.name+" "+d.sql)
	}
	for _, d := range idx {
		sum += e.exec("create index "+d.name, d.sql)
	}
	return sum
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// vmHWM is the process's peak resident set size, from /proc/self/status.
func vmHWM() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS resets VmHWM to the current RSS (Linux: clear_refs 5).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0o200) }
