package export

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"

	"github.com/gdprkit/gdpr"
)

// Deliverer hands bundles to their subjects: it keeps each bundle as
// blobs until it is downloaded or expires, behind single-use tokens.
//
// A token is 32 random bytes (base64url, 43 characters), one per part.
// The Store keeps only its SHA-256; the part's blob is encrypted with
// Tink's streaming AEAD (AES-256-GCM-HKDF) under a key derived from the
// token (HKDF-SHA256), so a copy of the Store and the blobs together
// still reads nothing without the tokens, which only the subject holds.
// A token is spent when its download starts (Download), whether or not
// the download completes, so a leaked link works at most once, and
// after its expiry not at all; the part's blob is deleted when its
// download ends, and the delivery when every part is downloaded or when
// it expires (Sweep) (Art. 5(1)(e)). Every delivery and download is
// recorded through the Recorder.
//
// A Deliverer is safe for concurrent use, by many processes sharing the
// Store and Blobs.
type Deliverer struct {
	settings
	store Store
	blobs Blobs
}

var _ gdpr.Eraser = (*Deliverer)(nil)

// DefaultTTL is how long a delivery's tokens work unless WithTTL says
// otherwise.
const DefaultTTL = 7 * 24 * time.Hour

// WithTTL sets how long a delivery's tokens work: from 1 minute to 90
// days. For NewDeliverer. Default: DefaultTTL, 7 days.
func WithTTL(d time.Duration) Option {
	return option{"WithTTL", forDeliverer, func(s *settings) error {
		if d < time.Minute || d > 90*24*time.Hour {
			return because(ErrInvalid, "a TTL outside 1 minute to 90 days", nil)
		}
		s.ttl = d
		return nil
	}}
}

// NewDeliverer returns a Deliverer keeping deliveries in store and the
// bundles' bytes in blobs.
func NewDeliverer(store Store, blobs Blobs, opts ...Option) (*Deliverer, error) {
	const op = "new_deliverer"
	if store == nil {
		return nil, &Error{Op: op, Field: "store", Err: because(ErrInvalid, "nil store", nil)}
	}
	if blobs == nil {
		return nil, &Error{Op: op, Field: "blobs", Err: because(ErrInvalid, "nil blobs", nil)}
	}
	d := &Deliverer{store: store, blobs: blobs, settings: settings{now: time.Now, rec: gdpr.Discard, ttl: DefaultTTL}}
	if err := applyOptions(&d.settings, forDeliverer, opts); err != nil {
		return nil, wrap(op, err)
	}
	return d, nil
}

// Token is a download token: the secret a subject's link carries. It
// prints as "[token]" under every verb; Reveal gives its text, to put
// in the link.
type Token struct {
	s    string
	part int
}

// Reveal returns the token's text, base64url of 32 random bytes.
func (t Token) Reveal() string { return t.s }

// Part returns the number of the part, from 1, the token fetches.
func (t Token) Part() int { return t.part }

// String returns "[token]".
func (t Token) String() string { return "[token]" }

// GoString returns "export.Token([token])".
func (t Token) GoString() string { return "export.Token([token])" }

// Format prints "[token]" under every verb.
func (t Token) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, t.GoString())
		return
	}
	io.WriteString(f, "[token]")
}

// MarshalText refuses: a token is not to be serialised by accident.
func (t Token) MarshalText() ([]byte, error) {
	return nil, errors.New("export: a Token does not marshal; use Reveal")
}

const tokenBytes = 32

var tokenEncoding = base64.RawURLEncoding

// Deliver writes the bundle answering r with b into the blobs — each part
// encrypted to the subject's recipients first, if any are given (age:
// an X25519 or hybrid public key the subject supplied, or a passphrase
// through age.NewScryptRecipient), then under its token's key — stores
// the delivery and returns it with one token per part. The tokens are
// returned once and never kept: hand them to the subject (Handler's send
// does), or the bundle can never be downloaded. On error nothing is left
// behind.
func (d *Deliverer) Deliver(ctx context.Context, b *Builder, r gdpr.Request, recipients ...age.Recipient) (Delivery, []Token, error) {
	if err := checkCtx("deliver", ctx); err != nil {
		return Delivery{}, nil, err
	}
	del, tokens, _, err := d.deliver(ctx, b, r, recipients)
	return del, tokens, err
}

