package consent_test

import (
	"errors"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr/consent"
)

// TestEvidenceRefusesPersonalData plants personal data in every field of
// Evidence: each choice is refused with ErrInvalid, names the field, never
// quotes the value, and writes nothing (issue 9: e-mail addresses in the
// user agent, in a locator's query string or in attributes, and IP
// addresses in attributes, were stored verbatim).
func TestEvidenceRefusesPersonalData(t *testing.T) {
	const mail = "ann.smith@example.org"
	for name, c := range map[string]struct {
		ev    consent.Evidence
		field string
	}{
		"full user agent":                   {consent.Evidence{UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"}, "evidence.user_agent"},
		"user agent mail":                   {consent.Evidence{UserAgent: mail}, "evidence.user_agent"},
		"user agent with a family and more": {consent.Evidence{UserAgent: "Firefox/Linux " + mail}, "evidence.user_agent"},
		"locator query":                     {consent.Evidence{Locator: "/signup?email=" + mail}, "evidence.locator"},
		"locator encoded query":             {consent.Evidence{Locator: "/signup%3Femail=ann"}, "evidence.locator"},
		"locator fragment":                  {consent.Evidence{Locator: "/signup#ann"}, "evidence.locator"},
		"locator path mail":                 {consent.Evidence{Locator: "/u/" + mail}, "evidence.locator"},
		"locator path encoded mail":         {consent.Evidence{Locator: "/u/ann.smith%40example.org"}, "evidence.locator"},
		"locator IP":                        {consent.Evidence{Locator: "/from/192.0.2.17"}, "evidence.locator"},
		"locator phone":                     {consent.Evidence{Locator: "/call/+49-30-1234567"}, "evidence.locator"},
		"locator free text":                 {consent.Evidence{Locator: "paper form signed by Ann Smith"}, "evidence.locator"},
		"locator control character":         {consent.Evidence{Locator: "/signup\u0085"}, "evidence.locator"},
		"attr mail":                         {consent.Evidence{Attrs: map[string]string{"ref": mail}}, "evidence.attrs"},
		"attr IPv4":                         {consent.Evidence{Attrs: map[string]string{"ip": "192.0.2.17"}}, "evidence.attrs"},
		"attr IPv4 inside":                  {consent.Evidence{Attrs: map[string]string{"ip": "from-192.0.2.17"}}, "evidence.attrs"},
		"attr IPv6":                         {consent.Evidence{Attrs: map[string]string{"ip": "2001:db8::17"}}, "evidence.attrs"},
		"attr phone":                        {consent.Evidence{Attrs: map[string]string{"tel": "+4930123456"}}, "evidence.attrs"},
		"attr national phone":               {consent.Evidence{Attrs: map[string]string{"tel": "030-1234-5678"}}, "evidence.attrs"},
		"attr free text":                    {consent.Evidence{Attrs: map[string]string{"note": "Ann Smith called"}}, "evidence.attrs"},
		"attr long":                         {consent.Evidence{Attrs: map[string]string{"note": strings.Repeat("a", 65)}}, "evidence.attrs"},
		"attr name mail":                    {consent.Evidence{Attrs: map[string]string{mail: "1"}}, "evidence.attrs"},
		"attr name IPv4":                    {consent.Evidence{Attrs: map[string]string{"192.0.2.17": "1"}}, "evidence.attrs"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			ch := f.choice("sam")
			ch.Evidence = c.ev
			_, err := f.l.Give(f.ctx, ch)
			var ce *consent.Error
			if !errors.Is(err, consent.ErrInvalid) || !errors.As(err, &ce) || ce.Field != c.field {
				t.Fatalf("Give with %+v: %v; want ErrInvalid for field %s", c.ev, err, c.field)
			}
			for _, v := range append(planted(c.ev), mail, "ann", "192.0.2.17", "1234567") {
				if isKey(v) && v != "ann" {
					continue // an attribute's name is a key, and may be quoted
				}
				if strings.Contains(err.Error(), v) {
					t.Errorf("error %q quotes the rejected value", err)
				}
			}
			if evs := mustOK(f.l.History(f.ctx, "sam", "")); len(evs) != 0 {
				t.Errorf("a refused choice left %d events", len(evs))
			}
		})
	}
}

// isKey reports whether s is a lower-case key, which errors may quote.
func isKey(s string) bool { return regexp.MustCompile(`^[a-z0-9_.-]{1,40}$`).MatchString(s) }

func planted(ev consent.Evidence) []string {
	out := []string{}
	for _, v := range []string{ev.UserAgent, ev.Locator} {
		if v != "" {
			out = append(out, v)
		}
	}
	for k, v := range ev.Attrs {
		out = append(out, k, v)
	}
	return out
}

// TestEvidenceAcceptsWhatItShould: the evidence the package makes and
// documents passes.
func TestEvidenceAcceptsWhatItShould(t *testing.T) {
	f := newFixture(t)
	for i, ev := range []consent.Evidence{
		{IPPrefix: "203.0.113.0/24", UserAgent: "Firefox/Linux", Locator: "/signup"},
		{UserAgent: "Safari/iOS", Locator: "POST /confirm/{token}"},
		{UserAgent: "app/Android", Locator: "PF-2026-0042"},
		{UserAgent: "client library/other", Locator: "https://example.com/signup/newsletter"},
		{Locator: "LIA-2026-01/objection-7", Attrs: map[string]string{"gpc": "1", "ab_variant": "b", "campaign": "spring-2026",
			"reasserts": "0190a3b2-7d1e-7f00-8a2b-123456789012", "day": "2026-03-02", "v": "1.2.3"}},
	} {
		ch := f.choice("ok-" + string(rune('a'+i)))
		ch.Evidence = ev
		if _, err := f.l.Give(f.ctx, ch); err != nil {
			t.Errorf("Give with %+v: %v", ev, err)
		}
	}
	r := httptest.NewRequest("POST", "https://example.com/signup?email=someone%40example.org", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0 ann@example.org")
	r.RemoteAddr = "198.51.100.23:1234"
	ch := f.choice("ok-request")
	ch.Evidence = consent.EvidenceFromRequest(r)
	if _, err := f.l.Give(f.ctx, ch); err != nil {
		t.Errorf("Give with EvidenceFromRequest: %v", err)
	}
	for _, fam := range []string{"Firefox/Linux", "Safari/iOS", "client library/other", "other/other"} {
		if got := consent.UserAgentFamily(fam); got != fam {
			t.Errorf("UserAgentFamily(%q) = %q: a family reduces to itself", fam, got)
		}
	}
}

var (
	fuzzMail = regexp.MustCompile(`\S@\S`)
	fuzzIPv4 = regexp.MustCompile(`\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}`)
	fuzzHex  = regexp.MustCompile(`[0-9A-Fa-f:.%]+`)
)

// personalIn returns what looks like an e-mail or IP address in s, in
// clear or percent-decoded, or "".
func personalIn(s string) string {
	forms := []string{s}
	if u, err := url.PathUnescape(s); err == nil {
		forms = append(forms, u)
	}
	for _, f := range forms {
		if m := fuzzMail.FindString(f); m != "" {
			return m
		}
		if m := fuzzIPv4.FindString(f); m != "" {
			return m
		}
		for _, tok := range fuzzHex.FindAllString(f, -1) {
			for _, part := range strings.FieldsFunc(tok, func(r rune) bool { return r == '%' }) {
				if a, err := netip.ParseAddr(strings.Trim(part, ".")); err == nil && strings.Contains(part, ":") {
					return a.String()
				}
			}
		}
	}
	return ""
}

// FuzzEvidence gives consent with fuzzed evidence (as given, and with the
// user agent through UserAgentFamily) and checks that nothing the ledger
// stored matches an e-mail or IP address pattern outside IPPrefix, which
// holds a truncated network and nothing longer.
func FuzzEvidence(f *testing.F) {
	f.Add("Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0", "/signup", "ref", "b", "198.51.100.0/24")
	f.Add("ann@example.org", "/signup?email=ann@example.org", "ip", "192.0.2.1", "192.0.2.1/32")
	f.Add("Firefox/Linux", "/u/ann%40example.org", "v6", "2001:db8::1", "2001:db8::/48")
	f.Add("Safari/iOS", "POST /confirm/{token}", "ann@example.org", "1", "")
	f.Add("", "/from/10.0.0.1", "tel", "+4930123456", "::ffff:192.0.2.0/120")
	f.Add("app/iOS", "PF-2026-0042", "192.0.2.1", "1", "")
	fx := newFixture(f)
	n := 0
	f.Fuzz(func(t *testing.T, ua, locator, key, value, prefix string) {
		for _, agent := range []string{ua, consent.UserAgentFamily(ua)} {
			n++
			ch := fx.choice("fuzz-" + string(rune('a'+n%26)))
			ch.Evidence = consent.Evidence{IPPrefix: prefix, UserAgent: agent, Locator: locator, Attrs: map[string]string{key: value}}
			e, err := fx.l.Give(fx.ctx, ch)
			if err != nil {
				if !errors.Is(err, consent.ErrInvalid) {
					t.Fatalf("Give: %v; want nil or ErrInvalid", err)
				}
				continue
			}
			stored := mustOK(fx.store.Event(fx.ctx, e.ID)).Evidence
			for _, v := range append(planted(stored), stored.UserAgent) {
				if m := personalIn(v); m != "" {
					t.Fatalf("stored evidence %+v holds %q", stored, m)
				}
			}
			if stored.IPPrefix != "" {
				p := netip.MustParsePrefix(stored.IPPrefix)
				if a := p.Addr().Unmap(); p.Masked() != p || (a.Is4() && p.Bits() > 24+96*boolInt(p.Addr().Is4In6())) || (!a.Is4() && p.Bits() > 48) {
					t.Fatalf("stored IP prefix %s is not truncated", stored.IPPrefix)
				}
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
