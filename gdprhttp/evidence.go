package gdprhttp

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/gdprkit/gdpr/consent"
)

// evidence is the consent.Evidence of a choice made by r, which always
// passes the Ledger's checks: the network of the client's address
// (clientAddr), the browser and OS family of the User-Agent, the route
// pattern or, when the router set none, "<METHOD> <path>" for a path
// that can hold no personal data (safeLocator), and "gpc": "1" when r
// carries a GPC signal.
func (s *settings) evidence(r *http.Request) consent.Evidence {
	ev := consent.EvidenceFromRequest(r) // UserAgent, and Locator from a valid r.Pattern
	ev.IPPrefix = ""
	if addr, ok := s.clientAddr(r); ok {
		ev.IPPrefix = consent.TruncateIP(addr)
	}
	if ev.Locator == "" {
		ev.Locator = safeLocator(r.Method, r.URL.Path)
	}
	ev.Attrs = nil
	if GPC(r) {
		ev.Attrs = map[string]string{"gpc": "1"}
	}
	return ev
}

// clientAddr is the client's address: from the trusted proxy's header
// when one is named (WithClientIPHeader), else from r.RemoteAddr.
func (s *settings) clientAddr(r *http.Request) (netip.Addr, bool) {
	if s.ipHeader == "" {
		return parseHostPort(r.RemoteAddr)
	}
	lines := r.Header.Values(s.ipHeader)
	if len(lines) == 0 {
		return netip.Addr{}, false
	}
	return headerAddr(s.ipHeader, lines[len(lines)-1])
}

// maxHeaderScan bounds how much of a proxy header is read: its last
// entries only.
const maxHeaderScan = 1024

// headerAddr returns the address of the last entry of one line of the
// header name.
func headerAddr(name, line string) (netip.Addr, bool) {
	if len(line) > maxHeaderScan {
		line = line[len(line)-maxHeaderScan:]
	}
	last := line
	if i := strings.LastIndexByte(line, ','); i >= 0 {
		last = line[i+1:]
	}
	last = strings.Trim(last, " \t")
	if name != "Forwarded" {
		return parseHostPort(last)
	}
	// RFC 7239: forwarded-pair *( ";" forwarded-pair ), a pair
	// token "=" value, where value is a token or a quoted-string.
	for pair := range strings.SplitSeq(last, ";") {
		k, v, ok := strings.Cut(strings.Trim(pair, " \t"), "=")
		if !ok || !strings.EqualFold(k, "for") {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = strings.ReplaceAll(v[1:len(v)-1], `\`, "")
		}
		return parseHostPort(v)
	}
	return netip.Addr{}, false
}

// parseHostPort parses an address, an address and port, or a bracketed
// IPv6 address with or without a port.
func parseHostPort(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a, true
		}
	}
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// maxLocatorPath is the longest path safeLocator keeps.
const maxLocatorPath = 200

// safeLocator returns "<method> <path>" when path is made of ASCII
// letters, '/', '-', '_' and '.' alone, at most 200 bytes: with no digit,
// '@', ':' or '%', it can hold no e-mail address, IP address, telephone
// number or token that the Ledger's Locator rules would refuse. It
// returns "" otherwise: the evidence then names no locator.
func safeLocator(method, path string) string {
	if path == "" || path[0] != '/' || len(path) > maxLocatorPath {
		return ""
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '/', c == '-', c == '_', c == '.':
		default:
			return ""
		}
	}
	switch method {
	case http.MethodPost, http.MethodGet:
		return method + " " + path
	}
	return ""
}
