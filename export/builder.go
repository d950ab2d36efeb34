package export

import (
	"compress/flate"
	"context"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/internal/errs"
)

// Source is one place the host keeps a subject's data: the consent
// ledger, the key store, the audit log, the request engine's history, the
// host's own tables. Every source of a Builder is asked for every bundle.
type Source struct {
	// Name names the source in errors and in the manifest, e.g.
	// "consent", "crm"; a key of ^[a-z0-9_][a-z0-9_.-]{0,63}$, unique
	// among the sources. Required.
	Name string
	// Exporter streams the subject's records. Required. It is called
	// with a ctx that carries gdpr.AllowConsent unless the caller's
	// claims another allowance: the subject asked for their data, so a
	// restriction (Art. 18(2)) does not keep it from them, and a
	// decryption made for the bundle is recorded with that allowance.
	Exporter gdpr.Exporter
	// Redact, if set, is called with every record of the source before
	// it is written, to remove what would adversely affect the rights
	// and freedoms of others (Art. 15(4)): another person's name in a
	// message, a third party's data in a shared document. It returns the
	// record to write, or keep false to leave the record out; an error
	// aborts the bundle as the source's. r.Fields is the source's own
	// map: to change it, return a copy (maps.Clone) unless the source
	// does not keep it.
	Redact func(ctx context.Context, r gdpr.Record) (out gdpr.Record, keep bool, err error)
}

// Builder writes a subject's bundle from its sources. It holds no state
// between bundles and is safe for concurrent use.
type Builder struct {
	settings
	signer crypto.Signer
	pub    ed25519.PublicKey
}

// settings holds what the options set, for the Builder, the Deliverer
// and the Handler alike: each takes the options that concern it and
// refuses the others.
type settings struct {
	// Builder
	sources     []Source
	register    *gdpr.Register
	disclosures gdpr.Disclosures
	authority   *gdpr.Party
	level       int
	partSize    int64
	htmlRows    int
	spoolDir    string
	// Deliverer
	ttl time.Duration
	// Handler
	encryptTo   func(ctx context.Context, r gdpr.Request) ([]age.Recipient, error)
	transmitter Transmitter
	// all
	now func() time.Time
	rec gdpr.Recorder
}

// Option configures a Builder (New), a Deliverer (NewDeliverer) or a
// Handler (NewHandler); each option's doc says which it configures, and
// the others refuse it. Options are applied in order; each validates its
// argument when it is applied.
type Option interface{ apply(*settings, target) error }

// target is what an option configures.
type target uint8

const (
	forBuilder target = 1 << iota
	forDeliverer
	forHandler
)

var targetNames = map[target]string{forBuilder: "New", forDeliverer: "NewDeliverer", forHandler: "NewHandler"}

type option struct {
	name string
	to   target
	fn   func(*settings) error
}

func (o option) apply(s *settings, t target) error {
	if o.to&t == 0 {
		var of []string
		for _, x := range []target{forBuilder, forDeliverer, forHandler} {
			if o.to&x != 0 {
				of = append(of, targetNames[x])
			}
		}
		return errs.At(o.name, because(ErrInvalid, o.name+" is an option of "+strings.Join(of, ", ")+", not of "+targetNames[t], nil))
	}
	if err := o.fn(s); err != nil {
		return errs.At(o.name, err)
	}
	return nil
}

// applyOptions applies opts for t to s.
func applyOptions(s *settings, t target, opts []Option) error {
	for _, o := range opts {
		if o == nil {
			return because(ErrInvalid, "nil option", nil)
		}
		if err := o.apply(s, t); err != nil {
			return err
		}
	}
	return nil
}

// WithSources adds sources, asked in the order given. A Builder with no
// source writes a bundle with the Art. 15 information only. Repeated, it
// adds more. Names must be unique.
func WithSources(sources ...Source) Option {
	return option{"WithSources", forBuilder, func(b *settings) error {
		for _, s := range sources {
			if !datasetRE.MatchString(s.Name) {
				return because(ErrInvalid, "source name "+show(s.Name)+" is not a key of "+datasetPattern, nil)
			}
			if s.Exporter == nil {
				return because(ErrInvalid, "source "+show(s.Name)+" has a nil Exporter", nil)
			}
			for _, o := range b.sources {
				if o.Name == s.Name {
					return because(ErrInvalid, "source "+show(s.Name)+" given twice", nil)
				}
			}
			b.sources = append(b.sources, s)
		}
		return nil
	}}
}

// WithRegister sets the record of processing activities the Art. 15
// information is drawn from (purposes, categories, recipients, retention,
// sources, automated decisions, transfers), and the lawful basis that
// decides what a portability bundle holds. The Builder keeps r.Clone().
// Default: none — an access bundle then names only the rights, and a
// portability bundle holds no record, since no basis is known. nil is an
// error.
func WithRegister(r *gdpr.Register) Option {
	return option{"WithRegister", forBuilder, func(b *settings) error {
		if r == nil {
			return because(ErrInvalid, "nil register", nil)
		}
		if err := r.Validate(); err != nil {
			return because(ErrInvalid, "the register does not validate", err)
		}
		b.register = r.Clone()
		return nil
	}}
}

// WithDisclosures sets the host's record of the actual recipients of a
// subject's data, which an access bundle names (Art. 15(1)(c), CJEU
// C-154/21). Default: none. nil is an error.
func WithDisclosures(d gdpr.Disclosures) Option {
	return option{"WithDisclosures", forBuilder, func(b *settings) error {
		if d == nil {
			return because(ErrInvalid, "nil disclosures", nil)
		}
		b.disclosures = d
		return nil
	}}
}

