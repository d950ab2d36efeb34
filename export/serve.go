package export

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ServeHTTP serves a download link, of the form <prefix>/<token>: the
// token is the request's path value "token" when the pattern names one
// (mux.Handle("/download/{token}", d)), else the last segment of the
// path.
//
// A GET shows a page with a button, and spends nothing: mail scanners
// and link previews fetch links, and must not spend a single-use token.
// The button POSTs to the same URL, which spends the token and sends the
// part as an attachment. Every answer carries Cache-Control: no-store
// and Referrer-Policy: no-referrer; an unknown, used or expired token is
// a 404 that says no more.
func (d *Deliverer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	token := r.PathValue("token")
	if token == "" {
		token = r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.Set("Content-Type", "text/html; charset=utf-8")
		if r.Method == http.MethodHead {
			return
		}
		confirmPage.Execute(w, nil)
	case http.MethodPost:
		dl, err := d.Download(r.Context(), token)
		if err != nil {
			h.Set("Content-Type", "text/plain; charset=utf-8")
			if errors.Is(err, ErrNotFound) {
				http.Error(w, "This link is unknown, used or expired. Ask the controller for a new copy of your data.", http.StatusNotFound)
				return
			}
			if errors.Is(err, ErrSpent) {
				http.Error(w, "The download failed, and this link is now used. Ask the controller for a new copy of your data.", http.StatusGone)
				return
			}
			http.Error(w, "The download failed. Try again later.", http.StatusInternalServerError)
			return
		}
		defer dl.Close()
		if dl.Encrypted {
			h.Set("Content-Type", "application/octet-stream")
		} else {
			h.Set("Content-Type", "application/zip")
		}
		h.Set("Content-Disposition", `attachment; filename="`+dl.Name+`"`)
		h.Set("Content-Length", strconv.FormatInt(dl.Size, 10))
		io.Copy(w, dl)
	default:
		h.Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta name="robots" content="noindex, nofollow">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Download your data</title></head>
<body>
<h1>Download your data</h1>
<p>This link works once. The download starts when you press the button, and the link then stops working.</p>
<form method="post"><button type="submit">Download</button></form>
</body>
</html>
`))