func (d *Deliverer) deliver(ctx context.Context, b *Builder, r gdpr.Request, recipients []age.Recipient) (Delivery, []Token, *Manifest, error) {
	const op = "deliver"
	if b == nil {
		return Delivery{}, nil, nil, &Error{Op: op, Field: "b", Err: because(ErrInvalid, "nil builder", nil)}
	}
	for _, rc := range recipients {
		if rc == nil {
			return Delivery{}, nil, nil, &Error{Op: op, Field: "recipients", Err: because(ErrInvalid, "nil recipient", nil)}
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Delivery{}, nil, nil, &Error{Op: op, Err: err}
	}
	now := d.now().UTC()
	del := Delivery{ID: id.String(), Request: r.ID, Kind: r.Kind, Subject: r.Subject, Created: now, Expires: now.Add(d.ttl)}
	var tokens []Token
	var open []*partWriter
	cleanup := func() {
		for _, p := range open {
			p.abort(context.WithoutCancel(ctx))
		}
		for _, p := range del.Parts {
			d.blobs.Remove(context.WithoutCancel(ctx), p.Blob)
		}
	}
	m, err := b.WriteParts(ctx, r, func(n int) (io.WriteCloser, error) {
		tok, raw, err := newToken(n)
		if err != nil {
			return nil, err
		}
		name := del.ID + "-" + strconv.Itoa(n)
		pw, err := d.createPart(ctx, name, raw, recipients)
		if err != nil {
			return nil, err
		}
		open = append(open, pw)
		h := sha256.Sum256(raw)
		pw.onClose = func(size int64) {
			del.Parts = append(del.Parts, DeliveryPart{TokenHash: h[:], Blob: name, Size: size})
			open = open[:len(open)-1]
		}
		tokens = append(tokens, tok)
		return pw, nil
	})
	if err != nil {
		cleanup()
		return Delivery{}, nil, nil, wrap(op, err)
	}
	if err := d.rec.Record(ctx, gdpr.Event{
		Time: now, Actor: gdpr.System("export"), Action: "export.delivered", Subject: r.Subject,
		Resource: "export_delivery/" + del.ID, Outcome: gdpr.Success,
		Attrs: map[string]string{"kind": string(r.Kind), "request": r.ID, "parts": strconv.Itoa(len(del.Parts)), "expires": del.Expires.Format(time.RFC3339)},
	}); err != nil {
		cleanup()
		return Delivery{}, nil, nil, &Error{Op: op, Err: because(ErrSource, "the audit event was not recorded", err)}
	}
	if err := d.store.Create(ctx, del); err != nil {
		cleanup()
		return Delivery{}, nil, nil, wrap(op, err)
	}
	return del, tokens, m, nil
}

func newToken(part int) (Token, []byte, error) {
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return Token{}, nil, err
	}
	return Token{s: tokenEncoding.EncodeToString(raw), part: part}, raw, nil
}

// deliverySegment is the segment size of a part's encryption at rest.
const deliverySegment = 64 << 10

// partAEAD returns the streaming AEAD of a part whose token is raw.
func partAEAD(raw []byte) (*subtle.AESGCMHKDF, error) {
	key, err := hkdf.Key(sha256.New, raw, nil, "gdpr-export/1 delivery", 32)
	if err != nil {
		return nil, err
	}
	return subtle.NewAESGCMHKDF(key, "SHA256", 32, deliverySegment, 0)
}

// partWriter writes one part: through age to the subject's recipients, if
// any, then the token's AEAD, into a blob.
type partWriter struct {
	d       *Deliverer
	name    string
	blob    io.WriteCloser
	cancel  context.CancelFunc // abandons blob (see Blobs.Create)
	enc     io.WriteCloser     // the token's AEAD over blob
	age     io.WriteCloser     // nil without recipients
	w       io.Writer          // what the bundle is written to
	n       int64              // bytes as the subject gets them
	onClose func(size int64)
	closed  bool
}

