package export

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
)

// htmlPage is what index.html shows: the controller, the Art. 15
// information (access bundles) and each dataset as a table of its first
// rows.
type htmlPage struct {
	Kind      gdpr.RequestKind
	Request   string
	Generated time.Time
	// Info is the Art. 15 information; set for access bundles, nil for
	// portability bundles (which show the controller from Controller).
	Info       *Information
	Controller string
	Datasets   []htmlDataset
	// Omitted counts records a portability bundle left out.
	Omitted int64
}

// htmlDataset is one dataset's table.
type htmlDataset struct {
	Name string
	// Records is the dataset's record count in the whole bundle; Shown
	// how many rows the table holds (at most WithHTMLRows).
	Records int64
	Shown   int64
	// Files are the data files that hold it, e.g. "data/x.json".
	Files []string
	// Columns are the table's columns: the CSV file's, flattened.
	Columns []string
	// Rows streams the table's rows, one []string of len(Columns) per
	// call of emit, and returns emit's first error.
	Rows func(emit func(cells []string) error) error
}

// The page is self-contained and inert: one inline style block, no
// script, no external resource, and a Content-Security-Policy that allows
// nothing but that style block, by its hash. A value planted in a record
// ("<script>…", "<img onerror=…>") is escaped by html/template or
// template.HTMLEscapeString, and were it not, the policy would still keep
// it from running or loading anything.
//
// htmlStyle must hold no CSS comment: html/template strips comments from
// template text, which would change the hash. No element may carry a style
// attribute: the policy has no 'unsafe-inline' and would block it.
const htmlStyle = `
:root{color-scheme:light}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:15px;line-height:1.5;color:#1a1a1a;background:#fff;max-width:72rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.8rem;margin:0 0 .25rem}
h2{font-size:1.35rem;margin:2.25rem 0 .5rem;padding-bottom:.2rem;border-bottom:2px solid #1f4e79;color:#1f4e79}
h3{font-size:1.1rem;margin:1.5rem 0 .4rem}
p.lead{color:#444;margin-top:0}
.art{color:#555;font-weight:normal;font-size:.9em}
table{border-collapse:collapse;border:1px solid #888;margin:.5rem 0 1rem;font-size:.92rem;width:100%}
th,td{border:1px solid #888;padding:.3rem .5rem;text-align:left;vertical-align:top}
table.data td{white-space:pre-wrap;overflow-wrap:break-word}
thead th{background:#e8eef4}
tbody tr:nth-child(even){background:#f6f8fa}
table.kv th{width:16rem;background:#f0f3f6}
.scroll{overflow-x:auto}
.activity{border:1px solid #bbb;border-radius:4px;padding:.25rem 1rem .5rem;margin:1rem 0;break-inside:avoid-page}
.special{font-weight:600;color:#8a1c1c}
.note{background:#fff8e1;border-left:4px solid #e0a800;padding:.5rem .75rem}
ul{margin:.2rem 0;padding-left:1.4rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;background:#f0f0f0;padding:0 .2em}
footer{margin-top:3rem;padding-top:.5rem;border-top:1px solid #ccc;color:#555;font-size:.85rem}
@media print{body{max-width:none;padding:0;font-size:10pt}.scroll{overflow:visible}thead{display:table-header-group}tr,th,td{break-inside:avoid}h2,h3{break-after:avoid}a{color:inherit;text-decoration:none}nav{display:none}table.data td{overflow-wrap:anywhere}}
`

