package breach

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"io"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/gdprkit/gdpr"
)

// AuthorityNotice is the notification of a breach to the supervisory
// authority (Art. 33), with every item of Art. 33(3)(a)–(d) and what is
// still to follow (Art. 33(4)). It encodes as JSON, and WriteHTML writes
// it as a readable page. It holds no subject ID.
type AuthorityNotice struct {
	Breach     string      `json:"breach"`
	Generated  time.Time   `json:"generated"`
	Controller *gdpr.Party `json:"controller,omitempty"`
	DPO        *gdpr.Party `json:"dpo,omitempty"`
	Processor  *Processor  `json:"processor,omitempty"`
	// Controllers and Reports are a processor's breach's controllers and
	// its reports to them (Art. 33(2)); the notice is then the processor's
	// report, and Due is zero.
	Controllers []string           `json:"controllers,omitempty"`
	Reports     []ControllerReport `json:"reports,omitempty"`
	// Aware is when the controller (for a processor's breach, the
	// processor) became aware; Due the end of the 72 hours, both in the
	// controller's zone.
	Aware time.Time `json:"aware"`
	Due   time.Time `json:"due"`
	Zone  string    `json:"zone"`
	// Late is true when the first notification was, or would now be,
	// made at or after Due; DelayReasons are then its reasons
	// (Art. 33(1)).
	Late         bool   `json:"late"`
	DelayReasons string `json:"delay_reasons,omitempty"`
	// Art. 33(3)(a): the nature of the breach, the categories and
	// approximate numbers of subjects and records concerned.
	Description       string     `json:"description,omitempty"`
	Nature            []Nature   `json:"nature,omitempty"`
	OccurredFrom      time.Time  `json:"occurred_from,omitzero"`
	OccurredUntil     time.Time  `json:"occurred_until,omitzero"`
	Categories        []Category `json:"categories,omitempty"`
	SubjectCategories []string   `json:"subject_categories,omitempty"`
	Subjects          int64      `json:"subjects,omitempty"`
	Records           int64      `json:"records,omitempty"`
	// Affected are the counts the audit trail gave, when searched.
	Affected *Affected `json:"affected,omitempty"`
	// Art. 33(3)(b): the contact point.
	Contact Contact `json:"contact,omitzero"`
	// Art. 33(3)(c): the likely consequences.
	Consequences string `json:"consequences,omitempty"`
	// Art. 33(3)(d): the measures taken or proposed.
	Measures string `json:"measures,omitempty"`
	// Assessment is the controller's assessment of the risk.
	Assessment Assessment `json:"assessment"`
	// Public lists public communications made (Art. 34(3)(c)).
	Public []Public `json:"public,omitempty"`
	// Communications counts the notices to subjects (Art. 34).
	Communications Communications `json:"communications"`
	// Notifications are the notifications made so far.
	Notifications []Notification `json:"notifications,omitempty"`
	// ToFollow lists the items of Art. 33(3) not given yet, which will
	// be provided in phases (Art. 33(4)); empty when complete.
	ToFollow []Item `json:"to_follow,omitempty"`
}

// Category is a data category as the notice names it.
type Category struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	// Special is the special category of Art. 9(1), or criminal data of
	// Art. 10, if it is one.
	Special string `json:"special,omitempty"`
}

// Item is an item of Art. 33(3) still to follow.
type Item struct {
	Article string `json:"article"` // e.g. "Art. 33(3)(a)"
	What    string `json:"what"`    // e.g. "approximate number of data subjects"
}

// AuthorityNotice returns the notice of breach id for the supervisory
// authority as it can be given now.
func (l *Log) AuthorityNotice(ctx context.Context, id string) (AuthorityNotice, error) {
	if err := checkCtx("authority-notice", ctx); err != nil {
		return AuthorityNotice{}, err
	}
	b, err := l.get(ctx, id)
	if err != nil {
		return AuthorityNotice{}, wrap("authority-notice", err)
	}
	return l.authorityNotice(b), nil
}

