package main

import (
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxBody bounds every request body: the forms are small.
const maxBody = 16 << 10

// csp is the content-security policy of every page: the app's own
// stylesheet, no script, no frame, forms to itself only.
const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the security headers of every answer and bounds the body.
func secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}

// statusWriter remembers the status a handler wrote, for the log line.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logged logs one line per request: the method, the route pattern (never
// the path or the query, which may hold a token or an address), the status
// and the duration. A panic is logged without its value and answered 500.
func logged(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				// The panic's value may hold anything: only its type is logged.
				log.LogAttrs(r.Context(), slog.LevelError, "handler panicked", slog.String("route", r.Pattern))
				if sw.status == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method), slog.String("route", r.Pattern),
				slog.Int("status", sw.status), slog.Duration("took", time.Since(start)))
		}()
		next.ServeHTTP(sw, r)
	})
}

// limiter is a token bucket per key — a client network (the address
// truncated to /24 or /48: one household, one office), or an address's
// blind index — in memory per instance. It forgets a bucket once it has
// been idle long enough to be full again, so forgetting loses nothing.
type limiter struct {
	mu      sync.Mutex
	every   rate.Limit
	burst   int
	forget  time.Duration
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perMinute, burst int) *limiter {
	return newLimiterAt(rate.Limit(float64(perMinute)/60), burst)
}

// newLimiterAt is a limiter of every tokens a second.
func newLimiterAt(every rate.Limit, burst int) *limiter {
	refill := time.Duration(float64(burst) / float64(every) * float64(time.Second))
	return &limiter{every: every, burst: burst, forget: max(10*time.Minute, refill), buckets: map[string]*bucket{}}
}

// clientNet is the request's client network. The app trusts no proxy
// header: behind a proxy, set RemoteAddr from the address it vouches for.
func clientNet(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	addr = addr.Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	p, _ := addr.Prefix(bits)
	return p
}

func (l *limiter) allow(r *http.Request) bool { return l.allowKey(clientNet(r).String()) }

// allowKey takes a token of key's bucket, if it has one.
func (l *limiter) allowKey(key string) bool {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.forget {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(l.every, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

// limit answers 429 with Retry-After once the client's bucket is empty.
func (l *limiter) limit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !l.allow(r) {
			w.Header().Set("Retry-After", "60")
			http.Error(w, "too many requests: try again in a minute", http.StatusTooManyRequests)
			return
		}
		next(w, r)
	}
}
