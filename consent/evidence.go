package consent

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// EvidenceFromRequest collects the evidence of a choice made over HTTP,
// keeping none of the raw personal data the request carries: the network
// of r.RemoteAddr truncated by TruncateIP (proxy headers such as
// X-Forwarded-For are not trusted; behind a proxy, set IPPrefix yourself
// from the address your proxy vouches for), the browser and OS family of the
// User-Agent (UserAgentFamily), the route pattern that matched the request
// (r.Pattern, e.g. "POST /signup", set by http.ServeMux; never the raw path,
// which may hold an e-mail address or a token; a pattern that breaks the
// rules of Evidence.Locator is left out), and "gpc": "1" when the request
// carries a Global Privacy Control signal (HasGPC). The result always
// passes the Ledger's checks.
func EvidenceFromRequest(r *http.Request) Evidence {
	var ev Evidence
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		ev.IPPrefix = TruncateIP(addr)
	}
	ev.UserAgent = UserAgentFamily(r.UserAgent())
	if validLocator(r.Pattern) == nil {
		ev.Locator = r.Pattern
	}
	if HasGPC(r.Header) {
		ev.Attrs = map[string]string{"gpc": "1"}
	}
	return ev
}

// HasGPC reports whether the headers carry a Global Privacy Control signal
// ("Sec-GPC: 1"), a browser's standing objection to the sale or sharing of
// the user's data, which a controller can record as an objection or a
// withdrawal with MethodGPC. It keeps to the GPC specification's grammar:
// one Sec-GPC field whose value is "1" with optional spaces and tabs
// around it. A missing or empty field, "0", "true", and a field given
// twice (whose lines combine to "1, 1") are no signal.
// gdprhttp.GPC is the same test on a request.
func HasGPC(h http.Header) bool {
	v := h.Values("Sec-GPC")
	return len(v) == 1 && strings.Trim(v[0], " \t") == "1"
}

// The families UserAgentFamily returns, and that Evidence.UserAgent may
// hold: a client family, "/", an OS family. "app" is not returned by
// UserAgentFamily; a host sets it for its own native app.
var (
	clientFamilies = []string{"Edge", "Opera", "Samsung Internet", "Firefox", "Chrome", "Safari", "client library", "app", "other"}
	osFamilies     = []string{"iOS", "Android", "Windows", "macOS", "ChromeOS", "Linux", "other"}
)

// isFamily reports whether s is "<client family>/<OS family>".
func isFamily(s string) bool {
	client, os, ok := strings.Cut(s, "/")
	return ok && contains(clientFamilies, client) && contains(osFamilies, os)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// UserAgentFamily reduces a User-Agent string to a browser and OS family,
// e.g. "Firefox/Linux" or "Safari/iOS", the most an Evidence may keep: a
// full User-Agent string helps to single a person out, and may carry
// anything the client put in it. The parser is a list of substrings, in
// order: the browser is Edge ("Edg/", "EdgA/", "EdgiOS/"), Opera ("OPR/",
// "Opera"), Samsung Internet ("SamsungBrowser/"), Firefox ("Firefox/",
// "FxiOS/"), Chrome ("Chrome/", "CriOS/", "Chromium/"), Safari ("Safari/"),
// a client library ("curl/" at the start, "Go-http-client",
// "python-requests"), else "other"; the OS is iOS ("iPhone", "iPad",
// "iPod"), Android, Windows, macOS ("Mac OS X", "Macintosh"), ChromeOS
// ("CrOS"), Linux, else "other". A value that is a family already is
// returned as it is; an empty string gives "".
func UserAgentFamily(ua string) string {
	if ua == "" {
		return ""
	}
	if isFamily(ua) {
		return ua
	}
	browser := "other"
	switch {
	case strings.Contains(ua, "Edg/"), strings.Contains(ua, "EdgA/"), strings.Contains(ua, "EdgiOS/"):
		browser = "Edge"
	case strings.Contains(ua, "OPR/"), strings.Contains(ua, "Opera"):
		browser = "Opera"
	case strings.Contains(ua, "SamsungBrowser/"):
		browser = "Samsung Internet"
	case strings.Contains(ua, "Firefox/"), strings.Contains(ua, "FxiOS/"):
		browser = "Firefox"
	case strings.Contains(ua, "Chrome/"), strings.Contains(ua, "CriOS/"), strings.Contains(ua, "Chromium/"):
		browser = "Chrome"
	case strings.Contains(ua, "Safari/"):
		browser = "Safari"
	case strings.HasPrefix(ua, "curl/"), strings.Contains(ua, "Go-http-client"), strings.Contains(ua, "python-requests"):
		browser = "client library"
	}
	os := "other"
	switch {
	case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"), strings.Contains(ua, "iPod"):
		os = "iOS"
	case strings.Contains(ua, "Android"):
		os = "Android"
	case strings.Contains(ua, "Windows"):
		os = "Windows"
	case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
		os = "macOS"
	case strings.Contains(ua, "CrOS"):
		os = "ChromeOS"
	case strings.Contains(ua, "Linux"):
		os = "Linux"
	}
	return browser + "/" + os
}

const (
	maxAttrValue  = 64
	maxLocatorWds = 3
)

// validate checks evidence against the rules of Evidence's fields. Its
// errors name the field and the rule, never the value.
func (ev Evidence) validate() error {
	if ev.IPPrefix != "" {
		p, err := netip.ParsePrefix(ev.IPPrefix)
		if err != nil {
			return invalidf("evidence.ip_prefix", "not a network prefix")
		}
		limit := 48
		if p.Addr().Is4() || p.Addr().Is4In6() {
			limit = 24
			if p.Addr().Is4In6() {
				limit = 96 + 24
			}
		}
		if p.Bits() > limit || p.Masked() != p {
			return invalidf("evidence.ip_prefix", "prefix not truncated to /24 (IPv4) or /48 (IPv6): use TruncateIP")
		}
	}
	if ev.UserAgent != "" && !isFamily(ev.UserAgent) {
		return invalidf("evidence.user_agent", "not a browser and OS family: reduce it with UserAgentFamily")
	}
	if ev.Locator != "" {
		if err := validLocator(ev.Locator); err != nil {
			return invalidf("evidence.locator", "%v", err)
		}
	}
	if len(ev.Attrs) > maxAttrs {
		return invalidf("evidence.attrs", "more than %d attributes", maxAttrs)
	}
	for k, v := range ev.Attrs {
		if !isAttrName(k) {
			return invalidf("evidence.attrs", "attribute name not a lower-case key of at most %d bytes, or one that looks like personal data", maxShort)
		}
		if err := validAttrValue(v); err != nil {
			return invalidf("evidence.attrs", "attribute %s: %v", show(k), err)
		}
	}
	return nil
}

// isAttrName reports whether k matches ^[a-z0-9_.-]{1,64}$ and does not
// look like personal data.
func isAttrName(k string) bool {
	if k == "" || len(k) > maxShort || looksPersonal(k) != "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		switch c := k[i]; {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
}

// validAttrValue checks an attribute value: 1 to 64 bytes of ASCII letters,
// digits and "_.:/+=-", not looking like personal data.
func validAttrValue(v string) error {
	if v == "" || len(v) > maxAttrValue {
		return fmt.Errorf("value empty or longer than %d bytes", maxAttrValue)
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '_', c == '.', c == ':', c == '/', c == '+', c == '=', c == '-':
		default:
			return fmt.Errorf("value holds a character other than ASCII letters, digits and \"_.:/+=-\" (free text is not evidence)")
		}
	}
	if what := looksPersonal(v); what != "" {
		return fmt.Errorf("value looks like %s", what)
	}
	return nil
}

