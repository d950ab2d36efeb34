package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/sqldialect"
)

// accounts is the app's own data: the subjects' accounts, the sign-in
// links waiting to be used, and the sign-in log. Every personal field is
// encrypted under the subject's key (package crypto); the e-mail address
// is found through a blind index. This is the pattern a host copies: the
// library keeps the keys, the host keeps its rows.
//
// It is a gdpr.Eraser, a gdpr.Exporter and an erasure.Rectifier: the
// kit runs it in every erasure, every bundle and every correction.
type accounts struct {
	db       *sql.DB
	d        sqldialect.Dialect
	keys     *crypto.Keyring
	emailIdx *crypto.BlindIndex
	// pending seals the address of a link not yet used (a sign-in, an
	// address change) under the app's own key: a link made for an
	// address with no account creates no subject key.
	pending *sealer
	prefix  string
	now     func() time.Time
}

var (
	nameField  = crypto.Field{Table: "accounts", Column: "name"}
	emailField = crypto.Field{Table: "accounts", Column: "email"}
)

// The kinds of link the app mails.
const (
	linkSignin = "signin" // signs the owner of the address in
	linkEmail  = "email"  // confirms a new address of the subject's
)

// signinTTL is how long a link works.
const signinTTL = 15 * time.Minute

// errNoAccount: no account of that subject, or it is erased.
var errNoAccount = errors.New("no such account")

// errBadLink: a sign-in link unknown, used or expired; it says no more.
var errBadLink = errors.New("the sign-in link is not valid")

func (a *accounts) table(name string) string { return a.prefix + name }

// q rewrites the ? placeholders of query for PostgreSQL.
func (a *accounts) q(query string) string {
	if a.d != sqldialect.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// migrate creates the app's tables. The retention sweeps need an index
// on (time, key) of the tables they sweep.
func (a *accounts) migrate(ctx context.Context) error {
	blob, key := "BLOB", "VARCHAR(128)"
	switch a.d {
	case sqldialect.Postgres:
		blob, key = "BYTEA", "VARCHAR(128)"
	case sqldialect.MySQL:
		blob, key = "VARBINARY(2048)", "VARCHAR(128)"
	}
	ddl := []string{
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (subject %s NOT NULL PRIMARY KEY, email_idx %s NOT NULL,
			email %s NOT NULL, name %s NULL, created_us BIGINT NOT NULL)`, a.table("accounts"), key, strings.Replace(blob, "2048", "64", 1), blob, blob),
		// A link not yet used: its token's hash, what it is for, the
		// subject it is for ("" for a sign-in: who it signs in is decided
		// when it is used), and the address, sealed with the app's key.
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (token_hash %s NOT NULL PRIMARY KEY, kind VARCHAR(16) NOT NULL, subject %s NOT NULL,
			email_idx %s NOT NULL, email %s NOT NULL, created_us BIGINT NOT NULL, expires_us BIGINT NOT NULL)`,
			a.table("links"), key, key, strings.Replace(blob, "2048", "64", 1), blob),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (id %s NOT NULL PRIMARY KEY, subject %s NULL, at_us BIGINT NULL, ip VARCHAR(64) NULL)`,
			a.table("signin_log"), key, key),
		// Sessions issued before after_us are void: sign-out, and a change
		// of address, end every session of the subject.
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (subject %s NOT NULL PRIMARY KEY, after_us BIGINT NOT NULL)`, a.table("revocations"), key),
	}
	// One account per address: the unique blind index makes two links of
	// one address, used at once, make one account, and refuses a
	// correction to an address another account has.
	ddl = append(ddl, createIndex(a.d, a.prefix+"dsar_ux0", a.table("accounts"), "email_idx", true))
	idx := [][2]string{{"links", "created_us, token_hash"}, {"links", "email_idx"}, {"links", "subject"}, {"signin_log", "at_us, id"}, {"signin_log", "subject"}}
	for i, ix := range idx {
		ddl = append(ddl, createIndex(a.d, fmt.Sprintf("%sdsar_lx%d", a.prefix, i), a.table(ix[0]), ix[1], false))
	}
	for _, q := range ddl {
		if _, err := a.db.ExecContext(ctx, q); err != nil {
			if a.d == sqldialect.MySQL && strings.Contains(err.Error(), "Duplicate key name") {
				continue // MySQL has no CREATE INDEX IF NOT EXISTS: made by an earlier start
			}
			return err
		}
	}
	return nil
}

