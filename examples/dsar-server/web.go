package main

import (
	"context"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/gdprhttp"
)

// parsePages parses every page with the layout.
func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Format("2 January 2006")
		},
		"datetime": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"kind":     kindName,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, err
		}
		pages[base] = t
	}
	return pages, nil
}

// page is what every page template gets.
type page struct {
	Title    string
	SignedIn bool
	Operator bool
	GPC      bool
	Flash    string
	Data     any
}

// render writes a page with a status. A template that fails is a 500
// without detail; its error is logged without the page's data.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := a.pages[name]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.GPC = gdprhttp.GPC(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	if err := t.Execute(w, p); err != nil {
		a.log.ErrorContext(r.Context(), "template failed", "page", name, "error", err.Error())
	}
}

// fail answers an error: a clear 4xx for what the request got wrong, a
// 500 with no detail for the rest (logged, with the library's error text,
// which holds no personal data).
func (a *app) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := http.StatusText(status)
	var ue *userError
	if errors.As(err, &ue) {
		msg = ue.msg
	}
	if status >= 500 {
		a.log.ErrorContext(r.Context(), "request failed", "route", r.Pattern, "error", err.Error())
	}
	a.render(w, r, status, "error", page{Title: http.StatusText(status), Data: msg})
}

// userError is a refusal of the request's input, with the message the
// user sees: it names the field, never echoes its value.
type userError struct {
	status int
	msg    string
}

func (e *userError) Error() string { return e.msg }

func badRequest(msg string) error { return &userError{http.StatusBadRequest, msg} }

// subjectHandler is a handler for a signed-in subject.
type subjectHandler func(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID)

// subject requires a subject's session whose account still exists; a
// page without one goes to the sign-in page, a form gets 401.
func (a *app) subject(h subjectHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss, err := a.sessions.read(r, subjectCookie, "subject", time.Now())
		if err == nil {
			var ok bool
			ok, err = a.acc.valid(r.Context(), ss.subject, ss.expires.Add(-sessionTTL))
			if err == nil && !ok {
				err = errNoSession
			}
		}
		if errors.Is(err, errNoSession) {
			a.sessions.setCookie(w, subjectCookie, session{})
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			a.fail(w, r, &userError{http.StatusUnauthorized, "Please sign in first."})
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		ctx := gdpr.WithActor(r.Context(), gdpr.SubjectActor())
		h(w, r.WithContext(ctx), ss.subject)
	}
}

func (a *app) signedIn(r *http.Request) bool {
	_, err := a.sessions.read(r, subjectCookie, "subject", time.Now())
	return err == nil
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	if a.signedIn(r) {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	a.render(w, r, http.StatusOK, "home", page{Title: "Privacy center"})
}

// maxEmail bounds an address (RFC 5321's path limit).
const maxEmail = 254

// parseEmail checks an address the subject typed and returns it in the
// one form the app keeps: ASCII, in lower case. Two addresses the app
// takes are the same account exactly when they are the same string, so
// no look-alike ("İ" lower-cases to "i", the Kelvin sign to "k") reaches
// another's account. An internationalised address (RFC 6531) is refused;
// a host that takes them keeps the domain as its IDNA A-label and the
// local part as given, and normalises nothing else.
func parseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxEmail {
		return "", badRequest("Enter a valid e-mail address.")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return "", badRequest("Enter a valid e-mail address, in ASCII letters.")
		}
	}
	s = strings.ToLower(s)
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || strings.ContainsAny(s, "<>\"'\\ \t\r\n") {
		return "", badRequest("Enter a valid e-mail address.")
	}
	return s, nil
}

// signin sends a sign-in link. The answer, and the work behind it, are
// the same whether or not the address has an account, so neither the
// page nor its timing tells anyone who is a user. Besides the limit per
// client network, an address gets a few links an hour, so no one floods
// another's mailbox from many networks.
func (a *app) signin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	email, err := parseEmail(r.PostForm.Get("email"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !a.perAddress.allowKey(hex.EncodeToString(a.acc.emailIdx.Sum(email))) {
		// Answered as a success: the page must not say the address is
		// known; the owner has the links already sent.
		a.render(w, r, http.StatusOK, "sent", page{Title: "Check your mail"})
		return
	}
	token, err := a.acc.startLink(r.Context(), linkSignin, "", email)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	link := a.cfg.baseURL + "/signin/confirm?t=" + token
	if err := a.cfg.mail.send(r.Context(), message{To: email, Subject: "Your sign-in link",
		Body: "Sign in to the privacy center with this link, within 15 minutes:\n\n" + link + "\n\nIf you did not ask for it, ignore this message.",
		Sent: time.Now()}); err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "sent", page{Title: "Check your mail"})
}

