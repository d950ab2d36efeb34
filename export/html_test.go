package export

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

const (
	xssScript = `<script>alert(1)</script>`
	xssImg    = `"><img src=x onerror=alert(1)>`
	xssTable  = `</td></tr></table><b>`
	badUTF8   = "caf\xe9 \xff\xfe end"
)

// The escaped forms html/template and HTMLEscapeString both write.
const (
	xssScriptEsc = `&lt;script&gt;alert(1)&lt;/script&gt;`
	xssImgEsc    = `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`
)

var htmlGenerated = time.Date(2026, 3, 1, 13, 4, 5, 0, time.FixedZone("CET", 3600))

func testInformation() *Information {
	return &Information{
		Controller:     gdpr.Party{Name: "Acme GmbH", Address: "Hauptstr. 1, 10115 Berlin", Email: "privacy@acme.example", Phone: "+49 30 1234", URL: "https://acme.example/privacy"},
		Representative: &gdpr.Party{Name: "Acme EU Rep", Email: "rep@acme.example"},
		DPO:            &gdpr.Party{Name: "Data Protection Officer", Email: "dpo@acme.example"},
		Activities: []ActivityInfo{{
			ID: "orders", Name: "Order handling", Purpose: "order_fulfilment",
			Description: "We process your orders and deliver them.",
			Basis:       gdpr.Contract, BasisArticle: gdpr.Contract.Article(),
			Categories: []gdpr.Category{
				{ID: "contact", Description: "Name and address"},
				{ID: "health_notes", Description: "Allergies you told us", Special: gdpr.HealthData},
			},
			Recipients: []gdpr.Recipient{{Name: "Parcel Service", Kind: gdpr.Processor, Country: "DE"}},
			Retention:  gdpr.RetentionRule{Period: gdpr.Period{Years: 2, Months: 6}, Description: "after the last order"},
			Source:     "Credit bureau Schufa",
			AutomatedDecisions: &gdpr.AutomatedDecisions{
				Logic:        "A score from your order history.",
				Significance: "A low score means prepayment only.",
			},
			Transfers: []gdpr.Transfer{
				{Country: "US", Recipient: "Cloud Hosting Inc.", Safeguard: gdpr.StandardContractualClauses, Reference: "SCC-2021-07"},
				{Organisation: "World Customs Organization", Safeguard: gdpr.Derogation, Derogation: "e"},
			},
			Records: 3,
		}},
		Disclosures: []gdpr.Disclosure{{
			Recipient: "Debt Collectors Ltd", Kind: gdpr.ThirdParty, Reference: "CUST-778899",
			Categories: []string{"contact"}, At: time.Date(2025, 7, 9, 8, 30, 0, 0, time.FixedZone("X", -5*3600)),
		}},
		Rights:    Rights(),
		Authority: &gdpr.Party{Name: "Berliner Beauftragte für Datenschutz", URL: "https://www.datenschutz-berlin.de"},
	}
}

