package kit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// badOpen is one refused call of kit.Open.
type badOpen struct {
	name string
	// open calls kit.Open with good arguments but for the one at fault;
	// prefix is the table prefix to use, so that each case would create
	// tables of its own if it migrated.
	open func(ctx context.Context, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error)
	// fields are the acceptable Fields of the *kit.Error.
	fields []string
	// part: the argument is refused by the part it configures, which
	// the doc lets come "as it is" (gdpr.ErrInvalid, not kit.ErrInvalid).
	part bool
}

// keyFields are the Fields that name a key of Keys: the argument, or the
// key.
func keyFields(name string) []string {
	return []string{"keys", "Keys", name, "keys." + name, "Keys." + name}
}

// badOpens are the bad arguments and options of kit.Open: each a
// rejection the doc promises as an *Error wrapping kit.ErrInvalid (and
// gdpr.ErrInvalid), with nothing opened.
func badOpens(t *testing.T) []badOpen {
	blobs, err := export.DirBlobs(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	send := func(context.Context, gdpr.Request, export.Delivery, []export.Token) error { return nil }
	nop := gdpr.EraserFunc(func(context.Context, gdpr.SubjectID) (gdpr.ErasureReport, error) { return gdpr.ErasureReport{}, nil })
	// withKeys is an Open with keys changed by change.
	withKeys := func(change func(*kit.Keys)) func(context.Context, *sql.DB, sqldialect.Dialect, kit.Keys, string) (*kit.Kit, error) {
		return func(ctx context.Context, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error) {
			change(&keys)
			return kit.Open(ctx, db, d, register(), keys, kit.WithTablePrefix(prefix))
		}
	}
	// withOpts is an Open with these options after the prefix.
	withOpts := func(opts ...kit.Option) func(context.Context, *sql.DB, sqldialect.Dialect, kit.Keys, string) (*kit.Kit, error) {
		return func(ctx context.Context, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error) {
			return kit.Open(ctx, db, d, register(), keys, append([]kit.Option{kit.WithTablePrefix(prefix)}, opts...)...)
		}
	}
	return []badOpen{
		// The arguments.
		{name: "nil ctx", fields: []string{"ctx"}, open: func(_ context.Context, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error) {
			//lint:ignore SA1012 a nil ctx is the case under test
			return kit.Open(nil, db, d, register(), keys, kit.WithTablePrefix(prefix))
		}},
		{name: "nil db", fields: []string{"db"}, open: func(ctx context.Context, _ *sql.DB, d sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error) {
			return kit.Open(ctx, nil, d, register(), keys, kit.WithTablePrefix(prefix))
		}},
		{name: "nil register", fields: []string{"reg"}, open: func(ctx context.Context, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error) {
			return kit.Open(ctx, db, d, nil, keys, kit.WithTablePrefix(prefix))
		}},
		{name: "register that does not validate", fields: []string{"reg"}, open: func(ctx context.Context, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error) {
			return kit.Open(ctx, db, d, &gdpr.Register{}, keys, kit.WithTablePrefix(prefix))
		}},
		{name: "unknown dialect", fields: []string{"d", "dialect"}, open: func(ctx context.Context, db *sql.DB, _ sqldialect.Dialect, keys kit.Keys, prefix string) (*kit.Kit, error) {
			return kit.Open(ctx, db, sqldialect.Dialect(200), register(), keys, kit.WithTablePrefix(prefix))
		}},

		// The keys.
		{name: "zero KEK", fields: keyFields("KEK"), open: withKeys(func(k *kit.Keys) { k.KEK = crypto.KEK{} })},
		{name: "nil AuditSigner", fields: keyFields("AuditSigner"), open: withKeys(func(k *kit.Keys) { k.AuditSigner = nil })},
		{name: "nil AuditVerifier", fields: keyFields("AuditVerifier"), open: withKeys(func(k *kit.Keys) { k.AuditVerifier = nil })},
		{name: "short PseudonymKey", fields: keyFields("PseudonymKey"), open: withKeys(func(k *kit.Keys) { k.PseudonymKey = k.PseudonymKey[:8] })},
		{name: "short SubjectKey", fields: keyFields("SubjectKey"), open: withKeys(func(k *kit.Keys) { k.SubjectKey = k.SubjectKey[:erasure.MinSubjectKeyLen-1] })},
		{name: "nil ReceiptKey", fields: keyFields("ReceiptKey"), open: withKeys(func(k *kit.Keys) { k.ReceiptKey = nil })},
		{name: "no UnsubscribeSecrets", fields: keyFields("UnsubscribeSecrets"), open: withKeys(func(k *kit.Keys) { k.UnsubscribeSecrets = nil })},

		// The options.
		{name: "nil option", fields: []string{"opts"}, open: withOpts(nil)},
		{name: "bad table prefix", fields: []string{"WithTablePrefix"}, open: func(ctx context.Context, db *sql.DB, d sqldialect.Dialect, keys kit.Keys, _ string) (*kit.Kit, error) {
			return kit.Open(ctx, db, d, register(), keys, kit.WithTablePrefix("Bad-Prefix; DROP TABLE x"))
		}},
		{name: "nil anchor", fields: []string{"WithAnchor"}, open: withOpts(kit.WithAnchor(nil))},
		{name: "nil journal", fields: []string{"WithJournal"}, open: withOpts(kit.WithJournal(nil))},
		{name: "exports without blobs", fields: []string{"WithExports"}, open: withOpts(kit.WithExports(nil, send))},
		{name: "exports without send", fields: []string{"WithExports"}, open: withOpts(kit.WithExports(blobs, nil))},
		{name: "target without an Eraser", fields: []string{"WithTargets"}, open: withOpts(kit.WithTargets(erasure.Target{Name: "crm"}))},
		{name: "source without an Exporter", fields: []string{"WithSources"}, open: withOpts(kit.WithSources(export.Source{Name: "crm"}))},
		{name: "sweep interval under a minute", fields: []string{"WithSweepInterval"}, open: withOpts(kit.WithSweepInterval(time.Second))},
		{name: "nil notifier", fields: []string{"WithNotifier"}, open: withOpts(kit.WithNotifier(nil))},
		{name: "nil location", fields: []string{"WithLocation"}, open: withOpts(kit.WithLocation(nil))},
		{name: "nil clock", fields: []string{"WithClock"}, open: withOpts(kit.WithClock(nil))},
		{name: "nil logger", fields: []string{"WithLogger"}, open: withOpts(kit.WithLogger(nil))},
		// Conflicting options: a host target named as one of the kit's own,
		// and two host targets of one name.
		{name: "host target named consent", fields: []string{"WithTargets"},
			open: withOpts(kit.WithTargets(erasure.Target{Name: "consent", Eraser: nop}))},
		{name: "two host targets of one name", fields: []string{"WithTargets"},
			open: withOpts(kit.WithTargets(erasure.Target{Name: "crm", Eraser: nop}), kit.WithTargets(erasure.Target{Name: "crm", Eraser: nop}))},
		// A package's own option, passed through, that the package refuses:
		// that part's error, as it is, inside an *Error naming the part.
		{name: "bad keyring option", fields: []string{"keys", "WithCryptoOptions"}, part: true,
			open: withOpts(kit.WithCryptoOptions(crypto.WithCache(-1, time.Minute)))},
	}
}

// TestOpenRefusesBadInput calls kit.Open with each bad argument or option
// in turn, on every database: each is an *Error with the Field at fault,
// wrapping kit.ErrInvalid and gdpr.ErrInvalid (a refusal of a package's
// own option: gdpr.ErrInvalid, inside an *Error naming the part), never
// a panic, and the database has no table more than before: Open opened
// nothing (a part's refusal of its own option may come after the
// migrations, and is not checked for tables). A good Open on the same database then succeeds and creates
// its tables, which shows the listing is not blind.
func TestOpenRefusesBadInput(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		keys := testKeys(t)
		for i, c := range badOpens(t) {
			t.Run(c.name, func(t *testing.T) {
				prefix := fmt.Sprintf("bad%02d_", i)
				before := tables(t, d, db)
				k, err := callOpen(func() (*kit.Kit, error) { return c.open(ctx, db, d, keys, prefix) })
				if k != nil {
					k.Close(ctx)
				}
				if k != nil || err == nil {
					t.Fatalf("Open: %v, %v; want an error", k, err)
				}
				var ke *kit.Error
				switch {
				case !errors.As(err, &ke):
					t.Errorf("Open: %v (%T), not a *kit.Error", err, err)
				case !slices.Contains(c.fields, ke.Field):
					t.Errorf("Open: Field %q, want one of %q (%v)", ke.Field, c.fields, err)
				case ke.Op != "open":
					t.Errorf("Open: Op %q, want open", ke.Op)
				}
				if !errors.Is(err, gdpr.ErrInvalid) {
					t.Errorf("Open: %v, not gdpr.ErrInvalid", err)
				}
				if !c.part && !errors.Is(err, kit.ErrInvalid) {
					t.Errorf("Open: %v, not kit.ErrInvalid", err)
				}
				after := tables(t, d, db)
				if c.part {
					// A part's refusal may come once the schema is there.
					return
				}
				if added := withPrefix(after, prefix); len(added) > 0 || len(after) != len(before) {
					t.Errorf("a refused Open created %d tables (%d with its prefix %s, e.g. %v)", len(after)-len(before), len(added), prefix, first(added, 3))
				}
			})
		}

		// The same Open with good input works, and its tables are seen.
		k, err := kit.Open(ctx, db, d, register(), keys, kit.WithTablePrefix("good_"))
		if err != nil {
			t.Fatalf("Open with good input: %v", err)
		}
		if err := k.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		if got := withPrefix(tables(t, d, db), "good_"); len(got) < 6 {
			t.Errorf("a good Open created the tables %v: the listing cannot tell", got)
		}
	})
}

