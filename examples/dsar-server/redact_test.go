package main

import (
	"strings"
	"testing"
)

// TestScrub: every form in which a log line may carry an address is
// withheld — net/http's "[addr]:port" of a peer, an address glued to an
// attribute, an IPv4-mapped IPv6 address — and what is not one stays.
func TestScrub(t *testing.T) {
	for in, gone := range map[string]string{
		"http: TLS handshake error from [2001:db8::1]:51234: EOF": "2001:db8",
		"ip=2001:db8::1;x":                          "2001:db8",
		"key=2001:db8::1":                           "2001:db8",
		"peer 2001:db8:0:0:1:0:0:1 closed":          "2001:db8",
		"mapped ::ffff:203.0.113.9 here":            "203.0.113",
		"zone fe80::1%eth0 here":                    "fe80",
		"from 198.51.100.7:443":                     "198.51.100",
		"to ann@example.org":                        "ann@",
		"link /signin/confirm?t=abcdefabcdefabcdef": "abcdef",
	} {
		if out := scrub(in); strings.Contains(out, gone) || !strings.Contains(out, "[redacted]") {
			t.Errorf("scrub(%q) = %q", in, out)
		}
	}
	for _, keep := range []string{"at 12:30:45 the sweep ran", "request 01a23b14-7a29-7681-ab8d-8fce8bfa2251 done", "status 503"} {
		if out := scrub(keep); out != keep {
			t.Errorf("scrub(%q) = %q: not an address", keep, out)
		}
	}
}
