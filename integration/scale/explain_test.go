package scale_test

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// scan is one node of a plan that reads a relation.
type scan struct {
	Node, Relation, Index string
}

func (s scan) String() string {
	if s.Index != "" {
		return s.Node + " using " + s.Index + " on " + s.Relation
	}
	return s.Node + " on " + s.Relation
}

// planNode is the part of EXPLAIN (FORMAT JSON) that scans need.
type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Index    string     `json:"Index Name"`
	Plans    []planNode `json:"Plans"`
}

func (n planNode) scans(out []scan) []scan {
	if n.Relation != "" {
		out = append(out, scan{n.NodeType, n.Relation, n.Index})
	}
	for _, c := range n.Plans {
		out = c.scans(out)
	}
	return out
}

// explainable reports whether q is a statement EXPLAIN takes.
func explainable(q string) bool {
	w := strings.ToUpper(strings.Fields(strings.TrimSpace(q) + " x")[0])
	switch w {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH":
		return true
	}
	return false
}

// explain returns the relation scans of q's plan for args: the custom
// plan the server makes for these values, and the generic plan (what a
// cached prepared statement may switch to after five runs), from PREPARE
// and EXPLAIN EXECUTE under plan_cache_mode = force_generic_plan. It runs
// in a transaction it rolls back; EXPLAIN without ANALYZE executes
// nothing.
func explain(ctx context.Context, db *sql.DB, q string, args []any) (custom, generic []scan, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback()
	custom, err = explainOne(ctx, tx, "EXPLAIN (FORMAT JSON) "+q, args)
	if err != nil {
		return nil, nil, fmt.Errorf("custom plan: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "SAVEPOINT g"); err != nil {
		return custom, nil, err
	}
	generic, gerr := func() ([]scan, error) {
		if _, err := tx.ExecContext(ctx, "SET LOCAL plan_cache_mode = force_generic_plan"); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "PREPARE scale_explain AS "+q); err != nil {
			return nil, err
		}
		// EXECUTE takes no bound parameters: the values go in as
		// literals of unknown type, which the server casts to the
		// prepared statement's parameter types.
		lits := make([]string, len(args))
		for i, a := range args {
			l, err := literal(a)
			if err != nil {
				return nil, err
			}
			lits[i] = l
		}
		ex := "EXPLAIN (FORMAT JSON) EXECUTE scale_explain"
		if len(args) > 0 {
			ex += "(" + strings.Join(lits, ", ") + ")"
		}
		s, err := explainOne(ctx, tx, ex, nil)
		tx.ExecContext(ctx, "DEALLOCATE scale_explain")
		return s, err
	}()
	if gerr != nil {
		// The server may not infer the parameters' types through
		// EXECUTE; the custom plan stands alone then.
		tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT g")
		tx.ExecContext(ctx, "DEALLOCATE ALL")
		genericErr = gerr
		return custom, nil, nil
	}
	return custom, generic, nil
}

// literal spells v as a SQL literal.
func literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case []byte:
		return "'\\x" + hex.EncodeToString(x) + "'", nil
	case int64, int32, int, float64:
		return fmt.Sprint(x), nil
	case bool:
		return fmt.Sprint(x), nil
	case time.Time:
		return "'" + x.UTC().Format(time.RFC3339Nano) + "'", nil
	}
	return "", fmt.Errorf("no literal for %T", v)
}

func explainOne(ctx context.Context, tx *sql.Tx, q string, args []any) ([]scan, error) {
	var out string
	if err := tx.QueryRowContext(ctx, q, args...).Scan(&out); err != nil {
		return nil, err
	}
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil {
		return nil, err
	}
	var s []scan
	for _, p := range plans {
		s = p.Plan.scans(s)
	}
	return s, nil
}

func scansText(s []scan) string {
	if s == nil {
		return "n/a"
	}
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.String()
	}
	return strings.Join(parts, ", ")
}

// genericErr is the last failure to get a generic plan, for debugging.
var genericErr error

var spaces = regexp.MustCompile(`\s+`)

// shortSQL is q on one line, cut to n characters.
func shortSQL(q string, n int) string {
	q = spaces.ReplaceAllString(strings.TrimSpace(q), " ")
	if len(q) > n {
		return q[:n] + "…"
	}
	return q
}

// bigRows is the size from which a table counts as big: a sequential
// scan of it is a failure of the plan check.
const bigRows = 10_000

// planCheck is the EXPLAIN of every statement one call ran.
type planCheck struct {
	statements, explained int
	scans                 map[string]int // scan text → count, custom and generic plans
	seqBig                []string       // statements with a sequential scan of a big table
	lines                 []string       // one per distinct statement
}

// explainCalls runs fn with the capture on, then EXPLAINs every distinct
// statement it ran (custom and generic plan) and checks that none reads a
// big table sequentially.
func (e *env) explainCalls(fn func()) *planCheck {
	e.t.Helper()
	ctx := context.Background()
	e.cap.start()
	fn()
	stmts := e.cap.stop()
	pc := &planCheck{statements: len(stmts), scans: map[string]int{}}
	big := map[string]bool{}
	rows, err := e.db.QueryContext(ctx, "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' AND reltuples >= $1", bigRows)
	if err != nil {
		e.t.Fatalf("big tables: %v", err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		big[n] = true
	}
	rows.Close()
	seen := map[string]bool{}
	for _, s := range distinct(stmts) {
		if !explainable(s.query) {
			continue
		}
		args := make([]any, len(s.args))
		for i, a := range s.args {
			args[i] = a.Value
		}
		custom, generic, err := explain(ctx, e.db, s.query, args)
		if err != nil {
			e.t.Errorf("EXPLAIN %s: %v", shortSQL(s.query, 200), err)
			continue
		}
		pc.explained++
		var bad []string
		for _, sc := range append(append([]scan{}, custom...), generic...) {
			if sc.Node == "Seq Scan" && big[sc.Relation] {
				bad = append(bad, sc.String())
			}
		}
		line := shortSQL(s.query, 160) + " → custom: " + scansText(custom) + "; generic: " + scansText(generic)
		if len(bad) > 0 {
			pc.seqBig = append(pc.seqBig, line)
		}
		if !seen[s.query] {
			seen[s.query] = true
			pc.lines = append(pc.lines, line)
			for _, sc := range custom {
				pc.scans["custom "+sc.String()]++
			}
			for _, sc := range generic {
				pc.scans["generic "+sc.String()]++
			}
		}
	}
	return pc
}

func (pc *planCheck) String() string {
	keys := make([]string, 0, len(pc.scans))
	for k := range pc.scans {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, pc.scans[k])
	}
	s := fmt.Sprintf("%d statements run, %d distinct explained; scans of distinct statement texts: %s", pc.statements, pc.explained, strings.Join(parts, "; "))
	if len(pc.seqBig) == 0 {
		return s + "; no sequential scan of a table of ≥10,000 rows"
	}
	return s + fmt.Sprintf("; %d with a SEQUENTIAL SCAN of a big table", len(pc.seqBig))
}