// htmlCSP is the page's Content-Security-Policy: nothing is allowed but
// the inline style block, by its SHA-256.
var htmlCSP = func() string {
	sum := sha256.Sum256([]byte(htmlStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action 'none'; base-uri 'none'"
}()

// htmlHead is the page up to the datasets: the document head, the
// controller, the Art. 15 information, and the datasets' contents. The
// style block and the policy are spliced into the template's text (not
// passed as data), so they are written exactly as hashed.
const htmlHead = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="` + "\x00CSP\x00" + `">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
<style>` + "\x00STYLE\x00" + `</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<p class="lead">{{if .Access -}}
The personal data {{.ControllerName}} holds about you, and the information the right of access gives you (Art. 15 GDPR).
{{- else -}}
The personal data you provided to {{.ControllerName}} that are processed on your consent or on a contract with you, for you to keep or to take to another controller (Art. 20 GDPR).
{{- end}}</p>
<table class="kv">
<tr><th>Request</th><td>{{.Request}}</td></tr>
<tr><th>Generated</th><td>{{.Generated}}</td></tr>
</table>
<p>This page is a readable summary. The folder <code>data/</code> of this archive holds all your data in machine-readable form, as JSON and CSV{{if .Access}}; <code>information.json</code> holds the information below{{end}}; <code>manifest.json</code> lists every file with its SHA-256 hash and is signed by the controller, so you or another controller can check that nothing was changed.</p>
</header>
<main>
{{- if .Access}}
<section id="controller">
<h2>Who is responsible for your data</h2>
<h3>The controller <span class="art">Art. 4(7), Art. 15(1)</span></h3>
{{template "party" .Controller}}
{{- with .Representative}}
<h3>Representative in the Union <span class="art">Art. 27</span></h3>
{{template "party" .}}
{{- end}}
{{- with .DPO}}
<h3>Data protection officer <span class="art">Art. 37–39</span></h3>
<p>You may contact the data protection officer about every question on the processing of your data and the exercise of your rights (Art. 38(4)).</p>
{{template "party" .}}
{{- end}}
</section>

<section id="processing">
<h2>How your data are processed <span class="art">Art. 15(1)(a)–(d), (g), (h) and 15(2)</span></h2>
{{- range .Activities}}
<div class="activity">
<h3>{{.Title}}</h3>
<table class="kv">
<tr><th>Purpose <span class="art">Art. 15(1)(a)</span></th><td>{{if .Description}}{{.Description}} {{end}}<span class="art">(purpose <code>{{.Purpose}}</code>)</span></td></tr>
<tr><th>Lawful basis <span class="art">Art. 6, Art. 9</span></th><td>{{.Basis}} <span class="art">{{.BasisArticle}}</span></td></tr>
{{- if .JointControllers}}
<tr><th>Joint controllers <span class="art">Art. 26</span></th><td><ul>{{range .JointControllers}}<li>{{.Name}}{{if .Address}}, {{.Address}}{{end}}{{if .Email}}, {{.Email}}{{end}}{{if .Phone}}, {{.Phone}}{{end}}{{if .URL}}, {{.URL}}{{end}}</li>{{end}}</ul> You may exercise your rights against each of them (Art. 26(3)).</td></tr>
{{- end}}
<tr><th>Categories of personal data <span class="art">Art. 15(1)(b)</span></th><td>{{if .Categories}}<ul>
{{- range .Categories}}
<li><code>{{.ID}}</code>{{if .Description}} — {{.Description}}{{end}}{{if .Special}} <span class="special">special category: {{.Special}} ({{.SpecialArticle}})</span>{{end}}</li>
{{- end}}
</ul>{{else}}None named.{{end}}</td></tr>
<tr><th>Recipients or categories of recipients <span class="art">Art. 15(1)(c)</span></th><td>{{if .Recipients}}<ul>
{{- range .Recipients}}
<li>{{.Name}}{{if .Details}} <span class="art">({{.Details}})</span>{{end}}</li>
{{- end}}
</ul>{{else}}None: the data are not disclosed to anyone.{{end}}</td></tr>
<tr><th>Storage period <span class="art">Art. 15(1)(d)</span></th><td>{{.Retention}}</td></tr>
<tr><th>Source of the data <span class="art">Art. 15(1)(g)</span></th><td>{{if .Source}}Not collected from you: {{.Source}}{{else}}Collected from you.{{end}}</td></tr>
<tr><th>Automated decision-making, including profiling <span class="art">Art. 15(1)(h), Art. 22</span></th><td>{{with .Automated}}Yes.<br>
<strong>Logic involved:</strong> {{.Logic}}
{{- if .Significance}}<br>
<strong>Significance and envisaged consequences:</strong> {{.Significance}}{{end}}{{else}}None: no decision about you is based solely on automated processing.{{end}}</td></tr>
<tr><th>Transfers to third countries or international organisations <span class="art">Art. 15(2), Art. 44–49</span></th><td>{{if .Transfers}}<ul>
{{- range .Transfers}}
<li>To {{.To}}{{if .Recipient}}, recipient {{.Recipient}}{{end}}: safeguard {{.Safeguard}} <span class="art">{{.Article}}</span>{{if .Reference}}; documented in {{.Reference}}{{end}}</li>
{{- end}}
</ul>{{else}}None.{{end}}</td></tr>
<tr><th>Your records in this archive</th><td>{{.Records}}</td></tr>
</table>
</div>
{{- else}}
<p>The controller has recorded no processing activity for these data.</p>
{{- end}}
</section>

<section id="recipients">
<h2>Who received your data <span class="art">Art. 15(1)(c)</span></h2>
{{- if .Disclosures}}
<p>Your data were disclosed to these recipients. Where a recipient knows you under its own reference, it is shown, so you can contact the recipient about your data there.</p>
<div class="scroll"><table>
<thead><tr><th>Recipient</th><th>Role</th><th>Your reference there</th><th>Categories of data</th><th>Last disclosed (UTC)</th></tr></thead>
<tbody>
{{- range .Disclosures}}
<tr><td>{{.Recipient}}</td><td>{{.Kind}}</td><td>{{.Reference}}</td><td>{{.Categories}}</td><td>{{.At}}</td></tr>
{{- end}}
</tbody>
</table></div>
{{- else}}
<p>No disclosure of your data to a recipient is recorded.</p>
{{- end}}
</section>

<section id="rights">
<h2>Your rights <span class="art">Art. 15(1)(e), (f)</span></h2>
<div class="scroll"><table>
<thead><tr><th>Right</th><th>Article</th><th>What it means</th></tr></thead>
<tbody>
{{- range .Rights}}
<tr><td>{{.Name}}</td><td>{{.Article}}</td><td>{{.Text}}</td></tr>
{{- end}}
</tbody>
</table></div>
<h3>Supervisory authority <span class="art">Art. 15(1)(f), Art. 77</span></h3>
{{- with .Authority}}
<p>You may lodge a complaint with:</p>
{{template "party" .}}
{{- else}}
<p>You may lodge a complaint with a supervisory authority, in particular in the Member State of your habitual residence, place of work or of the alleged infringement (Art. 77).</p>
{{- end}}
</section>
{{- else}}
{{- if .Omitted}}
<p class="note">{{.Omitted}} {{if eq .Omitted 1}}record{{else}}records{{end}} not provided by you or not processed on consent or contract {{if eq .Omitted 1}}is{{else}}are{{end}} not included (Art. 20(1)).</p>
{{- end}}
{{- end}}

<section id="data">
<h2>Your data</h2>
{{- if .Datasets}}
<nav><ul>
{{- range .Datasets}}
<li><a href="#dataset-{{.Name}}">{{.Name}}</a> — {{.Records}} {{if eq .Records 1}}record{{else}}records{{end}}</li>
{{- end}}
</ul></nav>
{{- else}}
<p>No personal data about you {{if .Access}}were found{{else}}fall under the right to data portability{{end}}.</p>
{{- end}}
`

// htmlPartyText shows a party: its name and contact details.
const htmlPartyText = `<table class="kv">
<tr><th>Name</th><td>{{.Name}}</td></tr>
{{- if .Address}}
<tr><th>Address</th><td>{{.Address}}</td></tr>{{end}}
{{- if .Email}}
<tr><th>Email</th><td>{{.Email}}</td></tr>{{end}}
{{- if .Phone}}
<tr><th>Phone</th><td>{{.Phone}}</td></tr>{{end}}
{{- if .URL}}
<tr><th>Web</th><td>{{.URL}}</td></tr>{{end}}
</table>`

// htmlDatasetHead opens a dataset's section and table; writeHTML then
// writes the rows (writeRow) and closes the table and the section.
const htmlDatasetHead = `
<section id="dataset-{{.Name}}">
<h3>{{.Name}}</h3>
<p>Showing {{.Shown}} of {{.Records}} {{if eq .Records 1}}record{{else}}records{{end}}{{if .Files}}; the full data are in {{range $i, $f := .Files}}{{if $i}} and {{end}}<a href="{{$f}}"><code>{{$f}}</code></a>{{end}}{{end}}.</p>
{{- if .Columns}}
<div class="scroll"><table class="data">
<thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{end}}`

// htmlFoot closes the page.
const htmlFoot = `</section>
</main>
<footer>
<p>Generated {{.Generated}} for request {{.Request}}{{if .ControllerName}} by {{.ControllerName}}{{end}}. This page holds no script and loads nothing from the network.</p>
</footer>
</body>
</html>
`

var htmlTemplates = template.Must(template.New("head").Parse(
	strings.NewReplacer("\x00CSP\x00", htmlCSP, "\x00STYLE\x00", htmlStyle).Replace(htmlHead)))

func init() {
	template.Must(htmlTemplates.New("party").Parse(htmlPartyText))
	template.Must(htmlTemplates.New("dataset").Parse(htmlDatasetHead))
	template.Must(htmlTemplates.New("foot").Parse(htmlFoot))
}

// htmlView is htmlPage as the templates read it: every string valid
// UTF-8, every time RFC 3339 in UTC, every code spelled out.
type htmlView struct {
	Title, Request, Generated, ControllerName string
	Access                                    bool
	Controller                                htmlParty
	Representative, DPO, Authority            *htmlParty
	Activities                                []htmlActivity
	Disclosures                               []htmlDisclosure
	Rights                                    []Right
	Datasets                                  []htmlDatasetView
	Omitted                                   int64
}

type htmlParty struct{ Name, Address, Email, Phone, URL string }

type htmlActivity struct {
	Title, Purpose, Description, Basis, BasisArticle string
	Categories                                       []htmlCategory
	Recipients                                       []htmlRecipient
	Retention, Source                                string
	Automated                                        *gdpr.AutomatedDecisions
	Transfers                                        []htmlTransfer
	JointControllers                                 []htmlParty
	Records                                          int64
}

type htmlCategory struct{ ID, Description, Special, SpecialArticle string }

type htmlRecipient struct{ Name, Details string }

type htmlTransfer struct{ To, Recipient, Safeguard, Article, Reference string }

type htmlDisclosure struct{ Recipient, Kind, Reference, Categories, At string }

type htmlDatasetView struct {
	Name           string
	Records, Shown int64
	Files, Columns []string
}

// writeHTML writes index.html for p to w: the head and the information in
// one execution, then each dataset's table, row by row as d.Rows emits
// them, then the foot. It returns the first error of w or of a Rows.
func writeHTML(w io.Writer, p *htmlPage) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	v := newHTMLView(p)
	if err := htmlTemplates.ExecuteTemplate(bw, "head", v); err != nil {
		return err
	}
	for i := range p.Datasets {
		d := &p.Datasets[i]
		if err := htmlTemplates.ExecuteTemplate(bw, "dataset", v.Datasets[i]); err != nil {
			return err
		}
		ncol := len(d.Columns)
		if d.Rows != nil {
			err := d.Rows(func(cells []string) error {
				if ncol == 0 {
					return nil
				}
				return writeRow(bw, cells, ncol)
			})
			if err != nil {
				return err
			}
		}
		if ncol > 0 {
			if d.Shown == 0 {
				bw.WriteString(`<tr><td colspan="` + strconv.Itoa(ncol) + `">No records.</td></tr>` + "\n")
			}
			bw.WriteString("</tbody>\n</table></div>\n")
		}
		bw.WriteString("</section>\n")
	}
	if err := htmlTemplates.ExecuteTemplate(bw, "foot", v); err != nil {
		return err
	}
	return bw.Flush()
}

// writeRow writes one table row of ncol cells, escaped; a short row is
// padded with empty cells. It returns bw's error, which sticks: a
// failed write fails every later one.
func writeRow(bw *bufio.Writer, cells []string, ncol int) error {
	bw.WriteString("<tr>")
	for _, c := range cells {
		bw.WriteString("<td>")
		escapeTo(bw, valid(c))
		bw.WriteString("</td>")
	}
	for i := len(cells); i < ncol; i++ {
		bw.WriteString("<td></td>")
	}
	_, err := bw.WriteString("</tr>\n")
	return err
}

// escapeTo writes s to bw escaped as text, as template.HTMLEscapeString
// escapes it (& < > " ' and NUL), but without building a string.
func escapeTo(bw *bufio.Writer, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case 0:
			esc = "\uFFFD"
		default:
			continue
		}
		bw.WriteString(s[last:i])
		bw.WriteString(esc)
		last = i + 1
	}
	bw.WriteString(s[last:])
}

// valid returns s with every invalid UTF-8 sequence replaced by U+FFFD.
func valid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// htmlTime formats t as RFC 3339 in UTC, to the second; a zero time as
// "unknown".
func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}

func newHTMLView(p *htmlPage) *htmlView {
	v := &htmlView{
		Request:        valid(p.Request),
		Generated:      htmlTime(p.Generated),
		ControllerName: valid(p.Controller),
		Omitted:        p.Omitted,
	}
	if p.Kind == gdpr.KindPortability {
		v.Title = "Your data for portability"
	} else {
		v.Title = "Your personal data"
	}
	if info := p.Info; info != nil {
		v.Access = true
		v.Controller = party(info.Controller)
		if v.Controller.Name != "" {
			v.ControllerName = v.Controller.Name
		}
		v.Representative = partyPtr(info.Representative)
		v.DPO = partyPtr(info.DPO)
		v.Authority = partyPtr(info.Authority)
		for _, a := range info.Activities {
			v.Activities = append(v.Activities, activity(a))
		}
		for _, d := range info.Disclosures {
			cats := "all"
			if len(d.Categories) > 0 {
				cats = valid(strings.Join(d.Categories, ", "))
			}
			v.Disclosures = append(v.Disclosures, htmlDisclosure{
				Recipient: valid(d.Recipient), Kind: words(string(d.Kind)),
				Reference: valid(d.Reference), Categories: cats, At: htmlTime(d.At),
			})
		}
		for _, r := range info.Rights {
			v.Rights = append(v.Rights, Right{Article: valid(r.Article), Name: valid(r.Name), Text: valid(r.Text)})
		}
	}
	if v.ControllerName == "" {
		v.ControllerName = "the controller"
	}
	for _, d := range p.Datasets {
		dv := htmlDatasetView{Name: valid(d.Name), Records: d.Records, Shown: d.Shown}
		for _, f := range d.Files {
			dv.Files = append(dv.Files, valid(f))
		}
		for _, c := range d.Columns {
			dv.Columns = append(dv.Columns, valid(c))
		}
		v.Datasets = append(v.Datasets, dv)
	}
	return v
}

func party(p gdpr.Party) htmlParty {
	return htmlParty{valid(p.Name), valid(p.Address), valid(p.Email), valid(p.Phone), valid(p.URL)}
}

func partyPtr(p *gdpr.Party) *htmlParty {
	if p == nil {
		return nil
	}
	v := party(*p)
	return &v
}

func activity(a ActivityInfo) htmlActivity {
	v := htmlActivity{
		Title: valid(a.Name), Purpose: valid(string(a.Purpose)), Description: valid(a.Description),
		Basis: capital(words(a.Basis.String())), BasisArticle: valid(a.BasisArticle),
		Retention: retention(a.Retention), Source: valid(a.Source), Records: a.Records,
	}
	for _, p := range a.JointControllers {
		v.JointControllers = append(v.JointControllers, party(p))
	}
	if v.Title == "" {
		v.Title = valid(a.ID)
	}
	if v.BasisArticle == "" {
		v.BasisArticle = a.Basis.Article()
	}
	for _, c := range a.Categories {
		hc := htmlCategory{ID: valid(c.ID), Description: valid(c.Description)}
		if c.IsSpecial() {
			hc.Special = words(string(c.Special))
			hc.SpecialArticle = "Art. 9(1)"
			if c.Special == gdpr.CriminalOffences {
				hc.SpecialArticle = "Art. 10"
			}
		}
		v.Categories = append(v.Categories, hc)
	}
	for _, r := range a.Recipients {
		var d []string
		if r.Kind != "" {
			d = append(d, words(string(r.Kind)))
		}
		if r.Country != "" {
			d = append(d, "in "+valid(r.Country))
		}
		if r.Organisation != "" {
			d = append(d, "international organisation "+valid(r.Organisation))
		}
		v.Recipients = append(v.Recipients, htmlRecipient{Name: valid(r.Name), Details: strings.Join(d, ", ")})
	}
	if ad := a.AutomatedDecisions; ad != nil {
		v.Automated = &gdpr.AutomatedDecisions{Logic: valid(ad.Logic), Significance: valid(ad.Significance)}
	}
	for _, t := range a.Transfers {
		ht := htmlTransfer{
			Recipient: valid(t.Recipient), Safeguard: words(string(t.Safeguard)),
			Article: t.Safeguard.Article(), Reference: valid(t.Reference),
		}
		if t.Country != "" {
			ht.To = valid(t.Country)
		} else {
			ht.To = "the international organisation " + valid(t.Organisation)
		}
		if t.Safeguard == gdpr.Derogation {
			switch d := t.Derogation; {
			case d == gdpr.DerogationLegitimateInterests:
				ht.Article = "Art. 49(1), second subparagraph"
			case d != "":
				ht.Article = "Art. 49(1)(" + valid(d) + ")"
			}
		}
		v.Transfers = append(v.Transfers, ht)
	}
	return v
}

// retention says how long the data are kept: the period in ISO 8601 and
// in words, and the criteria.
func retention(r gdpr.RetentionRule) string {
	var b strings.Builder
	if !r.Period.IsZero() {
		b.WriteString(periodWords(r.Period))
		b.WriteString(" (")
		b.WriteString(r.Period.String())
		b.WriteString(")")
	}
	if r.Description != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(valid(r.Description))
	}
	if b.Len() == 0 {
		return "Not stated."
	}
	return b.String()
}

// periodWords spells a period out: "1 year and 6 months".
func periodWords(p gdpr.Period) string {
	var parts []string
	for _, f := range [...]struct {
		n    int
		unit string
	}{{p.Years, "year"}, {p.Months, "month"}, {p.Weeks, "week"}, {p.Days, "day"}} {
		if f.n == 0 {
			continue
		}
		s := strconv.Itoa(f.n) + " " + f.unit
		if f.n != 1 {
			s += "s"
		}
		parts = append(parts, s)
	}
	switch len(parts) {
	case 0:
		return "0 days"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// capital capitalises the first letter of an ASCII word: "contract" →
// "Contract".
func capital(s string) string {
	if s != "" && 'a' <= s[0] && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// words turns a key into words: "third_party" → "third party".
func words(key string) string { return valid(strings.ReplaceAll(key, "_", " ")) }
