package main

import (
	"context"
	"log/slog"
	"net/netip"
	"regexp"
	"strings"
)

// redactor is a slog.Handler that withholds what must not reach a log
// line, whatever a handler or a library passes it: attributes named like
// a secret or a personal field are dropped to "[redacted]", and any
// string value that holds an e-mail address, an IP address, a URL query
// or a long token-like run is replaced. The app logs IDs, routes and
// statuses only; this is the net under that rule.
type redactor struct{ next slog.Handler }

var (
	secretKeys = []string{"email", "mail", "name", "token", "code", "secret", "password", "cookie", "authorization", "ip", "addr", "subject", "value", "query", "url", "body"}
	emailRE    = regexp.MustCompile(`[^\s@]+@[^\s@]+`)
	tokenRE    = regexp.MustCompile(`[A-Za-z0-9_\-]{24,}`)
	ipv4RE     = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b`)
	// ipv6RE finds the runs an IPv6 address may be, with a zone; which
	// of them are is decided by netip.
	ipv6RE = regexp.MustCompile(`[0-9A-Fa-f.:]*:[0-9A-Fa-f.:]*:[0-9A-Fa-f.:]*(%[0-9A-Za-z_.-]+)?`)
)

func (h redactor) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h redactor) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, scrub(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h redactor) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = redactAttr(a)
	}
	return redactor{h.next.WithAttrs(red)}
}

func (h redactor) WithGroup(name string) slog.Handler { return redactor{h.next.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	key := strings.ToLower(a.Key)
	for _, k := range secretKeys {
		if strings.Contains(key, k) {
			return slog.String(a.Key, "[redacted]")
		}
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, x := range g {
			red[i] = redactAttr(x)
		}
		return slog.Group(a.Key, red...)
	case slog.KindString:
		return slog.String(a.Key, scrub(v.String()))
	case slog.KindAny:
		return slog.String(a.Key, scrub(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

// scrub replaces what looks like personal data or a secret in s.
func scrub(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 && strings.Contains(s[i:], "=") {
		s = s[:i] + "?[redacted]"
	}
	s = emailRE.ReplaceAllString(s, "[redacted]")
	// IPv6 before IPv4: "::ffff:203.0.113.9" is one address. A run may
	// carry a port ("[2001:db8::1]:51234" as net/http logs a peer, or
	// without the brackets).
	s = ipv6RE.ReplaceAllStringFunc(s, func(run string) string {
		if isIPv6(run) {
			return "[redacted]"
		}
		if i := strings.LastIndexByte(run, ':'); i > 0 && isIPv6(run[:i]) {
			return "[redacted]"
		}
		return run
	})
	s = ipv4RE.ReplaceAllString(s, "[redacted]")
	s = tokenRE.ReplaceAllStringFunc(s, func(t string) string {
		// Request IDs (UUIDs) and other identifiers with dashes at UUID
		// places pass; anything else token-like goes.
		if isUUID(t) {
			return t
		}
		return "[redacted]"
	})
	return s
}

// isIPv6 reports whether s is an IPv6 address (an IPv4-mapped one
// included).
func isIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdef", c) {
				return false
			}
		}
	}
	return true
}