// createIndex is the statement that makes an index, if need be.
func createIndex(d sqldialect.Dialect, name, table, cols string, unique bool) string {
	u := ""
	if unique {
		u = "UNIQUE "
	}
	if d == sqldialect.MySQL { // no IF NOT EXISTS: a second start's error is ignored
		return fmt.Sprintf("CREATE %sINDEX %s ON %s (%s)", u, name, table, cols)
	}
	return fmt.Sprintf("CREATE %sINDEX IF NOT EXISTS %s ON %s (%s)", u, name, table, cols)
}

// newSubject makes a fresh subject ID: random, so it says nothing about
// the person.
func newSubject() gdpr.SubjectID {
	b := make([]byte, 12)
	rand.Read(b)
	return gdpr.SubjectID("u-" + hex.EncodeToString(b))
}

// lookup finds the account of an e-mail address (one of parseEmail's)
// through the blind index, unique in the table. It returns "" when there
// is none. It decrypts nothing: a lookup costs the same whether or not
// the address has an account, and leaves no entry in anyone's audit
// trail.
func (a *accounts) lookup(ctx context.Context, email string) (gdpr.SubjectID, error) {
	var s string
	err := a.db.QueryRowContext(ctx, a.q("SELECT subject FROM "+a.table("accounts")+" WHERE email_idx = ?"), a.emailIdx.Sum(email)).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return gdpr.SubjectID(s), err
}

// linkAD binds a link's sealed address to the link.
func linkAD(hash, kind, subject string) []byte {
	return []byte(hash + "\x00" + kind + "\x00" + subject)
}

// startLink records a link of kind for the address (one of parseEmail's)
// and returns its token. A sign-in link is for whoever owns the address,
// decided when it is used; an address-change link is for subject. The
// work is the same whether or not the address has an account: no lookup,
// no key, the address sealed under the app's key until the link is used
// or swept.
func (a *accounts) startLink(ctx context.Context, kind string, subject gdpr.SubjectID, email string) (token string, err error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token = base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	now := a.now()
	_, err = a.db.ExecContext(ctx, a.q("INSERT INTO "+a.table("links")+" (token_hash, kind, subject, email_idx, email, created_us, expires_us) VALUES (?, ?, ?, ?, ?, ?, ?)"),
		hash, kind, string(subject), a.emailIdx.Sum(email), a.pending.sealBytes([]byte(email), linkAD(hash, kind, string(subject))),
		now.UnixMicro(), now.Add(signinTTL).UnixMicro())
	return token, err
}

// link is a link not yet used.
type link struct {
	hash, kind string
	subject    gdpr.SubjectID
	email      string
	expires    int64
}

// readLink finds the link of token, of kind, and opens its address. An
// unknown, malformed or expired token is errBadLink.
func (a *accounts) readLink(ctx context.Context, token, kind string) (link, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return link{}, errBadLink
	}
	sum := sha256.Sum256(raw)
	l := link{hash: hex.EncodeToString(sum[:])}
	var subject string
	var sealed []byte
	err = a.db.QueryRowContext(ctx, a.q("SELECT kind, subject, email, expires_us FROM "+a.table("links")+" WHERE token_hash = ?"), l.hash).
		Scan(&l.kind, &subject, &sealed, &l.expires)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (l.kind != kind || a.now().UnixMicro() >= l.expires)) {
		return link{}, errBadLink
	}
	if err != nil {
		return link{}, err
	}
	email, err := a.pending.openBytes(sealed, linkAD(l.hash, l.kind, subject))
	if err != nil {
		return link{}, errBadLink
	}
	l.subject, l.email = gdpr.SubjectID(subject), string(email)
	return l, nil
}