// formErr makes a body that was too large a 413, other form errors 400.
func formErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &userError{http.StatusRequestEntityTooLarge, "The form is too large."}
	}
	return badRequest("The form could not be read.")
}

// signinConfirmPage shows the button that spends a sign-in link, and
// which address it signs in (masked): a GET spends nothing, since mail
// scanners fetch links, and a link someone else sent cannot sign the
// visitor in to an account they do not recognise unawares.
func (a *app) signinConfirmPage(w http.ResponseWriter, r *http.Request) {
	l, err := a.acc.readLink(r.Context(), r.URL.Query().Get("t"), linkSignin)
	if errors.Is(err, errBadLink) {
		a.fail(w, r, badRequest("This sign-in link is not valid any more: it was used, or it expired. Ask for a new one."))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "confirm", page{Title: "Sign in", Data: confirmView{Token: r.URL.Query().Get("t"), Address: maskEmail(l.email)}})
}

// confirmView is what a link's confirmation page shows.
type confirmView struct{ Token, Address string }

func (a *app) signinConfirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	ev := consent.EvidenceFromRequest(r)
	s, err := a.acc.finishSignin(r.Context(), r.PostForm.Get("t"), ev.IPPrefix)
	if errors.Is(err, errBadLink) {
		a.fail(w, r, badRequest("This sign-in link is not valid any more: it was used, or it expired. Ask for a new one."))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.sessions.setCookie(w, subjectCookie, session{kind: "subject", subject: s, expires: time.Now().Add(sessionTTL)})
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}

