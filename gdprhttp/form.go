package gdprhttp

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// MaxBodyBytes is the largest request body the handlers read: an RFC
// 8058 one-click POST, "List-Unsubscribe=One-Click", is 26 bytes, and
// the handlers' own forms are as small. A larger body is answered 413
// and read no further.
const MaxBodyBytes = 4 << 10

// TokenParam is the name of the URL query parameter that carries the
// token of an unsubscribe or confirmation link: "…/unsubscribe?t=u1.…".
const TokenParam = "t"

// maxToken is the longest token the handlers pass on, as long as the
// longest unsubscribe token the consent package accepts.
const maxToken = 2048

// linkToken returns the token of r's query: exactly one TokenParam, of
// 1 to 2048 bytes of ASCII letters, digits, '-', '_' and '.' (the
// alphabet of every token of the consent package). Anything else is no
// token, and never reaches the Ledger. (A query parameter that does not
// parse is skipped, as url.ParseQuery skips it.)
func linkToken(rawQuery string) (string, bool) {
	q, _ := url.ParseQuery(rawQuery)
	v := q[TokenParam]
	if len(v) != 1 || !tokenShape(v[0]) {
		return "", false
	}
	return v[0], true
}

// tokenShape reports whether s has the alphabet and length of a token.
func tokenShape(s string) bool {
	if s == "" || len(s) > maxToken {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// Errors of readForm; each is answered with its status.
var (
	errTooLarge    = errors.New("body too large")
	errMediaType   = errors.New("not a form")
	errMalformed   = errors.New("malformed form")
	errTooManyPart = errors.New("too many form fields")
)

// formStatus is the status of an error of readForm or parseForm.
func formStatus(err error) int {
	switch {
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType
	}
	return http.StatusBadRequest
}

// readForm reads r's body, at most MaxBodyBytes of it (through
// http.MaxBytesReader, which also makes the server close the connection
// after a larger one), and parses it as a form.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return url.Values{}, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return nil, errMalformed
	}
	return parseForm(r.Header.Get("Content-Type"), body)
}

// maxFormFields bounds the fields of a form.
const maxFormFields = 32

// parseForm parses a form body of contentType: empty, whatever its type;
// application/x-www-form-urlencoded; or multipart/form-data, whose file
// parts are skipped (RFC 8058 §3.1 allows either encoding). Any other
// type is errMediaType.
func parseForm(contentType string, body []byte) (url.Values, error) {
	if len(body) == 0 {
		return url.Values{}, nil
	}
	if len(body) > MaxBodyBytes {
		return nil, errTooLarge
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, errMediaType
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errMalformed
		}
		n := 0
		for _, v := range vals {
			n += len(v)
		}
		if n > maxFormFields {
			return nil, errTooManyPart
		}
		return vals, nil
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return nil, errMalformed
		}
		vals := url.Values{}
		mr := multipart.NewReader(bytes.NewReader(body), boundary)
		for n := 0; ; n++ {
			part, err := mr.NextPart()
			if err == io.EOF {
				return vals, nil
			}
			if err != nil {
				return nil, errMalformed
			}
			if n >= maxFormFields {
				return nil, errTooManyPart
			}
			name := part.FormName()
			value, err := io.ReadAll(part)
			if err != nil {
				return nil, errMalformed
			}
			if name == "" || part.FileName() != "" {
				continue
			}
			vals.Add(name, string(value))
		}
	}
	return nil, errMediaType
}

// isOneClick reports whether form is an RFC 8058 one-click unsubscribe:
// the field List-Unsubscribe given once, with the value One-Click (and
// perhaps a line end or spaces around it, which a sender may add).
func isOneClick(form url.Values) bool {
	v := form[oneClick.Name]
	return len(v) == 1 && strings.Trim(v[0], " \t\r\n") == oneClick.Value
}