// maskEmail shows enough of an address for its owner to recognise it:
// "a•••@example.org".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "•••"
	}
	return local[:1] + "•••@" + domain
}

// finishSignin spends a sign-in link: exactly one caller gets the
// subject of the address's account, made on first use, and the sign-in
// is logged.
func (a *accounts) finishSignin(ctx context.Context, token, ipPrefix string) (gdpr.SubjectID, error) {
	for attempt := 0; ; attempt++ {
		s, retry, err := a.trySignin(ctx, token, ipPrefix)
		if !retry || attempt > 0 {
			return s, err
		}
	}
}

// trySignin is one attempt of finishSignin. It asks for a retry when the
// account it would make was made meanwhile, by another link of the same
// address.
func (a *accounts) trySignin(ctx context.Context, token, ipPrefix string) (_ gdpr.SubjectID, retry bool, err error) {
	l, err := a.readLink(ctx, token, linkSignin)
	if err != nil {
		return "", false, err
	}
	// The keyring works on the pool, not in the transaction below: its
	// work is done first, so a transaction never waits for another
	// connection (one SQLite writer at a time).
	s, err := a.lookup(ctx, l.email)
	if err != nil {
		return "", false, err
	}
	var ect []byte
	made := s == ""
	if made {
		s = newSubject()
		if ect, err = a.keys.Encrypt(ctx, s, emailField, []byte(l.email)); err != nil {
			return "", false, err
		}
		// A new subject's key goes again unless its account is made.
		committed := false
		defer func() {
			if !committed {
				_ = a.keys.Shred(context.WithoutCancel(ctx), s)
			}
		}()
		defer func() { committed = err == nil && !retry }()
	} else if err := a.sameAddress(ctx, s, l.email); err != nil {
		return "", false, err
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return "", false, err
	}
	defer tx.Rollback()
	// The DELETE decides who spends the link: of two racing callers one
	// deletes the row, the other nothing.
	res, err := tx.ExecContext(ctx, a.q("DELETE FROM "+a.table("links")+" WHERE token_hash = ?"), l.hash)
	if err != nil {
		return "", false, err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", false, errBadLink
	}
	now := a.now()
	if made {
		if _, err := tx.ExecContext(ctx, a.q("INSERT INTO "+a.table("accounts")+" (subject, email_idx, email, created_us) VALUES (?, ?, ?, ?)"),
			string(s), a.emailIdx.Sum(l.email), ect, now.UnixMicro()); err != nil {
			// Most likely another link of the address made its account
			// first (the unique index): the new subject's key goes (see
			// above), and the next attempt signs in to that account.
			return "", true, err
		}
	}
	id := make([]byte, 16)
	rand.Read(id)
	if _, err := tx.ExecContext(ctx, a.q("INSERT INTO "+a.table("signin_log")+" (id, subject, at_us, ip) VALUES (?, ?, ?, ?)"),
		hex.EncodeToString(id), string(s), now.UnixMicro(), ipPrefix); err != nil {
		return "", false, err
	}
	return s, false, tx.Commit()
}

// sameAddress checks that the account's address is email: the blind
// index is a truncated MAC, and two addresses may share one value. The
// read is the account's own processing, which the subject asks for.
func (a *accounts) sameAddress(ctx context.Context, s gdpr.SubjectID, email string) error {
	var ct []byte
	if err := a.db.QueryRowContext(ctx, a.q("SELECT email FROM "+a.table("accounts")+" WHERE subject = ?"), string(s)).Scan(&ct); err != nil {
		return err
	}
	got, err := a.keys.Decrypt(gdpr.WithPurpose(gdpr.WithAllowance(ctx, gdpr.AllowConsent), "account"), s, emailField, ct)
	if err != nil {
		return errBadLink // erased since the link was sent
	}
	if subtle.ConstantTimeCompare(got, []byte(email)) != 1 {
		return errBadLink // a blind-index collision: another address's account
	}
	return nil
}