// TestRefusedOpenLeavesNothingRunning refuses an Open after the audit
// trail is made (a short SubjectKey, no UnsubscribeSecrets, a host target
// named as one of the kit's own): the refused Open must leave no
// background work of its parts behind, as a good Open's Close does not.
// A trail left running keeps checkpointing over stores that are closed,
// logging errors for as long as the process lives.
func TestRefusedOpenLeavesNothingRunning(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := context.Background()
		keys := testKeys(t)
		nop := gdpr.EraserFunc(func(context.Context, gdpr.SubjectID) (gdpr.ErasureReport, error) { return gdpr.ErasureReport{}, nil })
		// The baseline: a good Open's Close stops the trail's work.
		before := trailGoroutines()
		k, err := kit.Open(ctx, db, d, register(), keys)
		if err != nil {
			t.Fatal(err)
		}
		if n := trailGoroutines(); n <= before {
			t.Fatalf("an open kit shows %d audit trail goroutines, as many as before (%d): the count is blind", n, before)
		}
		if err := k.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if n := waitGoroutines(before); n > before {
			t.Fatalf("after Close, %d audit trail goroutines, %d before Open", n, before)
		}
		for _, c := range []struct {
			name string
			keys func(kit.Keys) kit.Keys
			opts []kit.Option
		}{
			{name: "short SubjectKey", keys: func(k kit.Keys) kit.Keys { k.SubjectKey = k.SubjectKey[:8]; return k }},
			{name: "no UnsubscribeSecrets", keys: func(k kit.Keys) kit.Keys { k.UnsubscribeSecrets = nil; return k }},
			{name: "host target named consent", keys: func(k kit.Keys) kit.Keys { return k },
				opts: []kit.Option{kit.WithTargets(erasure.Target{Name: "consent", Eraser: nop})}},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := trailGoroutines()
				k, err := kit.Open(ctx, db, d, register(), c.keys(keys), c.opts...)
				if err == nil {
					k.Close(ctx)
					t.Fatal("Open succeeded")
				}
				if n := waitGoroutines(before); n > before {
					t.Errorf("a refused Open (%v) left %d audit trail goroutines running", err, n-before)
				}
			})
		}
	})
}

// trailGoroutines counts the goroutines of audit trails (audit.Log's
// flusher and checkpointer) in the process.
func trailGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "audit.(*Log).checkpointer") || strings.Contains(g, "audit.(*Log).flusher") {
			count++
		}
	}
	return count
}

// waitGoroutines waits up to 2 s for the audit trail goroutines to be at
// most want, and returns their number.
func waitGoroutines(want int) int {
	stop := time.Now().Add(2 * time.Second)
	for {
		n := trailGoroutines()
		if n <= want || time.Now().After(stop) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// callOpen calls open, turning a panic into an error of the test.
func callOpen(open func() (*kit.Kit, error)) (k *kit.Kit, err error) {
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, fmt.Errorf("Open panicked: %v", r)
		}
	}()
	return open()
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
