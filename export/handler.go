package export

import (
	"context"
	"io"
	"strconv"

	"filippo.io/age"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Handler answers access (Art. 15) and portability (Art. 20) requests
// for the request engine: it is the gdpr.RequestHandler to register for
// both kinds (erasure.WithHandler), and the engine gives it the
// deadline of Art. 12(3), the identity check, retries and the journal.
// For each request it builds the subject's bundle, delivers it behind
// single-use tokens, transmits a portability bundle to another
// controller where the host wired a Transmitter (Art. 20(2)), and hands
// the tokens to send, which tells the subject.
type Handler struct {
	settings
	b    *Builder
	d    *Deliverer
	send func(ctx context.Context, r gdpr.Request, d Delivery, tokens []Token) error
}

var _ gdpr.RequestHandler = (*Handler)(nil)

// Transmitter sends a portability bundle directly to the controller the
// subject named (Art. 20(2)): the host knows the controllers it can
// reach (their endpoints, their keys) and which one a request names, in
// a parameter of the request (a key, never a personal value).
type Transmitter interface {
	// Transmit sends the bundle of r, whose parts open returns (from 1 to
	// m.Parts), to the controller r names, and reports whether it sent
	// it: false, nil when r names none or transmission is not
	// technically feasible, and the subject gets the bundle alone.
	// An error fails the request's handling, which the engine retries;
	// Transmit must then be idempotent. It may be called concurrently.
	Transmit(ctx context.Context, r gdpr.Request, m *Manifest, open func(part int) (io.ReadCloser, error)) (sent bool, err error)
}

// WithEncryption sets how the Handler finds the age recipients a subject
// supplied for their bundle (a public key, a passphrase through
// age.NewScryptRecipient): none, nil means the bundle is not encrypted
// to the subject (it is still encrypted at rest under its tokens). For
// NewHandler. Default: none. nil is an error.
func WithEncryption(fn func(ctx context.Context, r gdpr.Request) ([]age.Recipient, error)) Option {
	return option{"WithEncryption", forHandler, func(s *settings) error {
		if fn == nil {
			return because(ErrInvalid, "nil function", nil)
		}
		s.encryptTo = fn
		return nil
	}}
}

// WithTransmitter sets the Transmitter of portability bundles to other
// controllers (Art. 20(2)). For NewHandler. Default: none — the subject
// receives the bundle and takes it on. nil is an error.
func WithTransmitter(t Transmitter) Option {
	return option{"WithTransmitter", forHandler, func(s *settings) error {
		if t == nil {
			return because(ErrInvalid, "nil transmitter", nil)
		}
		s.transmitter = t
		return nil
	}}
}

// NewHandler returns a Handler that builds bundles with b, delivers them
// with d and tells the subject with send, which is given the delivery
// and its tokens (put each token's Reveal in a download link; see
// Deliverer.ServeHTTP). send must be idempotent in effect: after a
// failure the engine calls the Handler again, which then makes a new
// delivery (and deletes the old) and calls send with new tokens.
func NewHandler(b *Builder, d *Deliverer, send func(ctx context.Context, r gdpr.Request, d Delivery, tokens []Token) error, opts ...Option) (*Handler, error) {
	const op = "new_handler"
	switch {
	case b == nil:
		return nil, &Error{Op: op, Field: "b", Err: because(ErrInvalid, "nil builder", nil)}
	case d == nil:
		return nil, &Error{Op: op, Field: "d", Err: because(ErrInvalid, "nil deliverer", nil)}
	case send == nil:
		return nil, &Error{Op: op, Field: "send", Err: because(ErrInvalid, "nil send", nil)}
	}
	h := &Handler{b: b, d: d, send: send}
	if err := applyOptions(&h.settings, forHandler, opts); err != nil {
		return nil, wrap(op, err)
	}
	return h, nil
}

// HandleRequest answers an access or a portability request: it deletes
// any delivery an earlier attempt left for the request, builds and
// delivers the bundle, transmits it (portability, with a Transmitter;
// recorded as "export.transmitted", with whether it was sent), and calls
// send. The result counts the records and names the delivery.
//
// Called again for the same request, as the engine does after a failure,
// it makes a new delivery and the links of the earlier one stop working:
// if send had succeeded before the failure, the subject's first e-mail
// is then void and the second one holds the links that work.
func (h *Handler) HandleRequest(ctx context.Context, r gdpr.Request) (gdpr.RequestResult, error) {
	const op = "handle_request"
	if err := checkCtx(op, ctx); err != nil {
		return gdpr.RequestResult{}, err
	}
	if r.Kind != gdpr.KindAccess && r.Kind != gdpr.KindPortability {
		return gdpr.RequestResult{}, &Error{Op: op, Field: "kind", Err: because(ErrInvalid, "the export handler answers access and portability requests, not "+show(string(r.Kind)), nil)}
	}
	if r.ID == "" {
		return gdpr.RequestResult{}, &Error{Op: op, Field: "id", Err: because(ErrInvalid, "a request without an ID", nil)}
	}
	// An earlier attempt's delivery was never announced, or its tokens
	// go with the failure: only the newest delivery of a request lives.
	for {
		old, err := h.d.store.List(ctx, DeliveryFilter{Request: r.ID, Limit: DefaultLimit})
		if err != nil {
			return gdpr.RequestResult{}, wrap(op, err)
		}
		for _, del := range old {
			if err := h.d.remove(ctx, del, "superseded"); err != nil {
				return gdpr.RequestResult{}, wrap(op, err)
			}
		}
		if len(old) < DefaultLimit {
			break
		}
	}
	var recipients []age.Recipient
	if h.encryptTo != nil {
		var err error
		if recipients, err = h.encryptTo(ctx, r); err != nil {
			return gdpr.RequestResult{}, &Error{Op: op, Field: "WithEncryption", Err: because(ErrSource, "the subject's recipients could not be found", err)}
		}
	}
	del, tokens, m, err := h.d.deliver(ctx, h.b, r, recipients)
	if err != nil {
		return gdpr.RequestResult{}, wrap(op, err)
	}
	if h.transmitter != nil && r.Kind == gdpr.KindPortability {
		if err := h.transmit(ctx, r, del, tokens, m, recipients); err != nil {
			h.d.remove(context.WithoutCancel(ctx), del, "superseded")
			return gdpr.RequestResult{}, wrap(op, err)
		}
	}
	if err := h.send(ctx, r, del, tokens); err != nil {
		h.d.remove(context.WithoutCancel(ctx), del, "superseded")
		return gdpr.RequestResult{}, &Error{Op: op, Field: "send", Err: because(ErrSource, "the subject could not be told", err)}
	}
	var records int64
	for _, f := range m.Files {
		if f.Dataset != "" && f.Path == DataDir+f.Dataset+".json" {
			records += f.Records
		}
	}
	return gdpr.RequestResult{Records: records, Reference: del.ID}, nil
}

// transmit hands the portability bundle to the Transmitter. The other
// controller must be able to open it: when the subject's copy is
// encrypted to the subject, the Transmitter is given a copy of its own,
// made for it and deleted once it is sent.
func (h *Handler) transmit(ctx context.Context, r gdpr.Request, del Delivery, tokens []Token, m *Manifest, recipients []age.Recipient) error {
	if len(recipients) > 0 {
		plain, ptoks, pm, err := h.d.deliver(ctx, h.b, r, nil)
		if err != nil {
			return err
		}
		defer h.d.remove(context.WithoutCancel(ctx), plain, "transmitted")
		del, tokens, m = plain, ptoks, pm
	}
	open := func(part int) (io.ReadCloser, error) {
		if part < 1 || part > len(tokens) {
			return nil, because(ErrNotFound, "no such part", nil)
		}
		return h.d.openPart(ctx, del, part, tokens[part-1])
	}
	sent, err := h.transmitter.Transmit(ctx, r, m, open)
	if err != nil {
		return errs.At("WithTransmitter", because(ErrSource, "the transmission to the other controller failed", err))
	}
	return h.d.rec.Record(ctx, gdpr.Event{
		Time: h.d.now().UTC(), Actor: gdpr.System("export"), Action: "export.transmitted", Subject: r.Subject,
		Resource: "export_delivery/" + del.ID, Outcome: outcome(sent),
		Attrs: map[string]string{"request": r.ID, "sent": strconv.FormatBool(sent)},
	})
}

func outcome(ok bool) gdpr.Outcome {
	if ok {
		return gdpr.Success
	}
	return gdpr.Failure
}
