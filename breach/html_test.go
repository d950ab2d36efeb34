package breach_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/breach"
)

// The values planted in the hostile breach's free-text fields: each would
// run script, break out of its element or out of the style block, or be
// taken for a template action, were the page not escaping it.
const (
	plantScript = `<script>alert(1)</script>`
	plantAttr   = `"><img src=x onerror=alert(1)>`
	plantStyle  = `</style><style>body{display:none}</style>`
	plantAction = `{{.}}`
	plantURL    = `https://shop.example/notice?x="><script>alert(1)</script>`
)

// The escaped forms html/template writes in text.
const (
	plantScriptEsc = `&lt;script&gt;alert(1)&lt;/script&gt;`
	plantAttrEsc   = `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`
	plantStyleEsc  = `&lt;/style&gt;&lt;style&gt;body{display:none}&lt;/style&gt;`
)

// hostile is a field's planted value, labelled so that the test can find
// the field on the page.
func hostile(label string) string {
	return label + ": " + plantScript + " " + plantAttr + " " + plantStyle + " " + plantAction
}

// hostileEsc is hostile(label) as the page must show it.
func hostileEsc(label string) string {
	return label + ": " + plantScriptEsc + " " + plantAttrEsc + " " + plantStyleEsc + " " + plantAction
}

// hostileLabels are the fields of the hostile breach that the page shows,
// each planted with hostile(label).
var hostileLabels = []string{
	"controller", "controller-address", "category", "processor", "description", "subject-category",
	"consequences", "measures", "contact", "role", "email", "phone", "reasoning", "exemption",
	"authority", "reference", "delay", "channel", "public",
}

// hostileRegister is the fixture's register with planted values where
// the page shows the controller and a category: anyone who edits the
// register may put them there.
func hostileRegister(t testing.TB) *gdpr.Register {
	t.Helper()
	r := register(t)
	r.Controller.Name, r.Controller.Address = hostile("controller"), hostile("controller-address")
	r.Activities[0].DataCategories[0].Description = hostile("category") // contact
	if err := r.Validate(); err != nil {
		t.Fatalf("hostile register: %v", err)
	}
	return r
}

// hostileBreach records a breach with planted values in every free-text
// field, searches the trail for its subjects, assesses it, notifies the
// authority after the 72 hours with the reasons, then again as final,
// and publishes a communication with a javascript: URL. The clock is
// left a day after the deadline.
func hostileBreach(t *testing.T) (*fixture, breach.Breach) {
	t.Helper()
	f := newFixture(t, breach.WithRegister(hostileRegister(t)))
	ctx := context.Background()
	from, until := now.Add(-30*time.Hour), now.Add(-26*time.Hour)
	for i := range 5 {
		f.trail.add(gdpr.SubjectID(user(i)), from.Add(time.Duration(i)*time.Minute), "agent-7", "contact")
	}
	b, err := f.log.Record(ctx, breach.Report{
		Aware:     now.Add(-2 * time.Hour),
		Processor: &breach.Processor{Name: hostile("processor"), Aware: now.Add(-3 * time.Hour)},
		Details: breach.Details{
			Description:       hostile("description"),
			Nature:            []breach.Nature{breach.Confidentiality, breach.Integrity},
			Categories:        []string{"contact", "orders"},
			SubjectCategories: []string{hostile("subject-category"), "customers"},
			Subjects:          1200, Records: 5400,
			OccurredFrom: from, OccurredUntil: until,
			Consequences: hostile("consequences"),
			Measures:     hostile("measures"),
			Advice:       hostile("advice"),
			Contact: breach.Contact{Name: hostile("contact"), Role: hostile("role"),
				Email: hostile("email"), Phone: hostile("phone")},
		},
	})
	if err != nil {
		t.Fatalf("Record: %v", err)
	}
	scope := breach.Scope{TrailQuery: gdpr.TrailQuery{Since: from, Until: until, Actor: gdpr.Staff("agent-7")}}
	if _, err := f.log.Affected(ctx, b.ID, scope, ids(10, user), nil); err != nil {
		t.Fatalf("Affected: %v", err)
	}
	if _, err := f.log.Assess(ctx, b.ID, breach.Assessment{Risk: breach.HighRisk, Reasoning: hostile("reasoning"),
		Exemptions: []breach.Exemption{{Ground: breach.Disproportionate, Reasoning: hostile("exemption")}}}); err != nil {
		t.Fatalf("Assess: %v", err)
	}
	*f.clock = b.Clock.Due.Add(6 * time.Hour)
	if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: hostile("authority"),
		Reference: hostile("reference"), DelayReasons: hostile("delay")}); err != nil {
		t.Fatalf("NotifyAuthority: %v", err)
	}
	if _, err := f.log.Publish(ctx, b.ID, breach.Public{Channel: hostile("channel"), URL: plantURL,
		Reasoning: hostile("public")}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	*f.clock = f.clock.Add(18 * time.Hour)
	b, err = f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI", Final: true})
	if err != nil {
		t.Fatalf("final NotifyAuthority: %v", err)
	}
	return f, b
}

