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
	prefix   string
	now      func() time.Time
}

var (
	nameField  = crypto.Field{Table: "accounts", Column: "name"}
	emailField = crypto.Field{Table: "accounts", Column: "email"}
	linkField  = crypto.Field{Table: "signins", Column: "email"}
)

// signinTTL is how long a sign-in link works.
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
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (token_hash %s NOT NULL PRIMARY KEY, subject %s NOT NULL,
			email_idx %s NOT NULL, email %s NOT NULL, created_us BIGINT NOT NULL, expires_us BIGINT NOT NULL)`,
			a.table("signins"), key, key, strings.Replace(blob, "2048", "64", 1), blob),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (id %s NOT NULL PRIMARY KEY, subject %s NULL, at_us BIGINT NULL, ip VARCHAR(64) NULL)`,
			a.table("signin_log"), key, key),
	}
	idx := [][2]string{{"accounts", "email_idx"}, {"signins", "created_us, token_hash"}, {"signin_log", "at_us, id"}, {"signin_log", "subject"}}
	for i, ix := range idx {
		name := fmt.Sprintf("%sdsar_ix%d", a.prefix, i)
		if a.d == sqldialect.MySQL {
			ddl = append(ddl, fmt.Sprintf("CREATE INDEX %s ON %s (%s)", name, a.table(ix[0]), ix[1]))
		} else {
			ddl = append(ddl, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", name, a.table(ix[0]), ix[1]))
		}
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

// newSubject makes a fresh subject ID: random, so it says nothing about
// the person.
func newSubject() gdpr.SubjectID {
	b := make([]byte, 12)
	rand.Read(b)
	return gdpr.SubjectID("u-" + hex.EncodeToString(b))
}

// lookup finds the account of an e-mail address through the blind index,
// checking the decrypted address (a blind index may collide). It returns
// "" when there is none.
func (a *accounts) lookup(ctx context.Context, email string) (gdpr.SubjectID, error) {
	rows, err := a.db.QueryContext(ctx, a.q("SELECT subject, email FROM "+a.table("accounts")+" WHERE email_idx = ?"), a.emailIdx.Sum(email))
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var ct []byte
		if err := rows.Scan(&s, &ct); err != nil {
			return "", err
		}
		e, err := a.keys.Decrypt(gdpr.WithAllowance(ctx, gdpr.AllowStorage), gdpr.SubjectID(s), emailField, ct)
		if err != nil {
			continue // shredded, or another's
		}
		if subtle.ConstantTimeCompare([]byte(crypto.NormalizeDefault(string(e))), []byte(crypto.NormalizeDefault(email))) == 1 {
			return gdpr.SubjectID(s), rows.Err()
		}
	}
	return "", rows.Err()
}

// startSignin records a sign-in link for the address and returns its
// token: the subject of the account of that address, or a new one, which
// becomes an account only once the link is used. The address is kept
// encrypted under the subject's key until then.
func (a *accounts) startSignin(ctx context.Context, email string) (token string, err error) {
	subject, err := a.lookup(ctx, email)
	if err != nil {
		return "", err
	}
	if subject == "" {
		subject = newSubject()
	}
	ct, err := a.keys.Encrypt(ctx, subject, linkField, []byte(email))
	if err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token = base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256(raw)
	now := a.now()
	_, err = a.db.ExecContext(ctx, a.q("INSERT INTO "+a.table("signins")+" (token_hash, subject, email_idx, email, created_us, expires_us) VALUES (?, ?, ?, ?, ?, ?)"),
		hex.EncodeToString(sum[:]), string(subject), a.emailIdx.Sum(email), ct, now.UnixMicro(), now.Add(signinTTL).UnixMicro())
	return token, err
}

// finishSignin spends a sign-in link: exactly one caller gets its
// subject, whose account it makes on first use, and logs the sign-in.
func (a *accounts) finishSignin(ctx context.Context, token, ipPrefix string) (gdpr.SubjectID, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != 32 {
		return "", errBadLink
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	var subject string
	var idx, ct []byte
	var expires int64
	err = a.db.QueryRowContext(ctx, a.q("SELECT subject, email_idx, email, expires_us FROM "+a.table("signins")+" WHERE token_hash = ?"), hash).
		Scan(&subject, &idx, &ct, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errBadLink
	}
	if err != nil {
		return "", err
	}
	s := gdpr.SubjectID(subject)
	// The keyring works on the pool, not in the transaction below: its
	// work is done first, so a transaction never waits for another
	// connection (one SQLite writer at a time).
	email, err := a.keys.Decrypt(gdpr.WithAllowance(ctx, gdpr.AllowStorage), s, linkField, ct)
	if err != nil {
		return "", errBadLink // the subject was erased since the link was sent
	}
	ect, err := a.keys.Encrypt(ctx, s, emailField, email)
	if err != nil {
		return "", err
	}
	tx, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	// The DELETE decides who spends the link: of two racing callers one
	// deletes the row, the other nothing.
	res, err := tx.ExecContext(ctx, a.q("DELETE FROM "+a.table("signins")+" WHERE token_hash = ?"), hash)
	if err != nil {
		return "", err
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return "", errBadLink
	}
	now := a.now()
	if now.UnixMicro() >= expires {
		if err := tx.Commit(); err != nil { // the expired link goes all the same
			return "", err
		}
		return "", errBadLink
	}
	var exists int
	if err := tx.QueryRowContext(ctx, a.q("SELECT COUNT(*) FROM "+a.table("accounts")+" WHERE subject = ?"), subject).Scan(&exists); err != nil {
		return "", err
	}
	if exists == 0 {
		if _, err := tx.ExecContext(ctx, a.q("INSERT INTO "+a.table("accounts")+" (subject, email_idx, email, created_us) VALUES (?, ?, ?, ?)"),
			subject, idx, ect, now.UnixMicro()); err != nil {
			return "", err
		}
	}
	id := make([]byte, 16)
	rand.Read(id)
	if _, err := tx.ExecContext(ctx, a.q("INSERT INTO "+a.table("signin_log")+" (id, subject, at_us, ip) VALUES (?, ?, ?, ?)"),
		hex.EncodeToString(id), subject, now.UnixMicro(), ipPrefix); err != nil {
		return "", err
	}
	return s, tx.Commit()
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
	ctx = gdpr.WithAllowance(ctx, gdpr.AllowConsent)
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

// exists reports whether the subject has an account: a session of an
// erased subject is no session.
func (a *accounts) exists(ctx context.Context, s gdpr.SubjectID) (bool, error) {
	var n int
	err := a.db.QueryRowContext(ctx, a.q("SELECT COUNT(*) FROM "+a.table("accounts")+" WHERE subject = ?"), string(s)).Scan(&n)
	return n > 0, err
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

// EraseSubject deletes the subject's account, blind index and all, their
// pending sign-in links and their sign-in log (gdpr.Eraser): the blind
// index is not under the subject's key, so shredding alone would leave it
// to confirm the address was a user's.
func (a *accounts) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	var total int64
	for _, t := range []string{"accounts", "signins", "signin_log"} {
		res, err := a.db.ExecContext(ctx, a.q("DELETE FROM "+a.table(t)+" WHERE subject = ?"), string(s))
		if err != nil {
			return gdpr.ErasureReport{}, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return gdpr.ErasureReport{}, err
		}
		total += n
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