// signout ends every session of the subject, in every browser, not only
// this one's cookie.
func (a *app) signout(w http.ResponseWriter, r *http.Request) {
	if ss, err := a.sessions.read(r, subjectCookie, "subject", time.Now()); err == nil {
		if err := a.acc.revoke(r.Context(), ss.subject); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.sessions.setCookie(w, subjectCookie, session{})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// changeEmail starts a correction of the subject's address (Art. 16):
// the new address's owner confirms it first, from the link mailed to it,
// in the same account's session. Until then nothing changes.
func (a *app) changeEmail(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID, value string) {
	email, err := parseEmail(value)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	token, taken, err := a.acc.startEmailChange(r.Context(), s, email)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	m := message{To: email, Subject: "Confirm your new address", Sent: time.Now(),
		Body: "To make this your address at the privacy center, open this link within 15 minutes, signed in to your account:\n\n" +
			a.cfg.baseURL + "/email/confirm?t=" + token + "\n\nIf you did not ask for it, ignore this message."}
	if taken {
		m = message{To: email, Subject: "Your address", Sent: time.Now(),
			Body: "Someone asked to move another account of the privacy center to this address, which has an account already. Nothing changed.\n"}
	}
	if err := a.cfg.mail.send(r.Context(), m); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=email", http.StatusSeeOther)
}

// emailConfirmPage shows the button that confirms a new address.
func (a *app) emailConfirmPage(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID) {
	l, err := a.acc.readLink(r.Context(), r.URL.Query().Get("t"), linkEmail)
	if err == nil && l.subject != s {
		err = errBadLink
	}
	if errors.Is(err, errBadLink) {
		a.fail(w, r, badRequest("This link is not valid any more, or it is for another account: sign in to the account that asked for it."))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.render(w, r, http.StatusOK, "email_confirm", page{Title: "Confirm your address", SignedIn: true,
		Data: confirmView{Token: r.URL.Query().Get("t"), Address: maskEmail(l.email)}})
}

// emailConfirm spends the link and files the correction, which the
// engine carries out and tells the recipients of (Art. 19); the old
// address is told, and every other session of the subject ends.
func (a *app) emailConfirm(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	old, err := a.acc.get(r.Context(), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	email, err := a.acc.finishEmailChange(r.Context(), r.PostForm.Get("t"), s)
	if errors.Is(err, errBadLink) {
		a.fail(w, r, badRequest("This link is not valid any more, or it is for another account."))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if _, _, err := a.kit.Engine().Submit(r.Context(), erasure.Submission{Subject: s, Channel: "web", Authenticated: true,
		Kind: gdpr.KindRectification, Corrections: []erasure.Correction{{Target: "account", Field: "email", Value: email}}}); err != nil {
		a.fail(w, r, err)
		return
	}
	if err := a.cfg.mail.send(r.Context(), message{To: old.Email, Subject: "Your address is changing", Sent: time.Now(),
		Body: "Your privacy center account is moving to the address " + maskEmail(email) + ", which its owner confirmed. If that was not you, write to privacy@example.com.\n"}); err != nil {
		a.log.ErrorContext(r.Context(), "the notice to the old address failed", "error", err.Error())
	}
	if err := a.acc.revoke(r.Context(), s); err != nil {
		a.fail(w, r, err)
		return
	}
	// This browser stays signed in: a fresh session, issued after the
	// revocation.
	a.sessions.setCookie(w, subjectCookie, session{kind: "subject", subject: s, expires: time.Now().Add(sessionTTL)})
	http.Redirect(w, r, "/account?done=request", http.StatusSeeOther)
}

// consentRow is one purpose and channel on the account page.
type consentRow struct {
	Purpose gdpr.Purpose
	Name    string
	Contact consent.Contact
	Text    string
	Version int
	Allowed bool
	Reason  consent.Reason
	Sharing bool
}

// requestRow is one of the subject's requests on the account page.
type requestRow struct {
	erasure.Request
	Cancellable bool
	Extended    bool
}

type accountData struct {
	Profile  profile
	Consents []consentRow
	Requests []requestRow
	Grounds  []erasure.Ground
	Objects  []gdpr.Activity
	Receipt  string
}

// account is the subject's page: their profile, consents, requests.
//
// A Global Privacy Control signal is honoured here (Art. 21(5): an
// objection by automated means): a consent to share the subject's data
// with others (Sharing) is withdrawn, once, with MethodGPC.
func (a *app) account(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID) {
	ctx := r.Context()
	flash := r.URL.Query().Get("done")
	p, err := a.acc.get(ctx, s)
	if errors.Is(err, crypto.ErrRestricted) {
		err = nil // a restriction that covers the subject's own view: the page shows no profile
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := accountData{Profile: p, Grounds: []erasure.Ground{erasure.GroundAccuracy, erasure.GroundUnlawful, erasure.GroundLegalClaims, erasure.GroundObjection}}
	for _, act := range a.kit.Register().Activities {
		if act.Basis == gdpr.LegitimateInterests || act.Basis == gdpr.PublicTask {
			d.Objects = append(d.Objects, act)
		}
	}
	gpc := gdprhttp.GPC(r)
	for _, cp := range consentPurposes {
		act, _ := a.kit.Register().Activity(cp.Purpose)
		for _, c := range cp.Contacts {
			dec, err := a.kit.Ledger().Decide(ctx, consent.Query{Subject: s, Purpose: cp.Purpose, Contact: c})
			if err != nil {
				a.fail(w, r, err)
				return
			}
			if gpc && cp.Sharing && dec.Allowed {
				ev := consent.EvidenceFromRequest(r)
				if _, err := a.kit.Ledger().Withdraw(ctx, consent.Choice{Subject: s, Purpose: cp.Purpose, Contact: c,
					Method: consent.MethodGPC, Channel: "web", Evidence: ev}); err != nil {
					a.fail(w, r, err)
					return
				}
				dec.Allowed, dec.Reason = false, consent.ReasonWithdrawn
				flash = "gpc"
			}
			d.Consents = append(d.Consents, consentRow{Purpose: cp.Purpose, Name: act.Name, Contact: c, Text: cp.Text,
				Version: cp.Version, Allowed: dec.Allowed, Reason: dec.Reason, Sharing: cp.Sharing})
		}
	}
	reqs, err := a.kit.Engine().ForSubject(ctx, s, erasure.Filter{Limit: 50})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for _, q := range reqs {
		d.Requests = append(d.Requests, requestRow{Request: q, Cancellable: cancellable(q), Extended: q.Deadline.Extended})
	}
	a.render(w, r, http.StatusOK, "account", page{Title: "Your privacy", SignedIn: true, Flash: flashText(flash), Data: d})
}

// cancellable says whether the subject may still cancel: before any
// work has begun.
func cancellable(q erasure.Request) bool {
	switch q.State {
	case erasure.StateAwaitingIdentity, erasure.StateVerified:
		return len(q.Steps) == 0
	}
	return false
}

func flashText(k string) string {
	switch k {
	case "consent":
		return "Your choice is saved."
	case "request":
		return "Your request is received. We will answer it by its deadline."
	case "erasure":
		return "Your erasure request is received. Once it is done, your account is gone; its receipt stays at the link below."
	case "cancel":
		return "Your request is cancelled."
	case "email":
		return "We sent a link to the new address. Open it, signed in here, to make the change."
	case "gpc":
		return "Your browser's Global Privacy Control signal is honoured: we no longer share your data with partners."
	}
	return ""
}

// changeConsent gives or withdraws a consent for one purpose and channel.
// Withdrawing is as easy as giving (Art. 7(3)): one click, no question.
func (a *app) changeConsent(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	purpose, contact, action := gdpr.Purpose(r.PostForm.Get("purpose")), consent.Contact(r.PostForm.Get("contact")), r.PostForm.Get("action")
	var cp *purposeNotice
	for i := range consentPurposes {
		if consentPurposes[i].Purpose == purpose {
			cp = &consentPurposes[i]
		}
	}
	if cp == nil || !hasContact(cp.Contacts, contact) {
		a.fail(w, r, badRequest("Choose one of the purposes and channels on the page."))
		return
	}
	c := consent.Choice{Subject: s, Purpose: purpose, Contact: contact, Channel: "web", Method: consent.MethodPreferences,
		Notice: consent.NoticeRef{ID: string(purpose), Version: cp.Version}, Evidence: consent.EvidenceFromRequest(r)}
	var err error
	switch action {
	case "give":
		if cp.Sharing && gdprhttp.GPC(r) {
			a.fail(w, r, &userError{http.StatusConflict, "Your browser sends a Global Privacy Control signal, which asks us not to share your data. Turn it off to consent to sharing."})
			return
		}
		_, err = a.kit.Ledger().Give(r.Context(), c)
	case "withdraw":
		_, err = a.kit.Ledger().Withdraw(r.Context(), c)
	default:
		a.fail(w, r, badRequest("Choose to give or to withdraw consent."))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=consent", http.StatusSeeOther)
}

func hasContact(cs []consent.Contact, c consent.Contact) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// submit files a request of the signed-in subject. The session is the
// identity check (Art. 12(6)): the request is Authenticated.
func (a *app) submit(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID) {
	if err := r.ParseForm(); err != nil {
		a.fail(w, r, formErr(err))
		return
	}
	sub := erasure.Submission{Subject: s, Channel: "web", Authenticated: true}
	done := "request"
	switch kind := r.PostForm.Get("kind"); kind {
	case "erasure":
		sub.Kind, done = gdpr.KindErasure, "erasure"
	case "access":
		sub.Kind = gdpr.KindAccess
	case "portability":
		sub.Kind = gdpr.KindPortability
	case "restriction":
		sub.Kind, sub.Ground = gdpr.KindRestriction, erasure.Ground(r.PostForm.Get("ground"))
		if !validGround(sub.Ground) {
			a.fail(w, r, badRequest("Choose why the processing should be restricted."))
			return
		}
	case "objection":
		sub.Kind = gdpr.KindObjection
		p := gdpr.Purpose(r.PostForm.Get("purpose"))
		if p == "direct_marketing" {
			sub.DirectMarketing = true
		} else if act, ok := a.kit.Register().Activity(p); ok && (act.Basis == gdpr.LegitimateInterests || act.Basis == gdpr.PublicTask) {
			sub.Purposes = []gdpr.Purpose{p}
		} else {
			a.fail(w, r, badRequest("Choose the processing you object to."))
			return
		}
	case "rectification":
		sub.Kind = gdpr.KindRectification
		field, value := r.PostForm.Get("field"), strings.TrimSpace(r.PostForm.Get("value"))
		switch field {
		case "name":
			if value == "" || len(value) > 200 || !utf8.ValidString(value) || strings.ContainsAny(value, "\x00\r\n") {
				a.fail(w, r, badRequest("Enter your name, up to 200 characters."))
				return
			}
		case "email":
			a.changeEmail(w, r, s, value)
			return
		default:
			a.fail(w, r, badRequest("Choose what to correct."))
			return
		}
		sub.Corrections = []erasure.Correction{{Target: "account", Field: field, Value: value}}
	default:
		a.fail(w, r, badRequest("Choose a kind of request."))
		return
	}
	var p profile
	if sub.Kind == gdpr.KindErasure {
		// The receipt's link goes to the account's address, the last
		// message to it, read before the request is filed: a worker, on
		// this instance or another, may erase the account at once.
		var err error
		if p, err = a.acc.get(r.Context(), s); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	q, _, err := a.kit.Engine().Submit(r.Context(), sub)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if sub.Kind == gdpr.KindErasure {
		// The receipt's link names no one.
		if err := a.cfg.mail.send(r.Context(), message{To: p.Email, Subject: "Your erasure request",
			Body: "We received your erasure request " + q.ID + ", due by " + q.Deadline.LastDay.Format("2 January 2006") +
				". Once it is done, its signed receipt is at:\n\n" + a.cfg.baseURL + "/receipts/" + q.ID + "\n", Sent: time.Now()}); err != nil {
			// The request stands; the receipt is at its URL all the same.
			a.log.ErrorContext(r.Context(), "the erasure's receipt mail failed", "request", q.ID, "error", err.Error())
		}
	}
	http.Redirect(w, r, "/account?done="+done, http.StatusSeeOther)
}

func validGround(g erasure.Ground) bool {
	switch g {
	case erasure.GroundAccuracy, erasure.GroundUnlawful, erasure.GroundLegalClaims, erasure.GroundObjection:
		return true
	}
	return false
}

// ownRequest returns the subject's request of the path's ID; another's
// is not found, as one that does not exist.
func (a *app) ownRequest(ctx context.Context, id string, s gdpr.SubjectID) (erasure.Request, error) {
	if len(id) != 36 || !isUUID(id) {
		return erasure.Request{}, &userError{http.StatusNotFound, "No such request."}
	}
	q, err := a.kit.Engine().Get(ctx, id)
	if errors.Is(err, gdpr.ErrNotFound) || (err == nil && q.SubjectRef != a.kit.Engine().SubjectRef(s)) {
		return erasure.Request{}, &userError{http.StatusNotFound, "No such request."}
	}
	return q, err
}

func (a *app) cancel(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID) {
	q, err := a.ownRequest(r.Context(), r.PathValue("id"), s)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if !cancellable(q) {
		a.fail(w, r, &userError{http.StatusConflict, "This request can no longer be cancelled: work on it has begun."})
		return
	}
	if _, err := a.kit.Engine().Cancel(r.Context(), q.ID); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=cancel", http.StatusSeeOther)
}

// activity is who did what with the subject's data (Art. 15(1)(c)),
// from the audit trail.
func (a *app) activity(w http.ResponseWriter, r *http.Request, s gdpr.SubjectID) {
	entries, err := a.kit.Trail().Entries(r.Context(), audit.Filter{Subject: s, Limit: audit.MaxPage})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// Newest first.
	for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
		entries[i], entries[j] = entries[j], entries[i]
	}
	a.render(w, r, http.StatusOK, "activity", page{Title: "Who used your data", SignedIn: true, Data: entries})
}

// receipt serves a closed request's signed receipt (a JWS), which names
// no subject: its link was sent to the subject when they asked.
func (a *app) receipt(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !isUUID(id) {
		a.fail(w, r, &userError{http.StatusNotFound, "No such receipt."})
		return
	}
	jws, err := a.kit.Engine().Receipt(r.Context(), id)
	if errors.Is(err, gdpr.ErrNotFound) || errors.Is(err, gdpr.ErrConflict) || errors.Is(err, gdpr.ErrInvalid) {
		a.fail(w, r, &userError{http.StatusNotFound, "No receipt yet: the request is not closed, or there is no such request."})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jose")
	w.Header().Set("Content-Disposition", `attachment; filename="receipt-`+id+`.jws"`)
	w.Write([]byte(jws))
}

// notice shows the text of a consent notice, as published.
func (a *app) notice(w http.ResponseWriter, r *http.Request) {
	for _, cp := range consentPurposes {
		if string(cp.Purpose) == r.PathValue("purpose") {
			a.render(w, r, http.StatusOK, "notice", page{Title: "Notice", SignedIn: a.signedIn(r), Data: cp})
			return
		}
	}
	a.fail(w, r, &userError{http.StatusNotFound, "No such notice."})
}

func (a *app) devMailbox(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "mailbox", page{Title: "Development mailbox", Data: a.cfg.mailbox.list()})
}

// kindName names a request kind for people.
func kindName(k gdpr.RequestKind) string {
	switch k {
	case gdpr.KindErasure:
		return "erasure"
	case gdpr.KindAccess:
		return "access"
	case gdpr.KindPortability:
		return "portability"
	case gdpr.KindRestriction:
		return "restriction"
	case gdpr.KindLiftRestriction:
		return "lift of a restriction"
	case gdpr.KindObjection:
		return "objection"
	case gdpr.KindRectification:
		return "rectification"
	}
	return string(k)
}
