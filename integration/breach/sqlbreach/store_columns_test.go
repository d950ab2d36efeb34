package sqlbreach_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr/breach"
	"github.com/gdprkit/gdpr/breach/breachtest"
	"github.com/gdprkit/gdpr/breach/sqlbreach"
	"github.com/gdprkit/gdpr/integration/testdb"
	"github.com/gdprkit/gdpr/sqldialect"
)

// rawRows returns every row of table as column name → value, the values
// as the driver gives them ([]byte, string, int64).
func rawRows(t *testing.T, db *sql.DB, table string) []map[string]any {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		m := map[string]any{}
		for i, c := range cols {
			m[strings.ToLower(c)] = vals[i]
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// asBytes is a raw value's bytes: a text or blob column's content, an
// integer's decimal digits.
func asBytes(v any) []byte {
	switch v := v.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	case nil:
		return nil
	}
	return fmt.Append(nil, v)
}

func asInt(t *testing.T, v any) int64 {
	t.Helper()
	switch v := v.(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case []byte: // MySQL's text protocol
		var n int64
		if _, err := fmt.Sscan(string(v), &n); err == nil {
			return n
		}
	}
	t.Fatalf("not an integer: %T %v", v, v)
	return 0
}

func columns(rows []map[string]any) string {
	if len(rows) == 0 {
		return ""
	}
	var cs []string
	for c := range rows[0] {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return strings.Join(cs, " ")
}

// TestStoredColumns appends events whose Data hold a canary and claims
// and settles notices whose Refs are keyed references of subjects with
// canary IDs, as breach.Log makes them, then reads every column of every
// row of both tables raw: the events are stored as given (Data byte for
// byte, the canary there and nowhere else), the notices' refs as given,
// and no value holds a subject ID, in clear, hex or base64.
func TestStoredColumns(t *testing.T) {
	testdb.ForEach(t, func(t *testing.T, d sqldialect.Dialect, db *sql.DB) {
		ctx := t.Context()
		s := testdb.Migrated(t, d, db, sqlbreach.New)
		const dataCanary = "CANARY-breach-description"
		subjects := []string{"CANARY-ann@example.org", "CANARY-bob@example.org", "CANARY-+49-30-1234567"}
		key := bytes.Repeat([]byte{7}, 32)
		id := breachtest.NewID()
		evs := []breach.Event{
			{Breach: id, Seq: 1, Time: t0, Kind: breach.KindRecorded, Data: []byte(`{"description":"` + dataCanary + ` 1"}`)},
			{Breach: id, Seq: 2, Time: t0.Add(time.Hour), Kind: breach.KindAssessed, Data: []byte(`{"description":"` + dataCanary + ` 2","risk":"high"}`)},
		}
		for _, ev := range evs {
			if err := s.Append(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		refs := map[string]breach.Outcome{}
		for i, subj := range subjects {
			m := hmac.New(sha256.New, key)
			m.Write([]byte(id))
			m.Write([]byte(subj))
			r := m.Sum(nil)
			if ok, err := s.Claim(ctx, breach.Notice{Breach: id, Ref: r, Time: t0, Outcome: breach.Pending}, false); !ok || err != nil {
				t.Fatalf("Claim: %v, %v", ok, err)
			}
			o := []breach.Outcome{breach.Sent, breach.Failed, breach.Pending}[i]
			if o != breach.Pending {
				if err := s.Settle(ctx, breach.Notice{Breach: id, Ref: r, Time: t0.Add(time.Minute), Outcome: o}); err != nil {
					t.Fatal(err)
				}
			}
			refs[string(r)] = o
		}

		check := func(table, col string, v any) {
			b := asBytes(v)
			for _, subj := range subjects {
				for _, form := range []string{subj, hex.EncodeToString([]byte(subj)), base64.StdEncoding.EncodeToString([]byte(subj)), strings.ToUpper(subj)} {
					if bytes.Contains(b, []byte(form)) {
						t.Errorf("%s.%s holds a subject ID", table, col)
					}
				}
			}
			if bytes.Contains(b, []byte(dataCanary)) && !(table == "gdpr_breach_events" && col == "data") {
				t.Errorf("%s.%s holds the events' data", table, col)
			}
		}

		rows := rawRows(t, db, "gdpr_breach_events")
		if got := columns(rows); got != "breach_id data kind seq time_us" {
			t.Errorf("gdpr_breach_events has columns %q", got)
		}
		if len(rows) != len(evs) {
			t.Fatalf("gdpr_breach_events: %d rows; want %d", len(rows), len(evs))
		}
		slices.SortFunc(rows, func(a, b map[string]any) int { return int(asInt(t, a["seq"]) - asInt(t, b["seq"])) })
		for i, row := range rows {
			ev := evs[i]
			if string(asBytes(row["breach_id"])) != id || asInt(t, row["seq"]) != ev.Seq || asInt(t, row["time_us"]) != ev.Time.UnixMicro() ||
				string(asBytes(row["kind"])) != string(ev.Kind) || !bytes.Equal(asBytes(row["data"]), ev.Data) {
				t.Errorf("event row %d is not the event as appended", i)
			}
			for c, v := range row {
				check("gdpr_breach_events", c, v)
			}
		}

		rows = rawRows(t, db, "gdpr_breach_notices")
		if got := columns(rows); got != "breach_id outcome ref time_us" {
			t.Errorf("gdpr_breach_notices has columns %q", got)
		}
		if len(rows) != len(subjects) {
			t.Fatalf("gdpr_breach_notices: %d rows; want %d", len(rows), len(subjects))
		}
		for _, row := range rows {
			r := asBytes(row["ref"])
			o, ok := refs[string(r)]
			if !ok || len(r) != 32 {
				t.Errorf("a notice row's ref %x is none of the refs claimed", r)
			}
			delete(refs, string(r))
			wantTime := t0.Add(time.Minute)
			if o == breach.Pending {
				wantTime = t0
			}
			if string(asBytes(row["breach_id"])) != id || string(asBytes(row["outcome"])) != string(o) || asInt(t, row["time_us"]) != wantTime.UnixMicro() {
				t.Errorf("notice row %x is not the notice as settled (%s)", r, o)
			}
			for c, v := range row {
				check("gdpr_breach_notices", c, v)
			}
		}
	})
}