// validLocator checks a Locator: at most 256 bytes of UTF-8 without control
// characters, at most three words, no query string, fragment or '@', and
// nothing that looks like personal data, in clear or percent-decoded.
func validLocator(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > maxLocator || !utf8.ValidString(s) {
		return fmt.Errorf("longer than %d bytes or not UTF-8", maxLocator)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("contains a control character")
		}
	}
	if strings.ContainsAny(s, "?#") {
		return fmt.Errorf("has a query string or fragment, which may hold personal data: pass the path alone")
	}
	if len(strings.Fields(s)) > maxLocatorWds || strings.Join(strings.Fields(s), " ") != s {
		return fmt.Errorf("not a path, pattern or reference of at most %d words separated by single spaces", maxLocatorWds)
	}
	forms := []string{s}
	if u, err := url.PathUnescape(s); err == nil && u != s {
		forms = append(forms, u)
	} else if err != nil && strings.Contains(s, "%") {
		return fmt.Errorf("holds a malformed percent escape")
	}
	for _, f := range forms {
		if strings.Contains(f, "@") {
			return fmt.Errorf("contains '@', as an e-mail address or a user handle does")
		}
		if strings.ContainsAny(f, "?#") {
			return fmt.Errorf("has an encoded query string or fragment")
		}
		if what := looksPersonal(f); what != "" {
			return fmt.Errorf("looks like %s", what)
		}
	}
	return nil
}

var (
	emailLike = regexp.MustCompile(`[^\s@]@[^\s@]`)
	ipv4Like  = regexp.MustCompile(`[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`)
	hexColon  = regexp.MustCompile(`[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*`)
)

// looksPersonal returns what s looks like if it holds an e-mail address, an
// IP address or a telephone number ("an e-mail address", …), else "". A
// whole UUID is none of them. It errs on the side of refusing: a dotted
// quad anywhere counts as an IPv4 address, a long run of digits as a
// telephone number.
func looksPersonal(s string) string {
	if len(s) == 36 {
		if _, err := uuid.Parse(s); err == nil {
			return ""
		}
	}
	switch {
	case emailLike.MatchString(s):
		return "an e-mail address"
	case ipv4Like.MatchString(s):
		return "an IPv4 address"
	}
	for _, tok := range hexColon.FindAllString(s, -1) {
		if _, err := netip.ParseAddr(strings.Trim(tok, ".")); err == nil {
			return "an IPv6 address"
		}
	}
	if phoneLike(s) {
		return "a telephone number"
	}
	return ""
}

// phoneLike reports whether s holds a run of 9 or more digits, or of 7 or
// more digits after a '+', counted across the separators " -./()".
func phoneLike(s string) bool {
	digits, plus := 0, false
	for i := 0; i <= len(s); i++ {
		var c byte
		if i < len(s) {
			c = s[i]
		}
		switch {
		case '0' <= c && c <= '9':
			digits++
			if digits >= 9 || (plus && digits >= 7) {
				return true
			}
		case c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')':
			// a separator keeps the run going
		case c == '+':
			digits, plus = 0, true
		default:
			digits, plus = 0, false
		}
	}
	return false
}