func (d *Deliverer) createPart(ctx context.Context, name string, raw []byte, recipients []age.Recipient) (*partWriter, error) {
	a, err := partAEAD(raw)
	if err != nil {
		return nil, err
	}
	bctx, cancel := context.WithCancel(ctx)
	blob, err := d.blobs.Create(bctx, name)
	if err != nil {
		cancel()
		return nil, err
	}
	enc, err := a.NewEncryptingWriter(blob, []byte(name))
	if err != nil {
		cancel()
		blob.Close()
		return nil, err
	}
	pw := &partWriter{d: d, name: name, blob: blob, cancel: cancel, enc: enc, w: enc}
	if len(recipients) > 0 {
		aw, err := age.Encrypt(countingTo{enc, &pw.n}, recipients...)
		if err != nil {
			cancel()
			blob.Close()
			return nil, because(ErrInvalid, "the subject's recipients cannot be encrypted to", err)
		}
		pw.age, pw.w = aw, aw
	}
	return pw, nil
}

type countingTo struct {
	w io.Writer
	n *int64
}

func (c countingTo) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

func (p *partWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if p.age == nil {
		p.n += int64(n)
	}
	return n, err
}

func (p *partWriter) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	defer p.cancel()
	if p.age != nil {
		if err := p.age.Close(); err != nil {
			p.cancel()
			p.blob.Close()
			return err
		}
	}
	if err := p.enc.Close(); err != nil {
		p.cancel()
		p.blob.Close()
		return err
	}
	if err := p.blob.Close(); err != nil {
		return err
	}
	p.onClose(p.n)
	return nil
}

// abort gives up a part that was not closed, and its blob.
func (p *partWriter) abort(ctx context.Context) {
	if !p.closed {
		p.closed = true
		p.cancel()
		p.blob.Close()
	}
	p.d.blobs.Remove(ctx, p.name)
}

// Download is one part being downloaded: read it, then Close it, which
// deletes the part's blob (and the delivery, once every part is done).
type Download struct {
	// Delivery is the delivery the part belongs to.
	Delivery Delivery
	// Part is the part's number, from 1, of len(Delivery.Parts).
	Part int
	// Name is a file name for it, e.g. "personal-data-<request>.zip",
	// with ".age" added when it is encrypted to the subject.
	Name string
	// Size is its length in bytes.
	Size int64
	// Encrypted reports whether it is encrypted to the subject (age).
	Encrypted bool

	r        io.Reader
	blob     io.ReadCloser
	d        *Deliverer
	closeOne sync.Once
	read     int64
}

// Read reads the part's bytes; at the end it fails if they were altered
// in the blobs.
func (dl *Download) Read(p []byte) (int, error) {
	n, err := dl.r.Read(p)
	dl.read += int64(n)
	if err != nil && err != io.EOF {
		return n, &Error{Op: "download", Err: because(ErrBundle, "the stored part is corrupt", nil)}
	}
	return n, err
}

// Close ends the download and deletes the part's blob, and the delivery
// when it was the last part to be downloaded. A part whose download
// failed half-way is deleted too: its token is spent.
func (dl *Download) Close() error {
	var err error
	dl.closeOne.Do(func() {
		dl.blob.Close()
		ctx := context.Background()
		if e := dl.d.blobs.Remove(ctx, dl.Delivery.Parts[dl.Part-1].Blob); e != nil {
			err = wrap("download", e)
			return
		}
		// The last part downloaded takes the delivery with it. Two last
		// parts claimed at once may each see the other pending: ask the
		// Store again (Sweep catches what still slips through).
		del := dl.Delivery
		if !del.Done() {
			if now, e := dl.d.store.Get(ctx, del.ID); e == nil {
				del = now
			}
		}
		if del.Done() {
			if e := dl.d.store.Delete(ctx, del.ID); e != nil {
				err = wrap("download", e)
			}
		}
	})
	return err
}