// revoke voids every session of the subject issued until now.
func (a *accounts) revoke(ctx context.Context, s gdpr.SubjectID) error {
	now := a.now().UnixMicro()
	res, err := a.db.ExecContext(ctx, a.q("UPDATE "+a.table("revocations")+" SET after_us = ? WHERE subject = ?"), now, string(s))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	_, err = a.db.ExecContext(ctx, a.q("INSERT INTO "+a.table("revocations")+" (subject, after_us) VALUES (?, ?)"), string(s), now)
	if err != nil {
		// Another instance inserted it first: set it again.
		_, err = a.db.ExecContext(ctx, a.q("UPDATE "+a.table("revocations")+" SET after_us = ? WHERE subject = ?"), now, string(s))
	}
	return err
}

// startEmailChange mails a confirmation link to the subject's new
// address; the correction is filed only once its owner uses it. To an
// address that has an account already, it mails that it is taken
// instead: the page says the same either way, so no one learns another's
// address is a user's.
func (a *accounts) startEmailChange(ctx context.Context, s gdpr.SubjectID, email string) (token string, taken bool, err error) {
	owner, err := a.lookup(ctx, email)
	if err != nil || owner != "" {
		return "", owner != "", err
	}
	token, err = a.startLink(ctx, linkEmail, s, email)
	return token, false, err
}

// finishEmailChange spends an address-change link of subject s and
// returns the confirmed address. A link of another subject's is
// errBadLink: the link proves the address, the session the account.
func (a *accounts) finishEmailChange(ctx context.Context, token string, s gdpr.SubjectID) (string, error) {
	l, err := a.readLink(ctx, token, linkEmail)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(l.subject), []byte(s)) != 1 {
		return "", errBadLink
	}
	res, err := a.db.ExecContext(ctx, a.q("DELETE FROM "+a.table("links")+" WHERE token_hash = ?"), l.hash)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", errBadLink
	}
	return l.email, nil
}

// profile is what the account page shows the subject.
type profile struct {
	Email, Name string
	Created     time.Time
}

// get reads and decrypts the subject's account. The subject's own view
// runs with gdpr.AllowConsent: the subject asks to see their own data,
// which a restriction does not forbid (Art. 18(2), Art. 15). It is
// processing for the account (unless the caller names another purpose):
// with no purpose, an objection to any other one, analytics say, would
// refuse it too, and the objection's own notice could never be sent.
func (a *accounts) get(ctx context.Context, s gdpr.SubjectID) (profile, error) {
	return a.read(gdpr.WithAllowance(ctx, gdpr.AllowConsent), s)
}

// read is get with the caller's own allowance (none: the processing
// stops where a restriction or an objection covers it).
func (a *accounts) read(ctx context.Context, s gdpr.SubjectID) (profile, error) {
	var ect, nct []byte
	var created int64
	err := a.db.QueryRowContext(ctx, a.q("SELECT email, name, created_us FROM "+a.table("accounts")+" WHERE subject = ?"), string(s)).
		Scan(&ect, &nct, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return profile{}, errNoAccount
	}
	if err != nil {
		return profile{}, err
	}
	if _, ok := gdpr.PurposeFrom(ctx); !ok {
		ctx = gdpr.WithPurpose(ctx, "account")
	}
	email, err := a.keys.Decrypt(ctx, s, emailField, ect)
	if err != nil {
		return profile{}, err
	}
	p := profile{Email: string(email), Created: time.UnixMicro(created)}
	if nct != nil {
		name, err := a.keys.Decrypt(ctx, s, nameField, nct)
		if err != nil {
			return profile{}, err
		}
		p.Name = string(name)
	}
	return p, nil
}

// valid reports whether a session of the subject issued at issued still
// signs them in: their account exists (a session of an erased subject is
// no session) and no sign-out or address change came since.
func (a *accounts) valid(ctx context.Context, s gdpr.SubjectID, issued time.Time) (bool, error) {
	var after sql.NullInt64
	err := a.db.QueryRowContext(ctx, a.q("SELECT r.after_us FROM "+a.table("accounts")+" a LEFT JOIN "+a.table("revocations")+
		" r ON r.subject = a.subject WHERE a.subject = ?"), string(s)).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil && (!after.Valid || issued.UnixMicro() >= after.Int64), err
}