// WithAuthority names the supervisory authority the subject may complain
// to (Art. 15(1)(f), Art. 77): its name and contact details. Default:
// none — the bundle states the right without naming an authority. A
// Party without a name is an error.
func WithAuthority(p gdpr.Party) Option {
	return option{"WithAuthority", forBuilder, func(b *settings) error {
		if p.Name == "" {
			return because(ErrInvalid, "an authority without a name", nil)
		}
		b.authority = &p
		return nil
	}}
}

// WithClock sets the clock that dates bundles (New), and deliveries and
// downloads (NewDeliverer); a Handler uses its Builder's and Deliverer's.
// Default: time.Now. nil is an error.
func WithClock(now func() time.Time) Option {
	return option{"WithClock", forBuilder | forDeliverer, func(b *settings) error {
		if now == nil {
			return because(ErrInvalid, "nil clock", nil)
		}
		b.now = now
		return nil
	}}
}

// WithRecorder sets where the Builder records each bundle it writes
// ("export.written", with the request, the kind and the record counts),
// and the Deliverer each delivery it makes, each download and each
// deletion ("export.delivered", "export.downloaded", "export.deleted");
// no personal data but the subject, which the Recorder pseudonymises.
// For New and NewDeliverer (a Handler records through its Builder and
// Deliverer). Default: gdpr.Discard. nil is an error.
func WithRecorder(r gdpr.Recorder) Option {
	return option{"WithRecorder", forBuilder | forDeliverer, func(b *settings) error {
		if r == nil {
			return because(ErrInvalid, "nil recorder", nil)
		}
		b.rec = r
		return nil
	}}
}

// WithCompression sets the deflate level of the archive's entries, from
// flate.NoCompression (0; entries are then stored) to
// flate.BestCompression (9), or flate.DefaultCompression (-1), the
// default; flate.HuffmanOnly is an error.
func WithCompression(level int) Option {
	return option{"WithCompression", forBuilder, func(b *settings) error {
		if level < flate.DefaultCompression || level > flate.BestCompression {
			return because(ErrInvalid, "a compression level outside -1..9", nil)
		}
		b.level = level
		return nil
	}}
}

// MinPartSize is the least part size WithPartSize accepts.
const MinPartSize = 1 << 20

// WithPartSize sets the size at which WriteParts starts a new part: once
// a part's archive reaches n bytes, the data file being written is closed
// at the next record boundary and continued, under the same path, in the
// next part. A part may therefore exceed n by one record, the
// compressor's buffer and the 64 KiB buffer before each data file; a new
// part also begins before a data file once n is reached. The last part also holds the information, the
// HTML page and the manifest. Default: 1 GiB. Under MinPartSize is an
// error. Write ignores it and writes a single archive.
func WithPartSize(n int64) Option {
	return option{"WithPartSize", forBuilder, func(b *settings) error {
		if n < MinPartSize {
			return because(ErrInvalid, "a part size under 1 MiB", nil)
		}
		b.partSize = n
		return nil
	}}
}

// WithHTMLRows sets how many records of each dataset index.html shows as
// table rows; the page says how many more the data files hold. Default:
// 1000. Under 1 is an error.
func WithHTMLRows(n int) Option {
	return option{"WithHTMLRows", forBuilder, func(b *settings) error {
		if n < 1 {
			return because(ErrInvalid, "fewer than one HTML row", nil)
		}
		b.htmlRows = n
		return nil
	}}
}

// WithSpoolDir sets the directory where a bundle's data is spooled while
// it is written, so that memory stays constant whatever the size: each
// dataset's files are written there first, encrypted under a key that
// lives only in memory for the bundle, and are unlinked as soon as they
// are created (on Unix; elsewhere when the bundle is done), so a crash
// leaves nothing readable behind. Default: os.TempDir(). The directory
// must exist.
func WithSpoolDir(dir string) Option {
	return option{"WithSpoolDir", forBuilder, func(b *settings) error {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return because(ErrInvalid, "the spool directory does not exist", nil)
		}
		b.spoolDir = dir
		return nil
	}}
}

// New returns a Builder that signs every manifest with signer, an Ed25519
// key: an ed25519.PrivateKey, or a crypto.Signer backed by a KMS or HSM
// whose Public() is an ed25519.PublicKey and which signs with
// crypto.Hash(0) (pure Ed25519, RFC 8032). The receiving side verifies
// the manifest with the public key (see Open).
func New(signer crypto.Signer, opts ...Option) (*Builder, error) {
	const op = "new"
	if signer == nil {
		return nil, &Error{Op: op, Field: "signer", Err: because(ErrInvalid, "nil signer", nil)}
	}
	pub, ok := signer.Public().(ed25519.PublicKey)
	if !ok || len(pub) != ed25519.PublicKeySize {
		return nil, &Error{Op: op, Field: "signer", Err: because(ErrInvalid, "the signer's public key is not an Ed25519 key", nil)}
	}
	b := &Builder{signer: signer, pub: pub, settings: settings{
		now: time.Now, rec: gdpr.Discard,
		level: flate.DefaultCompression, partSize: 1 << 30, htmlRows: 1000, spoolDir: os.TempDir(),
	}}
	if err := applyOptions(&b.settings, forBuilder, opts); err != nil {
		return nil, wrap(op, err)
	}
	return b, nil
}

// Format prints the Builder by the ID of its key, under every verb: it
// holds the signing key, which must never print.
func (b Builder) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, b.GoString())
		return
	}
	io.WriteString(f, "export.Builder{kid:"+KeyID(b.pub)+"}")
}

// GoString returns "&export.Builder{kid:…}".
func (b Builder) GoString() string { return "&export.Builder{kid:" + KeyID(b.pub) + "}" }

// PublicKey returns the key the Builder's manifests verify under.
func (b *Builder) PublicKey() ed25519.PublicKey { return append(ed25519.PublicKey(nil), b.pub...) }
