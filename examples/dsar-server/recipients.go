package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/erasure"
)

// The recipients of the subjects' data (Art. 30(1)(d)), and how they are
// told of a rectification, an erasure or a restriction (Art. 19).
//
// The partner receives the e-mail addresses of the subjects who agreed to
// partners' offers: it is named in the register, and the disclosures
// (gdpr.Disclosures) say which subjects' data it received, under a
// reference of its own that names no one. The engine tells it of each
// rectification, erasure and restriction of such a subject, once per
// request, and records the outcome on the request, where the subject can
// see it (Art. 19, second sentence); the access bundle lists it among the
// recipients (Art. 15(1)(c)).
//
// Here the notice is an e-mail to the partner's privacy desk through the
// app's mail hook; a real partner more likely takes a signed webhook
// (package erasure/webhook).
const (
	partnerName  = "Partner Offers GmbH"
	partnerEmail = "privacy@partner.example"
)

var partner = gdpr.Recipient{Name: partnerName, Kind: gdpr.ThirdParty, Country: "DE"}

// disclosures lists the recipients the subject's data went to: the
// partner, if the subject ever agreed to partners' offers (it had their
// address from then on, and may still hold it).
func (a *app) disclosures(ctx context.Context, s gdpr.SubjectID) ([]gdpr.Disclosure, error) {
	events, err := a.kit.Ledger().History(ctx, s, "partner_offers")
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if e.Kind == consent.Given {
			return []gdpr.Disclosure{{Recipient: partnerName, Kind: gdpr.ThirdParty, Reference: a.partnerRef(s),
				Categories: []string{"contact"}, At: e.Time}}, nil
		}
	}
	return nil, nil
}

// partnerRef is the partner's reference for the subject: a keyed hash
// the partner can match to the record it received and learns nothing
// from, the same on every instance.
func (a *app) partnerRef(s gdpr.SubjectID) string {
	m := hmac.New(sha256.New, a.cfg.keys.SubjectKey)
	m.Write([]byte("partner-reference\x00" + string(s)))
	return "ref-" + hex.EncodeToString(m.Sum(nil)[:12])
}

// notifyRecipient tells a recipient of a rectification, an erasure or a
// restriction. A notice names the partner's reference, never the subject.
// Where the partner holds nothing of the subject (the register names it
// for everyone; only the subjects who agreed were disclosed to it), there
// is nobody to tell there, which the engine records as such.
func (a *app) notifyRecipient(ctx context.Context, n erasure.RecipientNotice) error {
	if n.Recipient.Recipient != partnerName {
		return fmt.Errorf("%w: no channel to this recipient", erasure.ErrImpossible)
	}
	if n.Recipient.Reference == "" {
		return fmt.Errorf("%w: the subject's data were never disclosed to this recipient", erasure.ErrImpossible)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Notice %s under Art. 19 GDPR, about your record %s.\n\n", n.ID, n.Recipient.Reference)
	switch n.Kind {
	case gdpr.KindErasure:
		fmt.Fprintf(&b, "The data subject's data were erased on %s (Art. 17). Erase the data we disclosed to you", n.At.UTC().Format(time.DateOnly))
		if len(n.Categories) > 0 {
			fmt.Fprintf(&b, " (categories: %s)", strings.Join(n.Categories, ", "))
		}
		b.WriteString(".\n")
	case gdpr.KindRectification:
		fmt.Fprintf(&b, "The data subject's data were corrected (Art. 16): %s. Ask us for the corrected values through your usual channel.\n", strings.Join(n.Fields, ", "))
	case gdpr.KindRestriction:
		fmt.Fprintf(&b, "The processing of the data subject's data is restricted (Art. 18, ground %s). Store them, and do not otherwise process them.\n", n.Ground)
	default:
		return fmt.Errorf("%w: not a kind recipients are told of", erasure.ErrImpossible)
	}
	fmt.Fprintf(&b, "\nOur request reference: %s.\n", n.Request)
	return a.cfg.mail.send(ctx, message{To: partnerEmail, Subject: "Art. 19 notice " + n.ID, Body: b.String(), Sent: time.Now()})
}
