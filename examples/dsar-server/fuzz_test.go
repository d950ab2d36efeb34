package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// FuzzSessionCookie feeds the session decoder outside bytes: it never
// panics, and only a cookie it sealed opens.
func FuzzSessionCookie(f *testing.F) {
	s, err := newSealer(make([]byte, 32))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	good := s.seal(subjectCookie, session{kind: "subject", subject: "u-1", expires: now.Add(time.Hour)})
	f.Add(good)
	f.Add("")
	f.Add("AAAA")
	f.Add(strings.Repeat("A", 700))
	f.Fuzz(func(t *testing.T, v string) {
		// The only session ever sealed under this key (in any fuzzing
		// process, each with its own nonce) is u-1's.
		ss, err := s.open(subjectCookie, "subject", v, now)
		if err == nil && (string(ss.subject) != "u-1" || !ss.expires.Equal(now.Add(time.Hour))) {
			t.Fatal("a cookie the sealer did not make opened")
		}
		if _, err := s.open(operatorCookie, "operator", v, now); err == nil {
			t.Fatal("a subject's cookie opened as an operator's")
		}
	})
}

// FuzzRedactor logs outside strings through the redacting handler: no
// e-mail address survives, and nothing panics.
func FuzzRedactor(f *testing.F) {
	for _, s := range []string{"ann@example.org", "from 198.51.100.7", "2001:db8::1", "/signin/confirm?t=abc", "plain text"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		var b strings.Builder
		l := slog.New(redactor{slog.NewTextHandler(&b, nil)})
		l.LogAttrs(context.Background(), slog.LevelInfo, v, slog.String("error", v), slog.String("email", v))
		out := b.String()
		if emailRE.MatchString(v) && strings.Contains(out, v) && strings.Contains(v, "@") && !strings.ContainsAny(v, " \t\r\n\"=") {
			t.Fatalf("an address-like value reached the log: %q", out)
		}
	})
}