func (l *Log) authorityNotice(b Breach) AuthorityNotice {
	now := l.now()
	n := AuthorityNotice{
		Breach: b.ID, Generated: now.In(l.loc).Truncate(time.Second), Processor: b.Processor,
		Controllers: b.Controllers, Reports: b.Reports,
		Aware: b.Clock.Aware, Due: b.Clock.Due, Zone: l.loc.String(),
		Description: b.Description, Nature: b.Nature, OccurredFrom: b.OccurredFrom, OccurredUntil: b.OccurredUntil,
		SubjectCategories: b.SubjectCategories, Subjects: b.Subjects, Records: b.Records,
		Affected: b.Affected, Contact: b.Contact, Consequences: b.Consequences, Measures: b.Measures,
		Assessment: b.Assessment, Public: b.Public, Communications: b.Communications, Notifications: b.Notifications,
	}
	if len(b.Notifications) > 0 {
		first := b.Notifications[0]
		n.Late, n.DelayReasons = b.Clock.Late(first.At), first.DelayReasons
	} else {
		n.Late = b.Clock.Late(now)
	}
	if r := l.register; r != nil {
		c := r.Controller
		n.Controller = &c
		if r.DPO != nil {
			d := *r.DPO
			n.DPO = &d
			n.Contact = l.withDPO(b).Contact
		}
	}
	for _, c := range b.Categories {
		cat := Category{ID: c}
		if l.register != nil {
			for _, a := range l.register.Activities {
				for _, dc := range a.DataCategories {
					if dc.ID == c {
						cat.Description, cat.Special = dc.Description, string(dc.Special)
					}
				}
			}
		}
		n.Categories = append(n.Categories, cat)
	}
	a, c, d := "Art. 33(3)(a)", "Art. 33(3)(c)", "Art. 33(3)(d)"
	for _, it := range []struct {
		missing bool
		item    Item
	}{
		{b.Description == "", Item{a, "description of what happened"}},
		{len(b.Nature) == 0, Item{a, "nature of the breach"}},
		{len(b.Categories) == 0, Item{a, "categories of personal data"}},
		{len(b.SubjectCategories) == 0, Item{a, "categories of data subjects"}},
		{b.Subjects == 0, Item{a, "approximate number of data subjects"}},
		{b.Records == 0, Item{a, "approximate number of personal data records"}},
		{n.Contact.IsZero(), Item{"Art. 33(3)(b)", "contact point for more information"}},
		{b.Consequences == "", Item{c, "likely consequences"}},
		{b.Measures == "", Item{d, "measures taken or proposed"}},
	} {
		if it.missing {
			n.ToFollow = append(n.ToFollow, it.item)
		}
	}
	return n
}