// Download spends token and returns the part it fetches. An unknown,
// used or expired token is ErrNotFound, with nothing said about which.
// The download is recorded ("export.downloaded") before a byte is
// returned; the caller must Close the Download. A failure once the token
// is spent (the Recorder's, the blobs') is ErrSpent: the part is gone,
// and the subject needs a new copy.
func (d *Deliverer) Download(ctx context.Context, token string) (*Download, error) {
	const op = "download"
	if err := checkCtx(op, ctx); err != nil {
		return nil, err
	}
	raw, err := tokenEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return nil, &Error{Op: op, Err: because(ErrNotFound, "no delivery for this token", nil)}
	}
	h := sha256.Sum256(raw)
	now := d.now().UTC()
	del, i, err := d.store.Claim(ctx, h[:], now)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, &Error{Op: op, Err: because(ErrNotFound, "no delivery for this token", nil)}
		}
		return nil, wrap(op, err)
	}
	part := del.Parts[i]
	dl := &Download{Delivery: del, Part: i + 1, Size: part.Size, d: d}
	fail := func(err error) (*Download, error) {
		// The token is spent; the part goes with it.
		d.blobs.Remove(context.WithoutCancel(ctx), part.Blob)
		if del.Done() {
			d.store.Delete(context.WithoutCancel(ctx), del.ID)
		}
		return nil, &Error{Op: op, Err: because(ErrSpent, "the download failed after its token was spent", err)}
	}
	// The part is opened and its first segment authenticated before the
	// download is recorded, so that only the Recorder's failure can
	// spend a token without a download.
	a, err := partAEAD(raw)
	if err != nil {
		return fail(err)
	}
	blob, err := d.blobs.Open(ctx, part.Blob)
	if err != nil {
		return fail(err)
	}
	r, err := a.NewDecryptingReader(blob, []byte(part.Blob))
	if err != nil {
		blob.Close()
		return fail(because(ErrBundle, "the stored part is corrupt", nil))
	}
	dl.r, dl.blob = r, blob
	if dl.Encrypted, err = isAge(r, dl); err != nil {
		blob.Close()
		return fail(because(ErrBundle, "the stored part is corrupt", nil))
	}
	if err := d.rec.Record(ctx, gdpr.Event{
		Time: now, Actor: gdpr.Actor{Kind: gdpr.ActorSubject}, Action: "export.downloaded", Subject: del.Subject,
		Resource: "export_delivery/" + del.ID, Outcome: gdpr.Success,
		Attrs: map[string]string{"part": strconv.Itoa(i + 1), "parts": strconv.Itoa(len(del.Parts)), "request": del.Request},
	}); err != nil {
		blob.Close()
		return fail(because(ErrSource, "the audit event was not recorded", err))
	}
	dl.Name = fileName(del, i+1, dl.Encrypted)
	return dl, nil
}

// openPart reads a part of a delivery with its token, without spending
// it: for the Handler's Transmitter, while the tokens are in hand.
func (d *Deliverer) openPart(ctx context.Context, del Delivery, part int, tok Token) (io.ReadCloser, error) {
	raw, err := tokenEncoding.Strict().DecodeString(tok.s)
	if err != nil {
		return nil, err
	}
	a, err := partAEAD(raw)
	if err != nil {
		return nil, err
	}
	name := del.Parts[part-1].Blob
	blob, err := d.blobs.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	r, err := a.NewDecryptingReader(blob, []byte(name))
	if err != nil {
		blob.Close()
		return nil, because(ErrBundle, "the stored part is corrupt", nil)
	}
	return struct {
		io.Reader
		io.Closer
	}{r, blob}, nil
}

// isAge peeks at the part's first bytes, which decrypts and
// authenticates its first segment: an age file begins with its version
// line, a ZIP archive with "PK".
func isAge(r io.Reader, dl *Download) (bool, error) {
	const magic = "age-encryption.org/"
	buf := make([]byte, len(magic))
	if _, err := io.ReadFull(r, buf); err != nil {
		return false, err
	}
	dl.r = io.MultiReader(bytes.NewReader(buf), r)
	return string(buf) == magic, nil
}

