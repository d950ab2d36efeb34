package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"html/template"
	"io"
	"strings"

	"github.com/gdprkit/gdpr"
)

// The record of processing activities for the supervisory authority
// (Art. 30(4)): a page with one section per activity and every item of
// Art. 30(1), and a CSV with one row per activity.

const registerStyle = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:14px;line-height:1.45;color:#1a1a1a;max-width:64rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.5rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:2px solid #1f4e79;color:#1f4e79}
.art{color:#555;font-weight:normal;font-size:.85em}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{width:16rem;background:#f0f3f6}
.text{white-space:pre-wrap}
@media print{body{max-width:none;padding:0}section{break-inside:avoid-page}}
`

// registerCSP allows nothing but the style block, by its hash: the page
// runs no script and loads nothing.
var registerCSP = func() string {
	sum := sha256.Sum256([]byte(registerStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action 'none'; base-uri 'none'"
}()

var registerPage = template.Must(template.New("register").Funcs(template.FuncMap{
	"join": func(v []string) string { return strings.Join(v, ", ") },
}).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="` + registerCSP + `">
<meta name="robots" content="noindex, nofollow">
<title>Record of processing activities — {{.Controller.Name}}</title>
<style>` + registerStyle + `</style>
</head>
<body>
<h1>Record of processing activities <span class="art">Art. 30(1) GDPR</span></h1>
<table>
<tr><th>Controller <span class="art">Art. 30(1)(a)</span></th><td class="text">{{template "party" .Controller}}</td></tr>
{{- with .Representative}}<tr><th>Representative <span class="art">Art. 27</span></th><td class="text">{{template "party" .}}</td></tr>{{end}}
{{- with .DPO}}<tr><th>Data protection officer</th><td class="text">{{template "party" .}}</td></tr>{{end}}
</table>
{{- range .Activities}}
<section id="activity-{{.ID}}">
<h2>{{or .Name .ID}}</h2>
<table>
<tr><th>Purpose <span class="art">Art. 30(1)(b)</span></th><td class="text">{{.Purpose}}{{with .Description}} — {{.}}{{end}}</td></tr>
<tr><th>Lawful basis</th><td>{{.Basis.Article}}{{with .LegitimateInterestAssessment}}; assessment {{.}}{{end}}{{with .SpecialCondition}}; Art. 9(2): {{.}}{{end}}</td></tr>
{{- with .JointControllers}}<tr><th>Joint controllers</th><td class="text">{{range .}}{{template "party" .}}
{{end}}</td></tr>{{end}}
<tr><th>Categories of data subjects <span class="art">Art. 30(1)(c)</span></th><td>{{join .SubjectCategories}}</td></tr>
<tr><th>Categories of personal data <span class="art">Art. 30(1)(c)</span></th><td>{{range .DataCategories}}<div>{{.ID}}{{with .Description}}: {{.}}{{end}}{{with .Special}} (special category: {{.}}){{end}}</div>{{end}}</td></tr>
<tr><th>Recipients <span class="art">Art. 30(1)(d)</span></th><td>{{range .Recipients}}<div>{{.Name}} ({{.Kind}}){{with .Country}}, {{.}}{{end}}{{with .Organisation}}, {{.}}{{end}}</div>{{else}}none{{end}}</td></tr>
<tr><th>Transfers to third countries <span class="art">Art. 30(1)(e)</span></th><td>{{range .Transfers}}<div>{{or .Country .Organisation}}{{with .Recipient}}, {{.}}{{end}}: {{.Safeguard}}</div>{{else}}none{{end}}</td></tr>
<tr><th>Time limits for erasure <span class="art">Art. 30(1)(f)</span></th><td>{{if not .Retention.Period.IsZero}}{{.Retention.Period}}{{end}}{{with .Retention.Description}} {{.}}{{end}}</td></tr>
<tr><th>Security measures <span class="art">Art. 30(1)(g), 32(1)</span></th><td class="text">{{or .SecurityMeasures "—"}}</td></tr>
</table>
</section>
{{- end}}
</body>
</html>
{{define "party"}}{{.Name}}{{with .Address}}
{{.}}{{end}}{{with .Email}}
{{.}}{{end}}{{with .Phone}}
{{.}}{{end}}{{with .URL}}
{{.}}{{end}}{{end}}`))

func writeRegisterHTML(w io.Writer, r *gdpr.Register) error { return registerPage.Execute(w, r) }

// writeRegisterCSV writes one row per activity. A cell that a spreadsheet
// would read as a formula is prefixed with an apostrophe (OWASP's advice
// for CSV injection).
func writeRegisterCSV(w io.Writer, r *gdpr.Register) error {
	cw := csv.NewWriter(w)
	head := []string{"controller", "activity", "name", "purpose", "description", "basis", "subject_categories",
		"data_categories", "special_categories", "recipients", "transfers", "retention", "security_measures"}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, a := range r.Activities {
		var cats, special, recips, transfers []string
		for _, c := range a.DataCategories {
			cats = append(cats, c.ID)
			if c.Special != "" {
				special = append(special, c.ID+": "+string(c.Special))
			}
		}
		for _, x := range a.Recipients {
			recips = append(recips, x.Name)
		}
		for _, t := range a.Transfers {
			transfers = append(transfers, strings.TrimSpace(t.Country+t.Organisation+" "+string(t.Safeguard)))
		}
		ret := a.Retention.Description
		if !a.Retention.Period.IsZero() {
			ret = strings.TrimSpace(a.Retention.Period.String() + " " + ret)
		}
		row := []string{r.Controller.Name, a.ID, a.Name, string(a.Purpose), a.Description, a.Basis.Article(),
			strings.Join(a.SubjectCategories, "; "), strings.Join(cats, "; "), strings.Join(special, "; "),
			strings.Join(recips, "; "), strings.Join(transfers, "; "), ret, a.SecurityMeasures}
		for i, c := range row {
			row[i] = inertCell(c)
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// inertCell keeps a spreadsheet from reading c as a formula.
func inertCell(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r＝＋－＠", []rune(c)[0]) {
		return "'" + c
	}
	return c
}
