package gdprhttp

import (
	"net/http"
	"strings"
)

// PrefersHTML reports whether r's Accept header (RFC 9110 §12.5.1)
// prefers text/html to both application/problem+json and
// application/json: whether the quality it gives text/html is above zero
// and above the higher of the two others'. Each type takes the quality
// of the most specific media range that matches it ("text/html" over
// "text/*" over "*/*"; parameters other than q are not compared), and
// none if no range matches. A browser's navigation ("text/html,…,*/*;q=0.8")
// prefers HTML; no Accept header, "*/*" and "application/json" do not.
// Malformed elements are skipped. A nil r prefers nothing.
func PrefersHTML(r *http.Request) bool {
	if r == nil {
		return false
	}
	return prefersHTML(strings.Join(r.Header.Values("Accept"), ","))
}

// maxAcceptElements bounds the media ranges read from one Accept value;
// a browser sends fewer than ten.
const maxAcceptElements = 64

func prefersHTML(accept string) bool {
	if accept == "" {
		return false
	}
	html := newMatch("text", "html")
	problem := newMatch("application", "problem+json")
	jsn := newMatch("application", "json")
	n := 0
	for elem := range splitQuoted(accept, ',') {
		if n++; n > maxAcceptElements {
			break
		}
		typ, sub, q, ok := parseMediaRange(elem)
		if !ok {
			continue
		}
		html.see(typ, sub, q)
		problem.see(typ, sub, q)
		jsn.see(typ, sub, q)
	}
	return html.q > 0 && html.q > max(problem.q, jsn.q)
}

// match is the quality a type takes from the media ranges seen so far:
// that of the most specific range matching it (the first of equals).
type match struct {
	typ, sub string
	rank     int // 0 none, 1 */*, 2 type/*, 3 type/subtype
	q        int // thousandths
}

func newMatch(typ, sub string) match { return match{typ: typ, sub: sub} }

func (m *match) see(typ, sub string, q int) {
	rank := 0
	switch {
	case typ == "*" && sub == "*":
		rank = 1
	case strings.EqualFold(typ, m.typ) && sub == "*":
		rank = 2
	case strings.EqualFold(typ, m.typ) && strings.EqualFold(sub, m.sub):
		rank = 3
	}
	if rank > m.rank {
		m.rank, m.q = rank, q
	}
}

// parseMediaRange parses one element of Accept: a media range, optional
// parameters, an optional weight. It returns the quality in thousandths
// (1000 without a weight).
func parseMediaRange(elem string) (typ, sub string, q int, ok bool) {
	q = 1000
	first := true
	for part := range splitQuoted(elem, ';') {
		part = strings.Trim(part, " \t")
		if first {
			first = false
			t, s, found := strings.Cut(part, "/")
			if !found || !isToken(t) || !isToken(s) || (t == "*" && s != "*") {
				return "", "", 0, false
			}
			typ, sub = t, s
			continue
		}
		k, v, found := strings.Cut(part, "=")
		if !found {
			return "", "", 0, false
		}
		k = strings.Trim(k, " \t")
		v = strings.Trim(v, " \t")
		if !strings.EqualFold(k, "q") {
			continue // a media type parameter, not compared
		}
		qv, good := parseQValue(v)
		if !good {
			return "", "", 0, false
		}
		q = qv
	}
	return typ, sub, q, !first
}

// parseQValue parses a qvalue: "0" ["." 0*3DIGIT] or "1" ["." 0*3"0"].
func parseQValue(v string) (int, bool) {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	whole := int(v[0] - '0')
	frac := 0
	if len(v) > 1 {
		if v[1] != '.' {
			return 0, false
		}
		digits := v[2:]
		for i := 0; i < 3; i++ {
			frac *= 10
			if i < len(digits) {
				c := digits[i]
				if c < '0' || c > '9' {
					return 0, false
				}
				frac += int(c - '0')
			}
		}
	}
	if whole == 1 && frac != 0 {
		return 0, false
	}
	return whole*1000 + frac, true
}

// splitQuoted yields the parts of s between sep, outside quoted strings
// (RFC 9110 §5.6.4: a backslash escapes the next character inside
// quotes).
func splitQuoted(s string, sep byte) func(func(string) bool) {
	return func(yield func(string) bool) {
		start, quoted := 0, false
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case quoted && c == '\\':
				i++
			case c == '"':
				quoted = !quoted
			case !quoted && c == sep:
				if !yield(s[start:i]) {
					return
				}
				start = i + 1
			}
		}
		yield(s[start:])
	}
}

// isToken reports whether s is an RFC 9110 token: one or more tchar.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