// rowsOf returns a Rows func over fixed rows.
func rowsOf(rows ...[]string) func(func([]string) error) error {
	return func(emit func([]string) error) error {
		for _, r := range rows {
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func testAccessPage() *htmlPage {
	return &htmlPage{
		Kind: gdpr.KindAccess, Request: "req-42", Generated: htmlGenerated,
		Info: testInformation(), Controller: "Acme GmbH",
		Datasets: []htmlDataset{
			{
				Name: "profile", Records: 2, Shown: 2,
				Files:   []string{"data/profile.json", "data/profile.csv"},
				Columns: []string{"id", "time", "fields.name", "fields.note"},
				Rows: rowsOf(
					[]string{"p1", "2025-01-02T03:04:05Z", "Erika Mustermann", xssScript},
					[]string{"p2", "2025-01-03T03:04:05Z", xssImg, xssTable},
				),
			},
			{
				Name: "orders", Records: 1, Shown: 1,
				Files:   []string{"data/orders.json", "data/orders.csv"},
				Columns: []string{"id", "fields.item", xssScript},
				Rows:    rowsOf([]string{"o1", "Blue teapot", "x"}),
			},
		},
	}
}

func render(t testing.TB, p *htmlPage) string {
	t.Helper()
	var buf bytes.Buffer
	if err := writeHTML(&buf, p); err != nil {
		t.Fatalf("writeHTML: %v", err)
	}
	return buf.String()
}

// allowedTags are the elements the page may contain; anything else that
// starts with '<' is an injection.
var allowedTags = map[string]bool{
	"!doctype": true, "html": true, "head": true, "meta": true, "title": true, "style": true,
	"body": true, "header": true, "main": true, "section": true, "nav": true, "footer": true,
	"h1": true, "h2": true, "h3": true, "p": true, "div": true, "span": true, "strong": true,
	"code": true, "br": true, "a": true, "ul": true, "li": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
}

var (
	tagRE       = regexp.MustCompile(`<(/?)([!a-zA-Z][a-zA-Z0-9]*)([^<>]*)>`)
	forbiddenRE = regexp.MustCompile(`(^|\s)(on[a-z]+|style|src|srcset|action|formaction)\s*=`)
)

// checkMarkup checks that every '<' of out opens an allowed tag, that no
// tag has an event handler, style or src attribute, and that the tags
// balance as the page writes them.
func checkMarkup(t *testing.T, out string) {
	t.Helper()
	body := out
	if i, j := strings.Index(out, "<style>"), strings.Index(out, "</style>"); i >= 0 && j > i {
		if strings.Contains(out[i+len("<style>"):j], "<") {
			t.Errorf("'<' inside the style block")
		}
		body = out[:i+len("<style>")] + out[j:]
	}
	if n := strings.Count(body, "<"); n != len(tagRE.FindAllString(body, -1)) {
		t.Errorf("%d '<' but %d well-formed tags: a stray '<' in the page", n, len(tagRE.FindAllString(body, -1)))
	}
	open := map[string]int{}
	for _, m := range tagRE.FindAllStringSubmatch(body, -1) {
		name := strings.ToLower(m[2])
		if !allowedTags[name] {
			t.Errorf("unexpected element <%s%s>", m[1]+m[2], m[3])
		}
		attrs := strings.ToLower(m[3])
		if forbiddenRE.MatchString(attrs) {
			t.Errorf("forbidden attribute in <%s%s>", m[2], m[3])
		}
		if m[1] == "/" {
			open[name]--
		} else {
			open[name]++
		}
	}
	for _, name := range []string{"table", "tr", "td", "th", "tbody", "thead", "section", "div", "ul", "li", "p", "a", "code", "span"} {
		if open[name] != 0 {
			t.Errorf("<%s> opened %d more times than closed", name, open[name])
		}
	}
}

func TestHTMLEscapesValues(t *testing.T) {
	p := testAccessPage()
	// Planted in the information too, which is the controller's but
	// may come from anyone who edits the register.
	p.Info.Activities[0].Description = xssScript
	p.Info.Disclosures[0].Reference = xssImg
	p.Info.Controller.Name = xssTable
	out := render(t, p)

	if strings.Contains(strings.ToLower(out), "<script") {
		t.Error("output contains <script")
	}
	if strings.Contains(strings.ToLower(out), "<img") {
		t.Error("output contains <img")
	}
	for _, raw := range []string{xssScript, xssImg, xssTable} {
		if strings.Contains(out, raw) {
			t.Errorf("output contains %q unescaped", raw)
		}
	}
	for _, esc := range []string{xssScriptEsc, xssImgEsc, `&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;b&gt;`} {
		if !strings.Contains(out, esc) {
			t.Errorf("output lacks the escaped value %q", esc)
		}
	}
	checkMarkup(t, out)
}

func TestHTMLContentSecurityPolicy(t *testing.T) {
	out := render(t, testAccessPage())
	for _, want := range []string{
		"<!doctype html>\n<html lang=\"en\">",
		`<meta charset="utf-8">`,
		`<meta name="referrer" content="no-referrer">`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Index(out, `<meta charset="utf-8">`) > 1024 {
		t.Error("the charset is not declared within the first 1024 bytes")
	}
	m := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("%d CSP meta tags, want 1", len(m))
	}
	csp := m[0][1]
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(out, -1)
	if len(styles) != 1 || strings.Count(out, "<style") != 1 {
		t.Fatalf("%d style blocks, want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	want := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action 'none'; base-uri 'none'"
	if csp != want {
		t.Errorf("CSP\n%s\nwant (the hash of the style block as written)\n%s", csp, want)
	}
	if csp != htmlCSP || styles[0][1] != htmlStyle {
		t.Error("the page's style block or policy differs from htmlStyle or htmlCSP")
	}
	if strings.Index(out, "Content-Security-Policy") > strings.Index(out, "<style>") {
		t.Error("the policy comes after the style block")
	}
	// Nothing external, nothing to run.
	low := strings.ToLower(out)
	for _, bad := range []string{"<script", "<link", "<iframe", "<object", "<embed", "<img", "<form", "<base", "javascript:", "@import", "url("} {
		if strings.Contains(low, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	checkMarkup(t, out)
}

func TestHTMLInvalidUTF8(t *testing.T) {
	p := testAccessPage()
	p.Request = badUTF8
	p.Info.Controller.Name = badUTF8
	p.Info.Activities[0].Categories[0].Description = badUTF8
	p.Info.Disclosures[0].Categories = []string{badUTF8}
	p.Datasets[0].Columns[3] = badUTF8
	p.Datasets[0].Rows = rowsOf([]string{"p1", badUTF8, "\xc3", "ok"}, []string{"p2", "a", "b", "c"})
	out := render(t, p)
	if !utf8.ValidString(out) {
		t.Fatal("output is not valid UTF-8")
	}
	if want := "caf\uFFFD \uFFFD end"; strings.Count(out, want) < 5 {
		t.Errorf("%q appears %d times, want at least 5", want, strings.Count(out, want))
	}
	if !strings.Contains(out, "<td>\uFFFD</td>") {
		t.Error("a cell of a lone \\xc3 is not U+FFFD")
	}
}

func TestHTMLArt15Information(t *testing.T) {
	out := render(t, testAccessPage())
	for _, want := range []string{
		"<title>Your personal data</title>", "<h1>Your personal data</h1>",
		"req-42", "2026-03-01T12:04:05Z", // request, generated in UTC
		// controller, representative, DPO
		"Acme GmbH", "Hauptstr. 1, 10115 Berlin", "privacy@acme.example", "&#43;49 30 1234", "https://acme.example/privacy",
		"Acme EU Rep", "rep@acme.example", "Art. 27", "Data Protection Officer", "dpo@acme.example",
		// (a) purpose and basis
		"Art. 15(1)(a)", "Order handling", "We process your orders and deliver them.", "order_fulfilment", "Contract <span class=\"art\">Art. 6(1)(b)</span>",
		// (b) categories
		"Art. 15(1)(b)", "contact", "Name and address", "health_notes", "Allergies you told us", "special category: health (Art. 9(1))",
		// (c) recipients and actual recipients
		"Art. 15(1)(c)", "Parcel Service", "processor, in DE", "Debt Collectors Ltd", "third party", "CUST-778899", "2025-07-09T13:30:00Z",
		// (d) retention
		"Art. 15(1)(d)", "2 years and 6 months (P2Y6M) after the last order",
		// (e), (f) rights and authority
		"Art. 15(1)(e)", "Art. 77", "Berliner Beauftragte für Datenschutz", "https://www.datenschutz-berlin.de",
		// (g) source
		"Art. 15(1)(g)", "Not collected from you: Credit bureau Schufa",
		// (h) automated decisions
		"Art. 15(1)(h)", "A score from your order history.", "A low score means prepayment only.",
		// 15(2) transfers
		"Art. 15(2)", "To US, recipient Cloud Hosting Inc.: safeguard standard contractual clauses", "Art. 46(2)(c)", "SCC-2021-07",
		"the international organisation World Customs Organization", "Art. 49(1)(e)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, r := range Rights() {
		if !strings.Contains(out, "<td>"+r.Name+"</td><td>"+r.Article+"</td><td>"+escaped(r.Text)+"</td>") {
			t.Errorf("output lacks the right %s (%s)", r.Name, r.Article)
		}
	}
	if strings.Contains(out, "Art. 20(1)).") {
		t.Error("an access page states the portability omission")
	}
}

// escaped escapes s as the page does.
func escaped(s string) string { return strings.NewReplacer("'", "&#39;", `"`, "&#34;").Replace(s) }

func TestHTMLMinimalInformation(t *testing.T) {
	// No register, no authority, no disclosures, no datasets.
	out := render(t, &htmlPage{Kind: gdpr.KindAccess, Request: "r", Generated: htmlGenerated,
		Info: &Information{Activities: []ActivityInfo{}, Rights: Rights()}})
	for _, want := range []string{
		"the controller", "no processing activity", "No disclosure of your data to a recipient is recorded.",
		"You may lodge a complaint with a supervisory authority", "No personal data about you were found.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	checkMarkup(t, out)
}

func TestHTMLRows(t *testing.T) {
	const n = 1000
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = []string{fmt.Sprintf("r%04d", i), fmt.Sprintf("value %d & more", i)}
	}
	p := testAccessPage()
	p.Datasets = append(p.Datasets,
		htmlDataset{Name: "events", Records: 2500, Shown: n, Files: []string{"data/events.json", "data/events.csv"},
			Columns: []string{"id", "fields.v"}, Rows: rowsOf(rows...)},
		htmlDataset{Name: "empty", Records: 0, Shown: 0, Files: []string{"data/empty.json", "data/empty.csv"},
			Columns: []string{"id"}, Rows: rowsOf()},
		htmlDataset{Name: "short", Records: 1, Shown: 1, Files: []string{"data/short.json"},
			Columns: []string{"a", "b", "c"}, Rows: rowsOf([]string{"only"})},
	)
	out := render(t, p)
	for _, want := range []string{
		"<td>p1</td><td>2025-01-02T03:04:05Z</td><td>Erika Mustermann</td><td>" + xssScriptEsc + "</td></tr>",
		"<td>o1</td><td>Blue teapot</td><td>x</td>",
		"<th>fields.name</th>", "<th>" + xssScriptEsc + "</th>",
		`Showing 2 of 2 records; the full data are in <a href="data/profile.json"><code>data/profile.json</code></a> and <a href="data/profile.csv"><code>data/profile.csv</code></a>.`,
		`Showing 1000 of 2500 records; the full data are in `,
		`Showing 0 of 0 records;`, `No records.`,
		"<tr><td>only</td><td></td><td></td></tr>",
		`<a href="#dataset-events">events</a> — 2500 records`, `<section id="dataset-events">`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// Every row, in order.
	rest := out
	for i := range rows {
		j := strings.Index(rest, "<tr><td>"+rows[i][0]+"</td><td>value "+fmt.Sprint(i)+" &amp; more</td></tr>\n")
		if j < 0 {
			t.Fatalf("row %d missing or out of order", i)
		}
		rest = rest[j:]
	}
	if i, j := strings.Index(out, "r0999"), strings.Index(out, `id="dataset-empty"`); i > j {
		t.Error("datasets out of order")
	}
	checkMarkup(t, out)
}

func TestHTMLPortability(t *testing.T) {
	p := &htmlPage{
		Kind: gdpr.KindPortability, Request: "req-7", Generated: htmlGenerated, Controller: "Acme GmbH", Omitted: 12,
		Datasets: []htmlDataset{{Name: "profile", Records: 1, Shown: 1, Files: []string{"data/profile.json", "data/profile.csv"},
			Columns: []string{"id", "fields.email"}, Rows: rowsOf([]string{"p1", "erika@example.org"})}},
	}
	out := render(t, p)
	for _, want := range []string{
		"<title>Your data for portability</title>", "Acme GmbH", "Art. 20",
		"12 records not provided by you or not processed on consent or contract are not included (Art. 20(1)).",
		"<td>erika@example.org</td>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, absent := range []string{"Your rights", "Art. 15(1)(a)", "information.json"} {
		if strings.Contains(out, absent) {
			t.Errorf("a portability page shows %q", absent)
		}
	}
	checkMarkup(t, out)

	p.Omitted = 1
	if out := render(t, p); !strings.Contains(out, "1 record not provided by you or not processed on consent or contract is not included") {
		t.Error("singular omission sentence missing")
	}
	p.Omitted = 0
	if out := render(t, p); strings.Contains(out, "not included") {
		t.Error("an omission stated with none omitted")
	}
}

type failWriter struct{ n int }

var errWrite = errors.New("disk full")

func (w *failWriter) Write(b []byte) (int, error) {
	if w.n -= len(b); w.n < 0 {
		return 0, errWrite
	}
	return len(b), nil
}

func TestHTMLErrors(t *testing.T) {
	errRows := errors.New("spool broken")
	p := testAccessPage()
	p.Datasets[1].Rows = func(func([]string) error) error { return errRows }
	if err := writeHTML(&bytes.Buffer{}, p); !errors.Is(err, errRows) {
		t.Errorf("Rows error: got %v", err)
	}

	big := make([][]string, 2000)
	for i := range big {
		big[i] = []string{strings.Repeat("x", 100)}
	}
	emitted := 0
	p = testAccessPage()
	p.Datasets = []htmlDataset{{Name: "big", Records: 2000, Shown: 2000, Columns: []string{"v"},
		Rows: func(emit func([]string) error) error {
			for _, r := range big {
				if err := emit(r); err != nil {
					return err
				}
				emitted++
			}
			return nil
		}}}
	if err := writeHTML(&failWriter{n: 64 << 10}, p); !errors.Is(err, errWrite) {
		t.Errorf("write error: got %v", err)
	}
	if emitted == len(big) {
		t.Error("the rows went on after the writer failed")
	}
}

func TestHTMLEscapeTo(t *testing.T) {
	for _, s := range []string{"", "plain", xssScript, xssImg, xssTable, "a\x00b", "'&'", "ünïcödé <b>", "&amp;"} {
		var buf bytes.Buffer
		bw := bufio.NewWriter(&buf)
		escapeTo(bw, s)
		bw.Flush()
		if got, want := buf.String(), template.HTMLEscapeString(s); got != want {
			t.Errorf("escapeTo(%q) = %q, want %q", s, got, want)
		}
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	rows := make([][]string, 1000)
	for i := range rows {
		rows[i] = []string{fmt.Sprint(i), "2025-01-02T03:04:05Z", "Erika Mustermann", "some <note> & \"quote\"", "42"}
	}
	p := testAccessPage()
	p.Datasets = []htmlDataset{{Name: "d", Records: 1000, Shown: 1000, Columns: []string{"a", "b", "c", "d", "e"}, Rows: rowsOf(rows...)}}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := writeHTML(&buf, p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
