package consent_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/consent/memconsent"
)

// errCanaries look like personal data. Some are keys to errs.Show's
// alphabet (an IPv4 address, a long number), and used to be quoted as
// keys.
var errCanaries = []string{"ann.smith@example.org", "+49 30 1234567", "Ann Smith", "192.0.2.17", "4930123456789",
	"2001:db8::17", "030-1234-5678"}

// TestNoRejectedValueInErrors plants each canary in every input field of
// every call that can reject it, and checks every error text (issue 9: a
// Contact of ann@example.org, and an unknown purpose, were quoted).
func TestNoRejectedValueInErrors(t *testing.T) {
	u := mustOK(consent.NewUnsubscriber([]byte(strings.Repeat("u", 32))))
	_, priv, _ := ed25519.GenerateKey(nil)
	f := newFixture(t, consent.WithRegister(marketingRegister()), consent.WithUnsubscriber(u),
		consent.WithReceipts(priv, validController(), "EU"))
	bare := newFixture(t, consent.WithUnsubscriber(u))
	mustOK(f.l.Give(f.ctx, f.choice("known")))
	store := memconsent.New()
	checked := 0
	for _, c := range errCanaries {
		calls := map[string]func() error{}
		choice := func(mod func(*consent.Choice)) func() error {
			return func() error {
				ch := f.choice("s")
				mod(&ch)
				_, err := f.l.Give(f.ctx, ch)
				return err
			}
		}
		calls["give purpose"] = choice(func(ch *consent.Choice) { ch.Purpose = gdpr.Purpose(c) })
		calls["give contact"] = choice(func(ch *consent.Choice) { ch.Contact = consent.Contact(c) })
		calls["give actor kind"] = choice(func(ch *consent.Choice) { ch.Actor = gdpr.Actor{Kind: gdpr.ActorKind(c), ID: c} })
		calls["give actor id"] = choice(func(ch *consent.Choice) { ch.Actor = gdpr.Staff(c + "\x00") })
		calls["give subject"] = choice(func(ch *consent.Choice) { ch.Subject = gdpr.SubjectID(c + "\x01"); ch.Contact = "x" })
		calls["give notice"] = choice(func(ch *consent.Choice) { ch.Notice.ID = c })
		calls["give method"] = choice(func(ch *consent.Choice) { ch.Method = consent.Method(c + "\n") })
		calls["give channel"] = choice(func(ch *consent.Choice) { ch.Channel = c + "\t" })
		calls["give user agent"] = choice(func(ch *consent.Choice) { ch.Evidence.UserAgent = c })
		calls["give locator"] = choice(func(ch *consent.Choice) { ch.Evidence.Locator = "/x?" + c })
		calls["give ip prefix"] = choice(func(ch *consent.Choice) { ch.Evidence.IPPrefix = c })
		calls["give attr value"] = choice(func(ch *consent.Choice) { ch.Evidence.Attrs = map[string]string{"a": c + "!"} })
		calls["give attr name"] = choice(func(ch *consent.Choice) { ch.Evidence.Attrs = map[string]string{c: "1"} })
		calls["withdraw contact"] = func() error {
			_, err := f.l.Withdraw(f.ctx, consent.Choice{Subject: "s", Purpose: "newsletter", Contact: consent.Contact(c)})
			return err
		}
		calls["object purpose bad contact"] = func() error {
			_, err := f.l.Object(f.ctx, consent.Choice{Subject: gdpr.SubjectID(c), Purpose: gdpr.Purpose(c), Contact: consent.Contact(c)})
			return err
		}
		calls["override purpose"] = func() error {
			_, err := f.l.OverrideObjection(f.ctx, consent.Choice{Subject: "s", Purpose: gdpr.Purpose(c), Actor: gdpr.Staff("dpo")})
			return err
		}
		calls["decide purpose"] = func() error {
			_, err := f.l.Decide(f.ctx, consent.Query{Subject: "s", Purpose: gdpr.Purpose(c)})
			return err
		}
		calls["decide contact"] = func() error {
			_, err := f.l.Decide(f.ctx, consent.Query{Subject: gdpr.SubjectID(c), Purpose: "newsletter", Contact: consent.Contact(c)})
			return err
		}
		calls["decide without register"] = func() error {
			_, err := bare.l.Decide(bare.ctx, consent.Query{Subject: "s", Purpose: gdpr.Purpose(c), Contact: consent.Contact(c)})
			return err
		}
		calls["history subject"] = func() error { _, err := f.l.History(f.ctx, gdpr.SubjectID(c+"\x02"), ""); return err }
		calls["publish id"] = func() error {
			_, err := f.l.Publish(f.ctx, consent.Notice{ID: c + "\x03", Version: 1, TextHash: consent.HashText("x")})
			return err
		}
		calls["publish language"] = func() error {
			_, err := f.l.Publish(f.ctx, consent.Notice{ID: "n-" + string(rune('a'+checked%26)), Version: 1, TextHash: consent.HashText("x"), Language: c + "\x04"})
			return err
		}
		calls["publish hash"] = func() error {
			_, err := f.l.Publish(f.ctx, consent.Notice{ID: "n", Version: 1, TextHash: c})
			return err
		}
		calls["republish"] = func() error {
			mustOK(f.l.Publish(f.ctx, consent.Notice{ID: "r/" + c, Version: 1, TextHash: consent.HashText("a"), Published: f.clk.Now()}))
			_, err := f.l.Publish(f.ctx, consent.Notice{ID: "r/" + c, Version: 1, TextHash: consent.HashText("b")})
			return err
		}
		calls["notice id"] = func() error { _, err := f.l.Notice(f.ctx, c, 1); return err }
		calls["receipt id"] = func() error { _, _, err := f.l.Receipt(f.ctx, c); return err }
		calls["confirm token"] = func() error { _, err := f.l.Confirm(f.ctx, c, consent.Evidence{}); return err }
		calls["unsubscribe token"] = func() error { _, err := f.l.Unsubscribe(f.ctx, c, consent.Evidence{}); return err }
		calls["unsubscribe token contact"] = func() error {
			_, err := f.l.UnsubscribeToken(gdpr.SubjectID(c), gdpr.Purpose(c), consent.Contact(c), 0)
			return err
		}
		calls["sign claims"] = func() error {
			_, err := u.Sign(consent.Claims{Subject: gdpr.SubjectID(c), Purpose: gdpr.Purpose(c + "\x05"), Contact: consent.Contact(c)})
			return err
		}
		calls["verify receipt"] = func() error { _, err := consent.VerifyReceipt(c); return err }
		calls["parse confirmation"] = func() error { _, _, err := consent.ParseConfirmationToken(c); return err }
		calls["soft opt-in purpose"] = func() error {
			cc := sale("s", consent.Email)
			cc.Purpose = gdpr.Purpose(c)
			_, err := f.l.RecordSoftOptIn(f.ctx, cc)
			return err
		}
		calls["soft opt-in sale"] = func() error {
			cc := sale("s", consent.Email)
			cc.Sale = c
			_, err := f.l.RecordSoftOptIn(f.ctx, cc)
			return err
		}
		calls["soft opt-in products"] = func() error {
			cc := sale("s", consent.Email)
			cc.Products, cc.Contact = c, consent.Contact(c)
			_, err := f.l.RecordSoftOptIn(f.ctx, cc)
			return err
		}
		calls["context actor"] = func() error {
			ctx := gdpr.WithActor(context.Background(), gdpr.Actor{Kind: gdpr.ActorKind(c), ID: c})
			_, err := f.l.Give(ctx, consent.Choice{Subject: "s", Purpose: "newsletter", Notice: f.choice("s").Notice})
			return err
		}
		calls["context purpose"] = func() error {
			ctx := gdpr.WithPurpose(context.Background(), gdpr.Purpose(c+"\x06"))
			_, err := f.l.EraseSubject(ctx, "s")
			return err
		}
		calls["receipts controller"] = func() error {
			ctrl := validController()
			ctrl.Address.Country, ctrl.Email, ctrl.Contact = c, c, c+"\x07"
			_, err := consent.New(memconsent.New(), consent.WithReceipts(priv, ctrl, c))
			return err
		}
		calls["memconsent event"] = func() error { _, err := store.Event(f.ctx, c); return err }
		calls["memconsent notice"] = func() error {
			n := consent.Notice{ID: c, Version: 1, TextHash: "00", Published: time.Now()}
			_ = store.PutNotice(f.ctx, n)
			return store.PutNotice(f.ctx, n)
		}
		for name, call := range calls {
			err := call()
			if err == nil {
				t.Errorf("%s with %q: no error", name, c)
				continue
			}
			checked++
			if strings.Contains(err.Error(), c) {
				t.Errorf("%s: error %q echoes %q", name, err, c)
			}
			for _, part := range strings.Fields(c) {
				if len(part) > 3 && strings.Contains(err.Error(), part) {
					t.Errorf("%s: error %q echoes part %q of %q", name, err, part, c)
				}
			}
		}
	}
	if checked < 35*len(errCanaries) {
		t.Fatalf("only %d errors checked", checked)
	}
	// A value that looks like a key, and like nothing personal, is still
	// quoted, to help the caller.
	if _, err := f.l.Decide(f.ctx, consent.Query{Subject: "s", Purpose: "newsletterr"}); !strings.Contains(err.Error(), `"newsletterr"`) {
		t.Errorf("an unknown purpose that is a key is not quoted: %v", err)
	}
}