func notice(t *testing.T, f *fixture, id string) breach.AuthorityNotice {
	t.Helper()
	n, err := f.log.AuthorityNotice(context.Background(), id)
	if err != nil {
		t.Fatalf("AuthorityNotice: %v", err)
	}
	return n
}

func renderNotice(t *testing.T, n breach.AuthorityNotice) string {
	t.Helper()
	var buf bytes.Buffer
	if err := n.WriteHTML(&buf); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	return buf.String()
}

// The page's markup, as the template writes it.
var (
	noticeTags = map[string]bool{
		"!doctype": true, "html": true, "head": true, "meta": true, "title": true, "style": true,
		"body": true, "header": true, "main": true, "section": true, "footer": true,
		"h1": true, "h2": true, "p": true, "div": true, "span": true, "ul": true, "li": true,
		"table": true, "tr": true, "th": true, "td": true,
	}
	noticeVoid  = map[string]bool{"!doctype": true, "meta": true}
	noticeAttrs = map[string]bool{"lang": true, "charset": true, "http-equiv": true, "content": true, "name": true, "class": true, "id": true}

	tagRE    = regexp.MustCompile(`<(/?)([!a-zA-Z][a-zA-Z0-9]*)([^<>]*)>`)
	attrRE   = regexp.MustCompile(`^\s+([^\s="'<>/]+)(?:="([^"]*)")?`)
	entityRE = regexp.MustCompile(`^&(?:[a-z]+|#[0-9]+);`)
	styleRE  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	cspRE    = regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`)
)

// checkNoticeMarkup parses out as far as the page needs: valid UTF-8;
// every '<' and '>' outside the one style block belongs to a well-formed
// tag of an element the page uses, with only the attributes it uses
// (no style, no event handler, no src or href), no attribute value with
// a javascript: URL; every '&' starts an entity; and the elements nest
// and close as they open.
func checkNoticeMarkup(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Error("the page is not valid UTF-8")
	}
	low := strings.ToLower(out)
	if n, m := strings.Count(low, "<style"), strings.Count(low, "</style"); n != 1 || m != 1 {
		t.Fatalf("%d <style and %d </style in the page, want one style element", n, m)
	}
	body := out
	if loc := styleRE.FindStringSubmatchIndex(out); loc != nil {
		css := out[loc[2]:loc[3]]
		if strings.ContainsAny(css, "<>&") {
			t.Error("'<', '>' or '&' inside the style block")
		}
		body = out[:loc[2]] + out[loc[3]:]
	}
	tags := tagRE.FindAllStringSubmatchIndex(body, -1)
	if n := strings.Count(body, "<"); n != len(tags) {
		t.Errorf("%d '<' but %d well-formed tags: a stray '<' in the page", n, len(tags))
	}
	if n := strings.Count(body, ">"); n != len(tags) {
		t.Errorf("%d '>' but %d well-formed tags: a stray '>' in the page", n, len(tags))
	}
	for i := range len(body) {
		if body[i] == '&' && !entityRE.MatchString(body[i:]) {
			t.Errorf("a bare '&' at %q", body[i:min(i+20, len(body))])
		}
	}
	var stack []string
	for _, m := range tags {
		closing, name, attrs := body[m[2]:m[3]] == "/", strings.ToLower(body[m[4]:m[5]]), body[m[6]:m[7]]
		tag := body[m[0]:m[1]]
		if !noticeTags[name] {
			t.Errorf("unexpected element %s", tag)
			continue
		}
		switch {
		case name == "!doctype":
			if tag != "<!doctype html>" {
				t.Errorf("doctype %s", tag)
			}
		case closing:
			if attrs != "" {
				t.Errorf("attributes on a closing tag %s", tag)
			}
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Errorf("%s closes %v", tag, stack)
				continue
			}
			stack = stack[:len(stack)-1]
		default:
			for rest := attrs; strings.TrimSpace(rest) != ""; {
				a := attrRE.FindStringSubmatch(rest)
				if a == nil {
					t.Errorf("malformed attributes in %s", tag)
					break
				}
				if an := strings.ToLower(a[1]); !noticeAttrs[an] {
					t.Errorf("attribute %s in %s", an, tag)
				}
				if strings.Contains(strings.ToLower(a[2]), "javascript:") {
					t.Errorf("a javascript: URL in %s", tag)
				}
				rest = rest[len(a[0]):]
			}
			if !noticeVoid[name] {
				stack = append(stack, name)
			}
		}
	}
	if len(stack) != 0 {
		t.Errorf("elements left open: %v", stack)
	}
	for _, a := range []*regexp.Regexp{
		regexp.MustCompile(`<[^<>]*\sstyle\s*=`), regexp.MustCompile(`<[^<>]*\son[a-z]+\s*=`),
		regexp.MustCompile(`<[^<>]*\s(src|href|action|formaction)\s*=`),
	} {
		if m := a.FindString(body); m != "" {
			t.Errorf("a forbidden attribute: %s", m)
		}
	}
}

// TestAuthorityNoticeHTMLEscapes: every free-text value is on the page,
// escaped as text; nothing planted becomes markup.
func TestAuthorityNoticeHTMLEscapes(t *testing.T) {
	f, b := hostileBreach(t)
	out := renderNotice(t, notice(t, f, b.ID))
	low := strings.ToLower(out)
	for _, bad := range []string{"<script", "<img", "<iframe", "<object", "<embed", "<link", "<base", "<form", "<a ", "<svg", "<math"} {
		if strings.Contains(low, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	for _, raw := range []string{plantScript, plantAttr, plantStyle} {
		if strings.Contains(out, raw) {
			t.Errorf("the page contains %q unescaped", raw)
		}
	}
	for _, l := range hostileLabels {
		if !strings.Contains(out, hostileEsc(l)) {
			t.Errorf("the page lacks the %s field, escaped as %q", l, hostileEsc(l))
		}
	}
	// The advice is for the subjects, not the authority.
	if strings.Contains(out, "advice: ") {
		t.Error("the page shows the advice to the subjects")
	}
	// onerror= only inside the escaped planted text, never in a tag.
	if n, m := strings.Count(out, "onerror="), strings.Count(out, plantAttrEsc); n != m {
		t.Errorf("onerror= %d times, %d of them in the escaped planted value", n, m)
	}
	// A template action in a value is text, not evaluated.
	if n := strings.Count(out, plantAction); n < len(hostileLabels) {
		t.Errorf("%q appears %d times, want at least %d", plantAction, n, len(hostileLabels))
	}
	// The URL is shown as escaped text, in the public communication, and
	// nowhere as a link (Publish refuses any URL but http and https).
	if !strings.Contains(out, " ("+template.HTMLEscapeString(plantURL)+"): "+hostileEsc("public")) || strings.Contains(low, "href") {
		t.Errorf("the public communication's URL is not shown as escaped text")
	}
	checkNoticeMarkup(t, out)
}

// TestAuthorityNoticeHTMLPolicy: one style block, allowed by its hash and
// nothing else; no external resource.
func TestAuthorityNoticeHTMLPolicy(t *testing.T) {
	f, b := hostileBreach(t)
	out := renderNotice(t, notice(t, f, b.ID))
	if !strings.HasPrefix(out, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">") {
		t.Errorf("the page starts %q", out[:min(80, len(out))])
	}
	for _, want := range []string{`<meta name="referrer" content="no-referrer">`, `<meta name="robots" content="noindex, nofollow">`} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	m := cspRE.FindAllStringSubmatch(out, -1)
	if len(m) != 1 {
		t.Fatalf("%d Content-Security-Policy meta tags, want 1", len(m))
	}
	styles := styleRE.FindAllStringSubmatch(out, -1)
	if len(styles) != 1 || strings.Count(strings.ToLower(out), "<style") != 1 {
		t.Fatalf("%d style blocks, want 1", len(styles))
	}
	sum := sha256.Sum256([]byte(styles[0][1]))
	want := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action 'none'; base-uri 'none'"
	if m[0][1] != want {
		t.Errorf("CSP\n%s\nwant (the hash of the style block as written)\n%s", m[0][1], want)
	}
	if strings.Index(out, "Content-Security-Policy") > strings.Index(out, "<style>") {
		t.Error("the policy comes after the style block")
	}
	css := styles[0][1]
	for _, bad := range []string{"/*", "url(", "@import", "expression(", "\\"} {
		if strings.Contains(css, bad) {
			t.Errorf("the style block contains %q", bad)
		}
	}
	if !strings.Contains(css, "h2{") || !strings.Contains(css, "color:#1f4e79") {
		t.Error("the style block lacks the h2 rule the browser test checks")
	}
	checkNoticeMarkup(t, out)
}

// TestAuthorityNoticeHTMLSections: every section and every cell the
// browser test or an authority's reader looks for is there, once.
func TestAuthorityNoticeHTMLSections(t *testing.T) {
	f, b := hostileBreach(t)
	n := notice(t, f, b.ID)
	out := renderNotice(t, n)
	for _, id := range []string{"nature", "contact", "consequences", "measures", "risk", "notifications"} {
		if c := strings.Count(out, `<section id="`+id+`">`); c != 1 {
			t.Errorf("section #%s %d times, want 1", id, c)
		}
	}
	for _, id := range []string{"breach", "aware", "due", "late", "subjects", "records", "risk-level"} {
		if c := strings.Count(out, ` id="`+id+`"`); c != 1 {
			t.Errorf("#%s %d times, want 1", id, c)
		}
	}
	for _, want := range []string{
		"<title>Personal data breach notification " + b.ID + "</title>",
		`<td id="breach">` + b.ID + `</td>`,
		`<td id="subjects">1200</td>`, `<td id="records">5400</td>`,
		`<td id="risk-level">a high risk (Art. 34(1))</td>`,
		"<td>confidentiality, integrity</td>",
		"<div>contact: " + hostileEsc("category") + "</div><div>orders: order history</div>",
		"<td>" + hostileEsc("subject-category") + ", customers</td>",
		"5 data subjects in 5 audit entries between ",
		"<th>Not communicated to the subjects <span class=\"art\">Art. 34(3)(c)</span></th>",
		"<td>0 sent, 0 failed, 0 not sent on a ground of Art. 34(3)</td>",
		"(further information to follow)", "(final)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if low := strings.ToLower(out); strings.Contains(out, `id="to-follow"`) || strings.Contains(low, "to follow<") || strings.Contains(low, "to follow.<") {
		t.Error("a complete notice lists items to follow")
	}
	if order := []string{`id="nature"`, `id="contact"`, `id="consequences"`, `id="measures"`, `id="risk"`, `id="notifications"`, "<footer>"}; !slices.IsSortedFunc(order, func(a, b string) int {
		return strings.Index(out, a) - strings.Index(out, b)
	}) {
		t.Error("the sections are out of order")
	}
}

// TestAuthorityNoticeHTMLToFollow: what Art. 33(3) asks and the
// controller has not given yet is listed (Art. 33(4)), and shown as to
// follow where it belongs; the list goes once everything is given.
func TestAuthorityNoticeHTMLToFollow(t *testing.T) {
	ctx := context.Background()
	a, c, d := "Art. 33(3)(a)", "Art. 33(3)(c)", "Art. 33(3)(d)"
	list := func(items []breach.Item) string {
		var s strings.Builder
		s.WriteString(`<div class="follow" id="to-follow"><p>The following information is not available yet and will be provided in phases (Art. 33(4)):</p>` + "\n<ul>")
		for _, it := range items {
			fmt.Fprintf(&s, `<li>%s <span class="art">%s</span></li>`, it.What, it.Article)
		}
		s.WriteString("</ul></div>")
		return s.String()
	}
	t.Run("nothing given", func(t *testing.T) {
		f := newFixture(t)
		br, err := f.log.Record(ctx, breach.Report{Aware: now.Add(-time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		n := notice(t, f, br.ID)
		want := []breach.Item{
			{a, "description of what happened"}, {a, "nature of the breach"}, {a, "categories of personal data"},
			{a, "categories of data subjects"}, {a, "approximate number of data subjects"},
			{a, "approximate number of personal data records"},
			{c, "likely consequences"}, {d, "measures taken or proposed"},
		} // the register's DPO is the contact point (Art. 33(3)(b))
		if !slices.Equal(n.ToFollow, want) {
			t.Errorf("ToFollow = %v, want %v", n.ToFollow, want)
		}
		out := renderNotice(t, n)
		if !strings.Contains(out, list(want)) {
			t.Errorf("the page lacks the list\n%s", list(want))
		}
		for _, cell := range []string{
			`<tr><th>What happened</th><td class="text">to follow</td></tr>`,
			`<tr><th>Nature</th><td>to follow</td></tr>`,
			`<tr><th>When it happened</th><td>not known yet</td></tr>`,
			`<tr><th>Categories of personal data</th><td>to follow</td></tr>`,
			`<tr><th>Categories of data subjects</th><td>to follow</td></tr>`,
			`<td id="subjects">to follow</td>`, `<td id="records">to follow</td>`,
			"<tr><th>Name</th><td>Data Protection Officer (Data protection officer)</td></tr>",
			`<p class="text">To follow.</p>`,
			`<td id="risk-level">not assessed yet</td>`,
		} {
			if !strings.Contains(out, cell) {
				t.Errorf("the page lacks %q", cell)
			}
		}
		checkNoticeMarkup(t, out)
	})
	t.Run("some given", func(t *testing.T) {
		f := newFixture(t)
		br, err := f.log.Record(ctx, report()) // no counts, contact, consequences or measures
		if err != nil {
			t.Fatal(err)
		}
		want := []breach.Item{
			{a, "approximate number of data subjects"}, {a, "approximate number of personal data records"},
			{c, "likely consequences"}, {d, "measures taken or proposed"},
		}
		n := notice(t, f, br.ID)
		if !slices.Equal(n.ToFollow, want) {
			t.Errorf("ToFollow = %v, want %v", n.ToFollow, want)
		}
		out := renderNotice(t, n)
		if !strings.Contains(out, list(want)) {
			t.Errorf("the page lacks the list\n%s", list(want))
		}
		if strings.Count(out, "<li>") != len(want) {
			t.Errorf("%d items listed, want %d", strings.Count(out, "<li>"), len(want))
		}
		checkNoticeMarkup(t, out)

		// Art. 33(4): the rest follows in a phase; the list goes.
		if _, err := f.log.Update(ctx, br.ID, breach.Details{Subjects: 1200, Records: 5400,
			OccurredFrom: now.Add(-30 * time.Hour), Consequences: "Phishing aimed at the customers.",
			Measures: "The account was locked.", Contact: breach.Contact{Name: "Data Protection Officer", Email: "dpo@shop.example"}}); err != nil {
			t.Fatal(err)
		}
		n = notice(t, f, br.ID)
		if len(n.ToFollow) != 0 {
			t.Errorf("ToFollow of a complete breach = %v", n.ToFollow)
		}
		out = renderNotice(t, n)
		for _, bad := range []string{`id="to-follow"`, "will be provided in phases", "<li>", "to follow", "To follow"} {
			if strings.Contains(out, bad) {
				t.Errorf("the complete notice's page contains %q", bad)
			}
		}
		if !strings.Contains(out, `<td id="subjects">1200</td>`) || !strings.Contains(out, "<td>Data Protection Officer</td>") {
			t.Error("the page lacks the details given in the later phase")
		}
		checkNoticeMarkup(t, out)
	})
}

// TestAuthorityNoticeHTMLZone: the deadline and the other times of the
// header are shown in the controller's zone, whatever zone the notice's
// times carry, and the footer names the zone.
func TestAuthorityNoticeHTMLZone(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		zone                  string
		aware, due, generated string
	}{
		// Aware 12:00 UTC = 14:00 CEST: the hour 14–15 does not count.
		{"Europe/Berlin", "Tuesday 12 May 2026, 14:00 CEST", "Friday 15 May 2026, 15:00 CEST", "Tuesday 12 May 2026, 16:00 CEST"},
		// 17:30 IST: the zone's hours start at the half hour UTC.
		{"Asia/Kolkata", "Tuesday 12 May 2026, 17:30 IST", "Friday 15 May 2026, 18:00 IST", "Tuesday 12 May 2026, 19:30 IST"},
		{"America/New_York", "Tuesday 12 May 2026, 08:00 EDT", "Friday 15 May 2026, 09:00 EDT", "Tuesday 12 May 2026, 10:00 EDT"},
	} {
		t.Run(c.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(c.zone)
			if err != nil {
				t.Fatalf("no tzdata for %s: %v", c.zone, err)
			}
			f := newFixture(t, breach.WithLocation(loc))
			b, err := f.log.Record(ctx, report())
			if err != nil {
				t.Fatal(err)
			}
			n := notice(t, f, b.ID)
			if n.Zone != c.zone {
				t.Errorf("Zone = %q, want %q", n.Zone, c.zone)
			}
			// The same page whether the times carry the zone or UTC (as
			// after a JSON round trip).
			u := n
			u.Aware, u.Due, u.Generated = n.Aware.UTC(), n.Due.UTC(), n.Generated.UTC()
			for name, v := range map[string]breach.AuthorityNotice{"as given": n, "in UTC": u} {
				out := renderNotice(t, v)
				for _, want := range []string{
					`<td id="aware">` + c.aware + `</td>`,
					`<td id="due">` + c.due + `</td>`,
					`<tr><th>Generated</th><td>` + c.generated + `</td></tr>`,
					`<footer>Times are given in ` + c.zone + `.`,
				} {
					if !strings.Contains(out, want) {
						t.Errorf("%s: the page lacks %q", name, want)
					}
				}
			}
		})
	}
	t.Run("unknown zone", func(t *testing.T) {
		f := newFixture(t)
		b, _ := f.log.Record(ctx, report())
		n := notice(t, f, b.ID)
		n.Zone = "Nowhere/Atlantis"
		out := renderNotice(t, n)
		if !strings.Contains(out, `<td id="due">Friday 15 May 2026, 13:00 UTC</td>`) {
			t.Error("a notice with an unknown zone is not shown in UTC")
		}
	})
}

// TestAuthorityNoticeHTMLTimesInZone: the footer says every time on the
// page is in the controller's zone; so must every time be, not only those
// of the header.
func TestAuthorityNoticeHTMLTimesInZone(t *testing.T) {
	f, b := hostileBreach(t)
	out := renderNotice(t, notice(t, f, b.ID))
	timeRE := regexp.MustCompile(`[A-Z][a-z]+day \d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} ([A-Za-z0-9+-]+)`)
	all := timeRE.FindAllStringSubmatch(out, -1)
	if len(all) < 10 {
		t.Fatalf("%d times on the page, want at least 10", len(all))
	}
	for _, m := range all {
		if m[1] != "CEST" {
			t.Errorf("%q is not in Europe/Berlin (CEST), the zone the footer names", m[0])
		}
	}
}

// TestAuthorityNoticeHTMLNamesDPO: the notice names the DPO from the
// register (WithRegister's doc; Art. 33(3)(b) asks for "the name and
// contact details of the data protection officer or other contact
// point"), and the page must show what the JSON gives the authority.
func TestAuthorityNoticeHTMLNamesDPO(t *testing.T) {
	f, b := hostileBreach(t)
	n := notice(t, f, b.ID)
	if n.DPO == nil || n.DPO.Email != "dpo@shop.example" {
		t.Fatalf("DPO = %+v, want the register's", n.DPO)
	}
	out := renderNotice(t, n)
	for _, want := range []string{n.DPO.Name, n.DPO.Email} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks the DPO's %q, which the notice's JSON gives", want)
		}
	}
}

// TestAuthorityNoticeHTMLLate: the late paragraph, with the reasons of
// the first notification, when that was made at or after the deadline,
// or would be now.
func TestAuthorityNoticeHTMLLate(t *testing.T) {
	ctx := context.Background()
	const late = `<p class="late" id="late">This notification is made after the 72 hours of Art. 33(1).`
	for _, c := range []struct {
		name string
		// at is when to notify, relative to the deadline; nil: not notified.
		at     *time.Duration
		reason string
		now    time.Duration // the clock at the end, relative to the deadline
		want   string        // the paragraph, or "" for none
	}{
		{"not notified, in time", nil, "", -time.Second, ""},
		{"not notified, at the deadline", nil, "", 0, late + "</p>"},
		{"notified in time, read later", ptr(-time.Second), "", 48 * time.Hour, ""},
		{"notified at the deadline", ptr(time.Duration(0)), hostile("delay"), time.Hour,
			late + " Reasons for the delay: " + hostileEsc("delay") + "</p>"},
		{"notified late", ptr(30 * time.Hour), "The processor told us two days after it found the breach.", 40 * time.Hour,
			late + " Reasons for the delay: The processor told us two days after it found the breach.</p>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			b, err := f.log.Record(ctx, report())
			if err != nil {
				t.Fatal(err)
			}
			if c.at != nil {
				*f.clock = b.Clock.Due.Add(*c.at)
				if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI", DelayReasons: c.reason}); err != nil {
					t.Fatal(err)
				}
				// A later phase, in time or not, changes nothing.
				*f.clock = b.Clock.Due.Add(c.now)
				if _, err := f.log.NotifyAuthority(ctx, b.ID, breach.Notification{Authority: "BlnBDI", Final: true}); err != nil {
					t.Fatal(err)
				}
			}
			*f.clock = b.Clock.Due.Add(c.now)
			n := notice(t, f, b.ID)
			if n.Late != (c.want != "") {
				t.Errorf("Late = %v", n.Late)
			}
			out := renderNotice(t, n)
			if c.want == "" {
				if strings.Contains(out, `id="late"`) || strings.Contains(out, "after the 72 hours") {
					t.Error("a notice in time has the late paragraph")
				}
				return
			}
			if !strings.Contains(out, c.want) {
				i := strings.Index(out, `id="late"`)
				t.Errorf("the late paragraph\n%s\nwant\n%s", out[max(i-20, 0):min(max(i, 0)+400, len(out))], c.want)
			}
			if strings.Count(out, "after the 72 hours") != 1 {
				t.Error("the late paragraph is not there once")
			}
			checkNoticeMarkup(t, out)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestAuthorityNoticeHTMLDeterministic: the same breach at the same clock
// gives the same bytes, from the same notice, a fresh one, or another Log
// over the same store.
func TestAuthorityNoticeHTMLDeterministic(t *testing.T) {
	f, b := hostileBreach(t)
	n := notice(t, f, b.ID)
	first := renderNotice(t, n)
	for i := range 3 {
		if out := renderNotice(t, n); out != first {
			t.Fatalf("render %d differs from the first", i+2)
		}
	}
	if out := renderNotice(t, notice(t, f, b.ID)); out != first {
		t.Error("a second AuthorityNotice at the same clock renders differently")
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	clock := *f.clock
	other, err := breach.New(f.store, key, breach.WithRegister(hostileRegister(t)), breach.WithLocation(berlin),
		breach.WithClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	n2, err := other.AuthorityNotice(context.Background(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if out := renderNotice(t, n2); out != first {
		t.Error("another Log over the same store at the same clock renders differently")
	}
	// And the clock is the only input that changes the page here.
	*f.clock = f.clock.Add(time.Minute)
	if out := renderNotice(t, notice(t, f, b.ID)); out == first {
		t.Error("the page does not change with the clock (the Generated time)")
	}
}

// TestAuthorityNoticeJSON: json.Marshal of a notice decodes into an
// AuthorityNotice with the same fields (times equal as instants), encodes
// again to the same bytes, and renders the same page.
func TestAuthorityNoticeJSON(t *testing.T) {
	f, b := hostileBreach(t)
	g := newFixture(t)
	partial, err := g.log.Record(context.Background(), report())
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]breach.AuthorityNotice{"complete": notice(t, f, b.ID), "partial": notice(t, g, partial.ID)} {
		t.Run(name, func(t *testing.T) {
			data, err := json.Marshal(n)
			if err != nil {
				t.Fatal(err)
			}
			var back breach.AuthorityNotice
			if err := json.Unmarshal(data, &back); err != nil {
				t.Fatal(err)
			}
			if d := diffValues("AuthorityNotice", reflect.ValueOf(n), reflect.ValueOf(back)); len(d) > 0 {
				t.Errorf("after the round trip these differ: %v", d)
			}
			again, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, data) {
				t.Errorf("encoded again:\n%s\nfirst:\n%s", again, data)
			}
			if renderNotice(t, back) != renderNotice(t, n) {
				t.Error("the decoded notice renders a different page")
			}
			var keys map[string]json.RawMessage
			if err := json.Unmarshal(data, &keys); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"breach", "generated", "aware", "due", "zone", "late", "assessment", "communications"} {
				if _, ok := keys[k]; !ok {
					t.Errorf("the JSON lacks %q", k)
				}
			}
			if name == "complete" {
				for _, k := range []string{"controller", "dpo", "processor", "delay_reasons", "description", "nature",
					"occurred_from", "occurred_until", "categories", "subject_categories", "subjects", "records",
					"affected", "contact", "consequences", "measures", "public", "notifications"} {
					if _, ok := keys[k]; !ok {
						t.Errorf("the JSON of the complete notice lacks %q", k)
					}
				}
				if _, ok := keys["to_follow"]; ok {
					t.Error("the JSON of the complete notice has to_follow")
				}
			} else if len(back.ToFollow) != 4 {
				t.Errorf("the partial notice decodes with %d items to follow, want 4", len(back.ToFollow))
			}
		})
	}
}

var timeType = reflect.TypeFor[time.Time]()

// diffValues returns the paths at which a and b differ, comparing times
// as instants (a JSON round trip keeps the instant, not the location)
// and a nil slice or map as equal to an empty one (omitempty).
func diffValues(path string, a, b reflect.Value) []string {
	if a.Type() == timeType {
		if !a.Interface().(time.Time).Equal(b.Interface().(time.Time)) {
			return []string{path}
		}
		return nil
	}
	var out []string
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return []string{path}
			}
			return nil
		}
		return diffValues(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := range a.NumField() {
			if a.Type().Field(i).IsExported() {
				out = append(out, diffValues(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i))...)
			}
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return []string{path + " (length)"}
		}
		for i := range a.Len() {
			out = append(out, diffValues(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))...)
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			return []string{path + " (length)"}
		}
		for _, k := range a.MapKeys() {
			if !b.MapIndex(k).IsValid() {
				out = append(out, fmt.Sprintf("%s[%v]", path, k))
				continue
			}
			out = append(out, diffValues(fmt.Sprintf("%s[%v]", path, k), a.MapIndex(k), b.MapIndex(k))...)
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return []string{path}
		}
	}
	return out
}
