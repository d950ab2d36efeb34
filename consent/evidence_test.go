package consent_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gdprkit/gdpr/consent"
)

func TestTruncateIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.77":          "203.0.113.0/24",
		"::ffff:203.0.113.77":   "203.0.113.0/24",
		"2001:db8:abcd:12::1":   "2001:db8:abcd::/48",
		"fe80::1%eth0":          "fe80::/48",
		"2001:db8:ffff:ffff::9": "2001:db8:ffff::/48",
	} {
		if got := consent.TruncateIP(netip.MustParseAddr(in)); got != want {
			t.Errorf("TruncateIP(%s) = %q, want %q", in, got, want)
		}
	}
	if got := consent.TruncateIP(netip.Addr{}); got != "" {
		t.Errorf("TruncateIP(invalid) = %q", got)
	}
}

func TestEvidenceFromRequest(t *testing.T) {
	r := httptest.NewRequest("POST", "https://example.com/signup?email=someone%40example.org", nil)
	r.RemoteAddr = "198.51.100.23:54321"
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0")
	r.Header.Set("Sec-GPC", "1")
	ev := consent.EvidenceFromRequest(r)
	if ev.IPPrefix != "198.51.100.0/24" || ev.UserAgent != "Firefox/Linux" || ev.Locator != "" || ev.Attrs["gpc"] != "1" {
		t.Fatalf("EvidenceFromRequest = %+v", ev)
	}
	// Through a ServeMux, the route pattern is kept, never the raw path.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /confirm/{token}", func(_ http.ResponseWriter, r *http.Request) { ev = consent.EvidenceFromRequest(r) })
	r = httptest.NewRequest("POST", "https://example.com/confirm/c1.secret-token-value", nil)
	mux.ServeHTTP(httptest.NewRecorder(), r)
	if ev.Locator != "POST /confirm/{token}" {
		t.Fatalf("Locator = %q, want the route pattern", ev.Locator)
	}
	for ua, want := range map[string]string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1": "Safari/iOS",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0":           "Edge/Windows",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36":                            "Chrome/Android",
		"curl/8.5.0": "client library/other",
		"":           "",
	} {
		if got := consent.UserAgentFamily(ua); got != want {
			t.Errorf("UserAgentFamily(%q) = %q, want %q", ua, got, want)
		}
	}
}

// TestHasGPC: the GPC specification's grammar, one field of "1" with
// optional spaces and tabs; before, a doubled field and a no-break space
// counted as a signal.
func TestHasGPC(t *testing.T) {
	for _, c := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"1"}, true},
		{[]string{" 1\t"}, true},
		{[]string{""}, false},
		{[]string{"0"}, false},
		{[]string{"true"}, false},
		{[]string{"1", "1"}, false},
		{[]string{"\u00a01"}, false},
	} {
		h := http.Header{}
		for _, v := range c.values {
			h.Add("Sec-GPC", v)
		}
		if got := consent.HasGPC(h); got != c.want {
			t.Errorf("HasGPC(%q) = %v", c.values, got)
		}
	}
}
