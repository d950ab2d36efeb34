package main

import (
	"context"
	"errors"
	"net/textproto"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/gdprhttp"
)

// sendBulk sends one bulk message of purpose (the newsletter, the offers)
// to the subject, if and only if the ledger allows it now, with the
// one-click unsubscribe of RFC 8058 in its header and the same link in
// its body (ePrivacy Art. 13(2): an opt-out on the occasion of each
// message). It reports whether it sent. A host's campaign tool calls the
// same steps for each subject of its list; the app has no campaigns of
// its own, and the tests call it.
//
// The message's mailer must sign List-Unsubscribe and
// List-Unsubscribe-Post with DKIM (RFC 8058 §3.3) or providers ignore
// them.
func (a *app) sendBulk(ctx context.Context, s gdpr.SubjectID, purpose gdpr.Purpose, subject, body string) (bool, error) {
	d, err := a.kit.Ledger().Decide(ctx, consent.Query{Subject: s, Purpose: purpose, Contact: consent.Email})
	if err != nil || !d.Allowed {
		return false, err
	}
	// The mailing's own processing, with no allowance: a restriction
	// (Art. 18) or an objection (Art. 21) that covers it refuses it.
	p, err := a.acc.read(gdpr.WithPurpose(ctx, purpose), s)
	if errors.Is(err, gdpr.ErrRestricted) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	token, err := a.kit.Ledger().UnsubscribeToken(s, purpose, consent.Email, 0)
	if err != nil {
		return false, err
	}
	h, err := gdprhttp.UnsubscribeHeader(a.cfg.baseURL+"/unsubscribe", token)
	if err != nil {
		return false, err
	}
	link, _ := gdprhttp.UnsubscribeURL(a.cfg.baseURL+"/unsubscribe", token) // UnsubscribeHeader checked both
	m := message{To: p.Email, Subject: subject, Header: textproto.MIMEHeader(h), Sent: time.Now(),
		Body: body + "\n\nTo stop these messages: " + link + "\n"}
	return true, a.cfg.mail.send(ctx, m)
}