func fileName(del Delivery, part int, encrypted bool) string {
	name := "personal-data"
	if del.Kind == gdpr.KindPortability {
		name = "portable-data"
	}
	if del.Request != "" && datasetRE.MatchString(del.Request) {
		name += "-" + del.Request
	}
	if len(del.Parts) > 1 {
		name += "-part" + strconv.Itoa(part) + "-of-" + strconv.Itoa(len(del.Parts))
	}
	name += ".zip"
	if encrypted {
		name += ".age"
	}
	return name
}

// Sweep deletes the deliveries that are over — expired, or downloaded in
// full — with their blobs, and returns how many it deleted. Run it
// periodically (a retention sweep may); deletion is recorded
// ("export.deleted").
func (d *Deliverer) Sweep(ctx context.Context) (int, error) {
	const op = "sweep"
	if err := checkCtx(op, ctx); err != nil {
		return 0, err
	}
	n := 0
	for {
		page, err := d.store.List(ctx, DeliveryFilter{Finished: d.now(), Limit: DefaultLimit})
		if err != nil {
			return n, wrap(op, err)
		}
		for _, del := range page {
			reason := "expired"
			if del.Done() {
				reason = "downloaded"
			}
			if err := d.remove(ctx, del, reason); err != nil {
				return n, wrap(op, err)
			}
			n++
		}
		if len(page) < DefaultLimit {
			return n, nil
		}
	}
}

// Run sweeps every interval until ctx is done, and returns ctx's error;
// a failed sweep is tried again at the next interval. Run it on one
// instance or on each: sweeps on several instances at once only repeat
// each other's deletions, which are idempotent.
func (d *Deliverer) Run(ctx context.Context, every time.Duration) error {
	if err := checkCtx("run", ctx); err != nil {
		return err
	}
	if every <= 0 {
		return &Error{Op: "run", Field: "every", Err: because(ErrInvalid, "a non-positive interval", nil)}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		d.Sweep(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// remove deletes a delivery's blobs and then the delivery, recording it
// first.
func (d *Deliverer) remove(ctx context.Context, del Delivery, reason string) error {
	if err := d.rec.Record(ctx, gdpr.Event{
		Time: d.now().UTC(), Actor: gdpr.System("export"), Action: "export.deleted", Subject: del.Subject,
		Resource: "export_delivery/" + del.ID, Outcome: gdpr.Success,
		Attrs: map[string]string{"reason": reason, "request": del.Request},
	}); err != nil {
		return because(ErrSource, "the audit event was not recorded", err)
	}
	for _, p := range del.Parts {
		if err := d.blobs.Remove(ctx, p.Blob); err != nil {
			return err
		}
	}
	return d.store.Delete(ctx, del.ID)
}

// EraseSubject deletes every delivery of the subject with its blobs
// (gdpr.Eraser): no bundle outlives its subject's erasure. Register the
// Deliverer as a target of the request engine.
func (d *Deliverer) EraseSubject(ctx context.Context, subject gdpr.SubjectID) (gdpr.ErasureReport, error) {
	const op = "erase_subject"
	if err := checkCtx(op, ctx); err != nil {
		return gdpr.ErasureReport{}, err
	}
	if err := subject.Validate(); err != nil {
		return gdpr.ErasureReport{}, wrap(op, invalid("subject", err))
	}
	var rep gdpr.ErasureReport
	for {
		page, err := d.store.List(ctx, DeliveryFilter{Subject: subject, Limit: DefaultLimit})
		if err != nil {
			return rep, wrap(op, err)
		}
		for _, del := range page {
			if err := d.remove(ctx, del, "erased"); err != nil {
				return rep, wrap(op, err)
			}
			rep.Erased++
		}
		if len(page) < DefaultLimit {
			return rep, nil
		}
	}
}
