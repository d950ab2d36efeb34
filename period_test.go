package gdpr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in   string
		want Period
		str  string // String of the result; in if empty
	}{
		{"P2Y", Period{Years: 2}, ""},
		{"P6M", Period{Months: 6}, ""},
		{"P30D", Period{Days: 30}, ""},
		{"P1Y6M", Period{Years: 1, Months: 6}, ""},
		{"P3W", Period{Weeks: 3}, ""},
		{"P1Y2M3W4D", Period{1, 2, 3, 4}, ""},
		{"P1M1D", Period{Months: 1, Days: 1}, ""},
		{"P0D", Period{}, ""},
		{"P0Y", Period{}, "P0D"},
		{"P0Y0M0W0D", Period{}, "P0D"},
		{"P010Y", Period{Years: 10}, "P10Y"},
		{"P18M", Period{Months: 18}, ""},
		{"P10000Y", Period{Years: 10000}, ""},
		{"P120000M", Period{Months: 120000}, ""},
		{"P3652425D", Period{Days: 3652425}, ""},
		{"P521775W", Period{Weeks: 521775}, ""},
		{"P9999Y12M", Period{Years: 9999, Months: 12}, ""},
	}
	for _, tt := range tests {
		got, err := ParsePeriod(tt.in)
		if err != nil {
			t.Errorf("ParsePeriod(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParsePeriod(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		want := tt.str
		if want == "" {
			want = tt.in
		}
		if s := got.String(); s != want {
			t.Errorf("ParsePeriod(%q).String() = %q, want %q", tt.in, s, want)
		}
	}
}

func TestParsePeriodErrors(t *testing.T) {
	for _, in := range []string{
		"", "P", "p1Y", "P1y", "1Y", "Y", "PY", "P1", "P1Y1", "P-1Y", "-P1Y", "P+1Y",
		"P1.5Y", "P1,5Y", "PT1H", "P1DT1H", "P1D1Y", "P1M1Y", "P1Y1Y", "P1D1D", "P1X",
		" P1Y", "P1Y ", "P 1Y", "P1Y\n", "P1W1M", "PP1Y", "P１Y",
		"P10001Y", "P120001M", "P3652426D", "P521776W", "P10000Y1D", "P9999Y13M",
		"P99999999999999999999999Y", "P" + strings.Repeat("9", 1000) + "D",
	} {
		p, err := ParsePeriod(in)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("ParsePeriod(%q) = %+v, %v; want error wrapping ErrInvalid", in, p, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("ParsePeriod error is %d bytes long", len(err.Error()))
		}
	}
}

func TestPeriodValidate(t *testing.T) {
	tests := []struct {
		p  Period
		ok bool
	}{
		{Period{}, true},
		{Period{Years: 10000}, true},
		{Period{Years: -1}, false},
		{Period{Days: -1}, false},
		{Period{Years: 10000, Days: 1}, false},
		{Period{Years: 1 << 40}, false},
		{Period{Months: -1 << 40}, false},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%+v.Validate() = %v, want ok %v", tt.p, err, tt.ok)
		}
		if _, err := tt.p.MarshalText(); (err == nil) != tt.ok {
			t.Errorf("%+v.MarshalText() error = %v, want ok %v", tt.p, err, tt.ok)
		}
	}
}