// The HTML notice is self-contained and inert, as the export bundle's
// page: one inline style block, no script, no external resource, and a
// Content-Security-Policy that allows nothing but that style block, by
// its hash. noticeStyle must hold no CSS comment (html/template strips
// them, which would change the hash), and no element may carry a style
// attribute.
const noticeStyle = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1a1a1a;background:#fff;max-width:60rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem;padding-bottom:.2rem;border-bottom:2px solid #1f4e79;color:#1f4e79}
.art{color:#555;font-weight:normal;font-size:.85em}
table{border-collapse:collapse;margin:.5rem 0 1rem;width:100%}
th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{width:18rem;background:#f0f3f6}
.text{white-space:pre-wrap;overflow-wrap:break-word}
.follow{background:#fff8e1;border-left:4px solid #e0a800;padding:.5rem .75rem}
.late{background:#fdecea;border-left:4px solid #b3261e;padding:.5rem .75rem}
.special{font-weight:600;color:#8a1c1c}
footer{margin-top:2.5rem;padding-top:.5rem;border-top:1px solid #ccc;color:#555;font-size:.85rem}
@media print{body{max-width:none;padding:0;font-size:10pt}tr,th,td{break-inside:avoid}}
`

var noticeCSP = func() string {
	sum := sha256.Sum256([]byte(noticeStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action 'none'; base-uri 'none'"
}()

const noticeHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="` + "\x00CSP\x00" + `">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Personal data breach notification {{.Breach}}</title>
<style>` + "\x00STYLE\x00" + `</style>
</head>
<body>
<header>
{{- if .Controllers}}
<h1>Report of a personal data breach by a processor <span class="art">Art. 33(2) GDPR</span></h1>
{{- else}}
<h1>Notification of a personal data breach <span class="art">Art. 33 GDPR</span></h1>
{{- end}}
<table>
<tr><th>Breach reference</th><td id="breach">{{.Breach}}</td></tr>
{{- with .Controller}}
<tr><th>Controller</th><td class="text">{{.Name}}{{with .Address}}
{{.}}{{end}}{{with .Email}}
{{.}}{{end}}{{with .Phone}}
{{.}}{{end}}</td></tr>
{{- end}}
{{- with .DPO}}
<tr><th>Data protection officer <span class="art">Art. 33(3)(b)</span></th><td class="text">{{.Name}}{{with .Address}}
{{.}}{{end}}{{with .Email}}
{{.}}{{end}}{{with .Phone}}
{{.}}{{end}}</td></tr>
{{- end}}
{{- with .Processor}}
<tr><th>Reported by the processor <span class="art">Art. 33(2)</span></th><td>{{.Name}}, aware {{time .Aware}}</td></tr>
{{- end}}
{{- if .Controllers}}
<tr><th>Processor aware of the breach</th><td id="aware">{{time .Aware}}</td></tr>
<tr><th>To be reported to <span class="art">Art. 33(2)</span></th><td id="controllers">{{range $i, $c := .Controllers}}{{if $i}}, {{end}}{{$c}}{{end}}, without undue delay</td></tr>
{{- range .Reports}}
<tr><th>Reported to {{.Controller}}</th><td>{{time .At}}{{with .Reference}}, reference {{.}}{{end}}</td></tr>
{{- end}}
{{- else}}
<tr><th>Controller aware of the breach</th><td id="aware">{{time .Aware}}</td></tr>
<tr><th>72 hours end <span class="art">Art. 33(1)</span></th><td id="due">{{time .Due}}</td></tr>
{{- end}}
<tr><th>Generated</th><td>{{time .Generated}}</td></tr>
</table>
{{- if .Late}}
<p class="late" id="late">This notification is made after the 72 hours of Art. 33(1).{{with .DelayReasons}} Reasons for the delay: {{.}}{{end}}</p>
{{- end}}
{{- with .ToFollow}}
<div class="follow" id="to-follow"><p>The following information is not available yet and will be provided in phases (Art. 33(4)):</p>
<ul>{{range .}}<li>{{.What}} <span class="art">{{.Article}}</span></li>{{end}}</ul></div>
{{- end}}
</header>
<main>
<section id="nature">
<h2>Nature of the breach <span class="art">Art. 33(3)(a)</span></h2>
<table>
<tr><th>What happened</th><td class="text">{{or .Description "to follow"}}</td></tr>
<tr><th>Nature</th><td>{{range $i, $n := .Nature}}{{if $i}}, {{end}}{{$n}}{{else}}to follow{{end}}</td></tr>
<tr><th>When it happened</th><td>{{if .OccurredFrom.IsZero}}not known yet{{else}}from {{time .OccurredFrom}}{{if not .OccurredUntil.IsZero}} until {{time .OccurredUntil}}{{else}}, end not known{{end}}{{end}}</td></tr>
<tr><th>Categories of personal data</th><td>{{range .Categories}}<div>{{.ID}}{{with .Description}}: {{.}}{{end}}{{with .Special}} <span class="special">special category ({{.}})</span>{{end}}</div>{{else}}to follow{{end}}</td></tr>
<tr><th>Categories of data subjects</th><td>{{range $i, $c := .SubjectCategories}}{{if $i}}, {{end}}{{$c}}{{else}}to follow{{end}}</td></tr>
<tr><th>Approximate number of data subjects</th><td id="subjects">{{if .Subjects}}{{.Subjects}}{{else}}to follow{{end}}</td></tr>
<tr><th>Approximate number of records</th><td id="records">{{if .Records}}{{.Records}}{{else}}to follow{{end}}</td></tr>
{{- with .Affected}}
<tr><th>Found in the audit trail</th><td>{{.Subjects}} data subjects in {{.Entries}} audit entries between {{time .Scope.Since}} and {{time .Scope.Until}}{{if .Unintelligible}}; of them {{.Unintelligible}} whose data was encrypted under keys that stayed safe{{end}}</td></tr>
{{- end}}
</table>
</section>
<section id="contact">
<h2>Contact point <span class="art">Art. 33(3)(b)</span></h2>
{{- if .Contact.Name}}
<table>
<tr><th>Name</th><td>{{.Contact.Name}}{{with .Contact.Role}} ({{.}}){{end}}</td></tr>
{{- with .Contact.Email}}<tr><th>E-mail</th><td>{{.}}</td></tr>{{end}}
{{- with .Contact.Phone}}<tr><th>Telephone</th><td>{{.}}</td></tr>{{end}}
</table>
{{- else}}
<p>To follow.</p>
{{- end}}
</section>
<section id="consequences">
<h2>Likely consequences <span class="art">Art. 33(3)(c)</span></h2>
<p class="text">{{or .Consequences "To follow."}}</p>
</section>
<section id="measures">
<h2>Measures taken or proposed <span class="art">Art. 33(3)(d)</span></h2>
<p class="text">{{or .Measures "To follow."}}</p>
</section>
<section id="risk">
<h2>Assessment of the risk</h2>
<table>
<tr><th>Risk to the rights and freedoms of natural persons</th><td id="risk-level">{{risk .Assessment.Risk}}</td></tr>
{{- with .Assessment.Reasoning}}<tr><th>Reasoning</th><td class="text">{{.}}</td></tr>{{end}}
{{- range .Assessment.Exemptions}}<tr><th>Not communicated to the subjects <span class="art">{{.Ground.Article}}</span></th><td class="text">{{.Reasoning}}</td></tr>{{end}}
<tr><th>Communications to data subjects <span class="art">Art. 34</span></th><td>{{.Communications.Sent}} sent, {{.Communications.Failed}} failed, {{.Communications.Skipped}} not sent on a ground of Art. 34(3)</td></tr>
{{- range .Public}}<tr><th>Public communication <span class="art">Art. 34(3)(c)</span></th><td class="text">{{time .At}}, {{.Channel}}{{with .URL}} ({{.}}){{end}}: {{.Reasoning}}</td></tr>{{end}}
</table>
</section>
{{- with .Notifications}}
<section id="notifications">
<h2>Notifications made</h2>
<table>
{{- range .}}<tr><th>{{time .At}}</th><td>{{.Authority}}{{with .Reference}}, reference {{.}}{{end}}{{if .Final}} (final){{else}} (further information to follow){{end}}{{if .Recorded.After .At}}; recorded {{time .Recorded}}{{end}}</td></tr>{{end}}
</table>
</section>
{{- end}}
</main>
<footer>Times are given in {{.Zone}}. This page holds no personal data of the data subjects concerned.</footer>
</body>
</html>
`

var noticeTemplate = template.Must(template.New("notice").Funcs(template.FuncMap{
	"time": func(t time.Time) string { return t.Format("Monday 2 January 2006, 15:04 MST") },
	"risk": func(r Risk) string {
		switch r {
		case NoRisk:
			return "unlikely to result in a risk (Art. 33(1))"
		case SomeRisk:
			return "a risk"
		case HighRisk:
			return "a high risk (Art. 34(1))"
		}
		return "not assessed yet"
	},
}).Parse(strings.NewReplacer("\x00CSP\x00", noticeCSP, "\x00STYLE\x00", noticeStyle).Replace(noticeHTML)))

// WriteHTML writes n as a self-contained HTML page for the authority:
// html/template escapes every value, the page runs no script and loads
// nothing, and it marks what is still to follow.
func (n AuthorityNotice) WriteHTML(w io.Writer) error {
	loc := time.UTC
	if l, err := time.LoadLocation(n.Zone); err == nil {
		loc = l
	}
	v := n
	v.Aware, v.Due, v.Generated = n.Aware.In(loc), n.Due.In(loc), n.Generated.In(loc)
	v.OccurredFrom, v.OccurredUntil = n.OccurredFrom.In(loc), n.OccurredUntil.In(loc)
	if p := n.Processor; p != nil {
		c := *p
		c.Aware = p.Aware.In(loc)
		v.Processor = &c
	}
	if a := n.Affected; a != nil {
		c := *a
		c.At, c.Scope.Since, c.Scope.Until = a.At.In(loc), a.Scope.Since.In(loc), a.Scope.Until.In(loc)
		v.Affected = &c
	}
	v.Public = slices.Clone(n.Public)
	for i := range v.Public {
		v.Public[i].At = v.Public[i].At.In(loc)
	}
	v.Notifications = slices.Clone(n.Notifications)
	for i := range v.Notifications {
		v.Notifications[i].At = v.Notifications[i].At.In(loc)
		v.Notifications[i].Recorded = v.Notifications[i].Recorded.In(loc)
	}
	v.Reports = slices.Clone(n.Reports)
	for i := range v.Reports {
		v.Reports[i].At = v.Reports[i].At.In(loc)
	}
	var buf bytes.Buffer
	if err := noticeTemplate.Execute(&buf, v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// SubjectNotice is the communication of a breach to a data subject
// (Art. 34(2)): in clear and plain language, the nature of the breach and
// the items of Art. 33(3)(b)–(d). Text is the whole message, ready to
// send; the fields are its parts, for a host that lays it out itself.
type SubjectNotice struct {
	Breach       string
	Controller   string
	Description  string
	Consequences string
	Measures     string
	Advice       string
	Contact      Contact
	Text         string
}

var subjectText = texttemplate.Must(texttemplate.New("subject").Parse(
	`We are writing to tell you about a personal data breach{{with .Controller}} at {{.}}{{end}} that concerns your personal data.

What happened
{{or .Description "We are still establishing what happened and will tell you more as soon as we know."}}

What this may mean for you
{{or .Consequences "We are still assessing the likely consequences."}}

What we have done
{{or .Measures "We are taking measures to address the breach and will tell you about them."}}
{{with .Advice}}
What you can do
{{.}}
{{end}}
Whom to contact
{{if .Contact.Name}}{{.Contact.Name}}{{with .Contact.Role}} ({{.}}){{end}}{{with .Contact.Email}}, {{.}}{{end}}{{with .Contact.Phone}}, {{.}}{{end}}{{else}}Reply to this message.{{end}}

Breach reference: {{.Breach}}
`))

// withDPO returns b with the Register's DPO as its contact point when it
// names none (Art. 33(3)(b): "the data protection officer or other
// contact point").
func (l *Log) withDPO(b Breach) Breach {
	if b.Contact.IsZero() && l.register != nil && l.register.DPO != nil {
		d := l.register.DPO
		b.Contact = Contact{Name: d.Name, Role: "Data protection officer", Email: d.Email, Phone: d.Phone}
	}
	return b
}

// SubjectNotice returns the communication to the subjects of b, from the
// controller named controller ("" to leave it out). NotifySubjects sends
// it with the Register's DPO as the contact point when b names none.
func (b Breach) SubjectNotice(controller string) SubjectNotice {
	n := SubjectNotice{Breach: b.ID, Controller: controller, Description: b.Description,
		Consequences: b.Consequences, Measures: b.Measures, Advice: b.Advice, Contact: b.Contact}
	var buf strings.Builder
	_ = subjectText.Execute(&buf, n) // a text template over strings: cannot fail
	n.Text = buf.String()
	return n
}
