package consent

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// EvidenceFromRequest collects the evidence of a choice made over HTTP,
// keeping none of the raw personal data the request carries: the network
// of r.RemoteAddr truncated by TruncateIP (proxy headers such as
// X-Forwarded-For are not trusted; behind a proxy, set IPPrefix yourself
// from the address your proxy vouches for), the browser and OS family of the
// User-Agent (UserAgentFamily), the route pattern that matched the request
// (r.Pattern, e.g. "POST /signup", set by http.ServeMux; never the raw path,
// which may hold an e-mail address or a token), and "gpc": "1" when the
// request carries a Global Privacy Control signal (HasGPC).
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
	if len(r.Pattern) <= maxLocator {
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
// withdrawal with MethodGPC.
func HasGPC(h http.Header) bool { return strings.TrimSpace(h.Get("Sec-GPC")) == "1" }

// UserAgentFamily reduces a User-Agent string to a browser and OS family,
// e.g. "Firefox/Linux" or "Safari/iOS", the most an Evidence should keep: a
// full User-Agent string helps to single a person out. Unknown parts are
// "other"; an empty string gives "".
func UserAgentFamily(ua string) string {
	if ua == "" {
		return ""
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