// ExportSubject writes the subject's account and sign-ins (gdpr.Exporter).
func (a *accounts) ExportSubject(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
	p, err := a.get(ctx, s)
	if errors.Is(err, errNoAccount) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := w.WriteRecord(ctx, gdpr.Record{Dataset: "accounts", ID: "account", Category: "contact", Activity: "account", Provided: true,
		Fields: map[string]any{"email": p.Email, "name": p.Name, "created": p.Created.UTC().Format(time.RFC3339)}}); err != nil {
		return err
	}
	rows, err := a.db.QueryContext(ctx, a.q("SELECT id, at_us, ip FROM "+a.table("signin_log")+" WHERE subject = ? ORDER BY at_us"), string(s))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, ip string
		var at int64
		if err := rows.Scan(&id, &at, &ip); err != nil {
			return err
		}
		if err := w.WriteRecord(ctx, gdpr.Record{Dataset: "signins", ID: id, Category: "logins", Activity: "security",
			Fields: map[string]any{"at": time.UnixMicro(at).UTC().Format(time.RFC3339), "network": ip}}); err != nil {
			return err
		}
	}
	return rows.Err()
}

// EraseSubject deletes the subject's account, blind index and all, the
// links pending for them or their address, their sign-in log and their
// session revocation (gdpr.Eraser): the blind index and the pending
// addresses are not under the subject's key, so shredding alone would
// leave them to confirm the address was a user's. It is idempotent.
func (a *accounts) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	var total int64
	count := func(res sql.Result, err error) error {
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		total += n
		return err
	}
	// The links pending for the account's address (a sign-in link names
	// no subject), then every row of the subject's.
	var idx []byte
	err := a.db.QueryRowContext(ctx, a.q("SELECT email_idx FROM "+a.table("accounts")+" WHERE subject = ?"), string(s)).Scan(&idx)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return gdpr.ErasureReport{}, err
	}
	if idx != nil {
		if err := count(a.db.ExecContext(ctx, a.q("DELETE FROM "+a.table("links")+" WHERE email_idx = ?"), idx)); err != nil {
			return gdpr.ErasureReport{}, err
		}
	}
	for _, t := range []string{"links", "signin_log", "revocations", "accounts"} {
		if err := count(a.db.ExecContext(ctx, a.q("DELETE FROM "+a.table(t)+" WHERE subject = ?"), string(s))); err != nil {
			return gdpr.ErasureReport{}, err
		}
	}
	return gdpr.ErasureReport{Erased: total}, nil
}

// rectifier corrects the subject's name or e-mail address (Art. 16). It
// is idempotent: the engine may call it again after a crash.
func (a *accounts) rectifier() erasure.Rectifier {
	return erasure.Rectifier{Name: "account", Fields: []string{"name", "email"},
		Rectify: func(ctx context.Context, s gdpr.SubjectID, c erasure.Correction) error {
			if c.Supplement {
				return nil // the engine keeps the statement; the row is unchanged
			}
			switch c.Field {
			case "name":
				ct, err := a.keys.Encrypt(ctx, s, nameField, []byte(c.Value))
				if err != nil {
					return err
				}
				_, err = a.db.ExecContext(ctx, a.q("UPDATE "+a.table("accounts")+" SET name = ? WHERE subject = ?"), ct, string(s))
				return err
			case "email":
				ct, err := a.keys.Encrypt(ctx, s, emailField, []byte(c.Value))
				if err != nil {
					return err
				}
				_, err = a.db.ExecContext(ctx, a.q("UPDATE "+a.table("accounts")+" SET email = ?, email_idx = ? WHERE subject = ?"),
					ct, a.emailIdx.Sum(c.Value), string(s))
				return err
			}
			return fmt.Errorf("field %s cannot be corrected here", c.Field)
		}}
}