func TestPeriodJSON(t *testing.T) {
	type doc struct {
		Keep Period `json:"keep"`
		Opt  Period `json:"opt,omitzero"`
	}
	b, err := json.Marshal(doc{Keep: Period{Years: 1, Months: 6}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"keep":"P1Y6M"}`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"keep":"P2Y","opt":"P30D"}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Keep != (Period{Years: 2}) || d.Opt != (Period{Days: 30}) {
		t.Errorf("Unmarshal = %+v", d)
	}
	if err := json.Unmarshal([]byte(`{"keep":"PT1H"}`), &d); !errors.Is(err, ErrInvalid) {
		t.Errorf("Unmarshal of PT1H error = %v, want ErrInvalid", err)
	}
	if _, err := json.Marshal(doc{Keep: Period{Days: -1}}); err == nil {
		t.Error("Marshal of a negative period succeeded")
	}
}

func TestPeriodAddTo(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	tests := []struct {
		p    string
		from time.Time
		want time.Time
	}{
		{"P1M", date(2025, 1, 31, time.UTC), date(2025, 2, 28, time.UTC)},
		{"P1M", date(2024, 1, 31, time.UTC), date(2024, 2, 29, time.UTC)},
		{"P1M", date(2026, 3, 31, time.UTC), date(2026, 4, 30, time.UTC)},
		{"P1M", date(2026, 3, 15, time.UTC), date(2026, 4, 15, time.UTC)},
		{"P1M", date(2025, 12, 31, time.UTC), date(2026, 1, 31, time.UTC)},
		{"P3M", date(2025, 11, 30, time.UTC), date(2026, 2, 28, time.UTC)},
		{"P1Y", date(2024, 2, 29, time.UTC), date(2025, 2, 28, time.UTC)},
		{"P4Y", date(2024, 2, 29, time.UTC), date(2028, 2, 29, time.UTC)},
		{"P1Y6M", date(2025, 8, 31, time.UTC), date(2027, 2, 28, time.UTC)},
		{"P13M", date(2025, 1, 31, time.UTC), date(2026, 2, 28, time.UTC)},
		// Months first, clamped, then days.
		{"P1M1D", date(2025, 1, 31, time.UTC), date(2025, 3, 1, time.UTC)},
		{"P1M1W", date(2025, 1, 31, time.UTC), date(2025, 3, 7, time.UTC)},
		{"P30D", date(2025, 1, 31, time.UTC), date(2025, 3, 2, time.UTC)},
		{"P2W", date(2025, 12, 25, time.UTC), date(2026, 1, 8, time.UTC)},
		{"P0D", date(2025, 1, 31, time.UTC), date(2025, 1, 31, time.UTC)},
		// The clock time is kept across a daylight-saving change.
		{"P1D", time.Date(2026, 3, 28, 12, 30, 0, 7, berlin), time.Date(2026, 3, 29, 12, 30, 0, 7, berlin)},
		{"P1M", time.Date(2026, 10, 1, 9, 0, 0, 0, berlin), time.Date(2026, 11, 1, 9, 0, 0, 0, berlin)},
	}
	for _, tt := range tests {
		p, err := ParsePeriod(tt.p)
		if err != nil {
			t.Fatal(err)
		}
		got := p.AddTo(tt.from)
		if !got.Equal(tt.want) || got.Location() != tt.want.Location() {
			t.Errorf("%s.AddTo(%v) = %v, want %v", tt.p, tt.from, got, tt.want)
		}
	}
	// 28 Mar to 29 Mar 2026 in Berlin is 23 hours.
	from := time.Date(2026, 3, 28, 12, 0, 0, 0, berlin)
	if d := (Period{Days: 1}).AddTo(from).Sub(from); d != 23*time.Hour {
		t.Errorf("P1D across the spring change is %v, want 23h", d)
	}
}

func date(y int, m time.Month, d int, loc *time.Location) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"P2Y", "P6M", "P30D", "P1Y6M", "P1Y2M3W4D", "P0D", "P", "",
		"PT1H", "P-1Y", "P10000Y", "P10001Y", "P3652425D", "P1D1Y", "P01Y", "P99999999999999999999Y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParsePeriod(%q) error %v does not wrap ErrInvalid", s, err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParsePeriod(%q) = %+v, which fails Validate: %v", s, p, err)
		}
		q, err := ParsePeriod(p.String())
		if err != nil || q != p {
			t.Fatalf("ParsePeriod(%q) = %+v; ParsePeriod(%q) = %+v, %v", s, p, p.String(), q, err)
		}
		p.AddTo(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC))
	})
}
