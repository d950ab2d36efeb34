package gdprhttp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
	"github.com/gdprkit/gdpr/gdprhttp"
)

func ExampleStatus() {
	for _, err := range []error{
		nil,
		consent.ErrInvalidToken,
		consent.ErrNotFound,
		consent.ErrTokenUsed,
		gdpr.ErrRestricted,
		gdpr.ErrShredded,
		&http.MaxBytesError{Limit: 4096},
		context.DeadlineExceeded,
		context.Canceled,
		errors.New("the database is down"),
	} {
		fmt.Println(gdprhttp.Status(err), err)
	}
	// Output:
	// 200 <nil>
	// 400 invalid token
	// 404 not found
	// 409 token already used
	// 403 gdpr: processing restricted
	// 410 gdpr: subject shredded
	// 413 http: request body too large
	// 503 context deadline exceeded
	// 499 context canceled
	// 500 the database is down
}

func ExampleError() {
	r := httptest.NewRequest(http.MethodGet, "/receipts/42", nil)
	w := httptest.NewRecorder()
	gdprhttp.Error(w, r, &consent.Error{Op: "receipt", Err: consent.ErrNotFound})
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Print(w.Body)

	// A 5xx says nothing of its cause.
	w = httptest.NewRecorder()
	gdprhttp.Error(w, r, errors.New("pq: connection refused to db.internal:5432"))
	fmt.Print(w.Body)
	// Output:
	// 404 application/problem+json
	// {"type":"about:blank","title":"Not Found","status":404,"detail":"consent receipt: not found"}
	// {"type":"about:blank","title":"Internal Server Error","status":500}
}

func ExampleGPC() {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	fmt.Println(gdprhttp.GPC(r))
	r.Header.Set("Sec-GPC", "1")
	fmt.Println(gdprhttp.GPC(r))
	// Output:
	// false
	// true
}

func ExampleUnsubscribeHeader() {
	secret := []byte("0123456789abcdef0123456789abcdef") // 32 random bytes in real life
	unsub, _ := consent.NewUnsubscriber(secret)
	ledger, _ := consent.New(memconsent.New(), consent.WithUnsubscriber(unsub))
	token, _ := ledger.UnsubscribeToken("user-42", "newsletter", consent.Email, 0)

	h, err := gdprhttp.UnsubscribeHeader("https://example.com/unsubscribe", token)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(h.Get("List-Unsubscribe"), "<https://example.com/unsubscribe?t=u1."))
	fmt.Println(h.Get("List-Unsubscribe-Post"))

	_, err = gdprhttp.UnsubscribeHeader("http://example.com/unsubscribe", token)
	fmt.Println(err)
	// Output:
	// true
	// List-Unsubscribe=One-Click
	// gdprhttp unsubscribe_header: base: invalid input: an http URL of a host that is not loopback: RFC 8058 asks for https
}

// A bulk message's one-click unsubscribe: the scanner's GET changes
// nothing, the provider's POST unsubscribes.
func ExampleNewUnsubscribeHandler() {
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef") // 32 random bytes in real life
	unsub, _ := consent.NewUnsubscriber(secret)
	ledger, _ := consent.New(memconsent.New(), consent.WithUnsubscriber(unsub))
	ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("May we e-mail you?")})
	ledger.Give(ctx, consent.Choice{Subject: "user-42", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}})

	h, err := gdprhttp.NewUnsubscribeHandler(ledger)
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/unsubscribe", h)

	token, _ := ledger.UnsubscribeToken("user-42", "newsletter", consent.Email, 0)
	link, _ := gdprhttp.UnsubscribeURL("https://example.com/unsubscribe", token)
	allowed := func() bool {
		d, _ := ledger.Decide(ctx, consent.Query{Subject: "user-42", Purpose: "newsletter", Contact: consent.Email})
		return d.Allowed
	}

	// A mail scanner follows the link.
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, link, nil))
	fmt.Println("GET:", w.Code, w.Header().Get("Referrer-Policy"), "allowed:", allowed())

	// The mail provider's one-click POST (RFC 8058).
	r := httptest.NewRequest(http.MethodPost, link, strings.NewReader("List-Unsubscribe=One-Click"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println("POST:", w.Code, "allowed:", allowed())
	// Output:
	// GET: 200 no-referrer allowed: true
	// POST: 200 allowed: false
}

// Double opt-in: the link's GET shows a button, its POST confirms.
func ExampleNewConfirmHandler() {
	ctx := context.Background()
	ledger, _ := consent.New(memconsent.New())
	ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("May we e-mail you?")})
	_, token, _ := ledger.Request(ctx, consent.Choice{Subject: "user-7", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}})

	h, err := gdprhttp.NewConfirmHandler(ledger)
	if err != nil {
		panic(err)
	}
	link := "/confirm?" + gdprhttp.TokenParam + "=" + token
	allowed := func() bool { ok, _ := ledger.Allowed(ctx, "user-7", "newsletter"); return ok }

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, link, nil))
	fmt.Println("GET:", w.Code, strings.Contains(w.Body.String(), `<form method="post">`), "allowed:", allowed())

	r := httptest.NewRequest(http.MethodPost, link, nil)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println("POST:", w.Code, "allowed:", allowed())

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, link, nil))
	fmt.Println("again:", w.Code)

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/confirm?t=%3Cscript%3E", nil))
	fmt.Println("forged:", w.Code)
	// Output:
	// GET: 200 true allowed: false
	// POST: 200 allowed: true
	// again: 410
	// forged: 400
}

// The routes of a host: cross-origin protection for every form but the
// one-click unsubscribe, whose token is its authority. Both POSTs here
// come from another site's page (a webmail client in the reader's
// browser, or an attacker's page).
func Example_routes() {
	ctx := context.Background()
	secret := []byte("0123456789abcdef0123456789abcdef") // 32 random bytes in real life
	unsub, _ := consent.NewUnsubscriber(secret)
	ledger, _ := consent.New(memconsent.New(), consent.WithUnsubscriber(unsub))
	ledger.Publish(ctx, consent.Notice{ID: "newsletter", Version: 1, TextHash: consent.HashText("May we e-mail you?")})
	ledger.Give(ctx, consent.Choice{Subject: "user-42", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}})
	unsubscribeToken, _ := ledger.UnsubscribeToken("user-42", "newsletter", consent.Email, 0)
	_, confirmToken, _ := ledger.Request(ctx, consent.Choice{Subject: "user-7", Purpose: "newsletter",
		Notice: consent.NoticeRef{ID: "newsletter", Version: 1}})

	unsubscribe, _ := gdprhttp.NewUnsubscribeHandler(ledger)
	confirm, _ := gdprhttp.NewConfirmHandler(ledger)
	mux := http.NewServeMux()
	mux.Handle("/unsubscribe", unsubscribe)
	mux.Handle("/confirm", confirm)
	cop := http.NewCrossOriginProtection()
	cop.AddInsecureBypassPattern("POST /unsubscribe")
	handler := cop.Handler(mux)

	for _, path := range []string{"/unsubscribe?t=" + unsubscribeToken, "/confirm?t=" + confirmToken} {
		r := httptest.NewRequest(http.MethodPost, path, strings.NewReader("List-Unsubscribe=One-Click"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "https://webmail.example.net")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Println(path[:strings.IndexByte(path, '?')], w.Code)
	}
	// Output:
	// /unsubscribe 200
	// /confirm 403
}
