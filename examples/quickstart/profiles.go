package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/crypto"
	"github.com/gdprkit/gdpr/crypto/sqlkeys"
	"github.com/gdprkit/gdpr/sqldialect"
)

// profiles is the host's own table of user profiles, with every personal
// field encrypted under the subject's key and the e-mail address findable
// through a blind index. This is the pattern to copy: the module keeps the
// keys; the host keeps its rows.
type profiles struct {
	db            *sql.DB
	keys          *crypto.Keyring
	emailIdx      *crypto.BlindIndex
	table         string
	insert, byIdx string
	bySubject     string
	erase         string
	nameF, emailF crypto.Field
}

// openProfiles sets up the key store, the Keyring and the host's table.
func openProfiles(ctx context.Context, db *sql.DB, d sqldialect.Dialect, prefix string, kek crypto.KEK, trail gdpr.Recorder, guard crypto.Guard) (*crypto.Keyring, *profiles, error) {
	ks, err := sqlkeys.New(db, d, sqlkeys.WithTablePrefix(prefix))
	if err != nil {
		return nil, nil, err
	}
	if err := ks.Migrate(ctx); err != nil {
		return nil, nil, err
	}
	// In production the KEK is a KMS key (see crypto.KEK); here it is the
	// development key set's.
	// Every key event and every decryption goes to the audit trail.
	//
	// The cache of unwrapped keys (default: 10,000 for 5 minutes) is how
	// long another instance may still decrypt a subject's data after their
	// key is shredded: the keyring reports it as its erasure latency, and
	// the request engine completes an erasure only once it has passed. The
	// quickstart keeps it to a second, so that its erasure completes a
	// second after the last step; in production choose the longest window
	// you accept, against the KMS calls the cache saves (one per subject
	// per TTL).
	//
	// The guard asks the request engine, before every decryption, whether
	// the subject's data may be processed (Art. 18, Art. 21).
	keys, err := crypto.New(ctx, ks, kek, crypto.WithCache(10_000, time.Second),
		crypto.WithRecorder(trail), crypto.WithDecryptAudit(), crypto.WithGuard(guard))
	if errors.Is(err, crypto.ErrDecrypt) {
		return nil, nil, fmt.Errorf("the key store under prefix %q was made with another KEK (another -state): use that state directory, or a fresh database", prefix)
	}
	if err != nil {
		return nil, nil, err
	}
	p := &profiles{db: db, keys: keys, table: prefix + "profiles",
		nameF: crypto.Field{Table: "profiles", Column: "name"}, emailF: crypto.Field{Table: "profiles", Column: "email"}}
	if p.emailIdx, err = keys.BlindIndex(p.emailF); err != nil {
		return nil, nil, err
	}
	blob, key := "BLOB", "VARCHAR(255)"
	switch d {
	case sqldialect.Postgres:
		blob, key = "BYTEA", "TEXT"
	case sqldialect.MySQL:
		blob, key = "VARBINARY(1024)", "VARBINARY(255)"
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
		subject %s PRIMARY KEY, email_idx %s NOT NULL, email %s NOT NULL, name %s NOT NULL)`,
		p.table, key, blob, blob, blob)); err != nil {
		return nil, nil, err
	}
	ph := func(n int) string {
		if d == sqldialect.Postgres {
			return fmt.Sprintf("$%d", n)
		}
		return "?"
	}
	p.insert = fmt.Sprintf("INSERT INTO %s (subject, email_idx, email, name) VALUES (%s, %s, %s, %s)", p.table, ph(1), ph(2), ph(3), ph(4))
	p.byIdx = fmt.Sprintf("SELECT subject, email, name FROM %s WHERE email_idx = %s", p.table, ph(1))
	p.bySubject = fmt.Sprintf("SELECT email, name FROM %s WHERE subject = %s", p.table, ph(1))
	p.erase = fmt.Sprintf("DELETE FROM %s WHERE subject = %s", p.table, ph(1))
	return keys, p, nil
}

func (p *profiles) save(ctx context.Context, s gdpr.SubjectID, name, email string) error {
	n, err := p.keys.Encrypt(ctx, s, p.nameF, []byte(name))
	if err != nil {
		return err
	}
	e, err := p.keys.Encrypt(ctx, s, p.emailF, []byte(email))
	if err != nil {
		return err
	}
	_, err = p.db.ExecContext(ctx, p.insert, string(s), p.emailIdx.Sum(email), e, n)
	return err
}

// findByEmail looks a profile up by e-mail address through the blind index,
// and checks the decrypted address (a truncated index may collide).
func (p *profiles) findByEmail(ctx context.Context, email string) (gdpr.SubjectID, string, error) {
	rows, err := p.db.QueryContext(ctx, p.byIdx, p.emailIdx.Sum(email))
	if err != nil {
		return "", "", err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var ec, nc []byte
		if err := rows.Scan(&s, &ec, &nc); err != nil {
			return "", "", err
		}
		e, err := p.keys.Decrypt(ctx, gdpr.SubjectID(s), p.emailF, ec)
		if err != nil || crypto.NormalizeDefault(string(e)) != crypto.NormalizeDefault(email) {
			continue
		}
		n, err := p.keys.Decrypt(ctx, gdpr.SubjectID(s), p.nameF, nc)
		if err != nil {
			return "", "", err
		}
		return gdpr.SubjectID(s), string(n), rows.Err()
	}
	return "", "", fmt.Errorf("no profile with that e-mail address")
}

// name reads and decrypts the subject's name, as a support tool would.
func (p *profiles) name(ctx context.Context, s gdpr.SubjectID) (string, error) {
	r, err := p.backup(ctx, s)
	if err != nil {
		return "", err
	}
	n, err := p.keys.Decrypt(ctx, s, p.nameF, r.name)
	return string(n), err
}

// row is a profile as stored: what a backup of the table holds.
type row struct{ email, name []byte }

func (p *profiles) backup(ctx context.Context, s gdpr.SubjectID) (row, error) {
	var r row
	err := p.db.QueryRowContext(ctx, p.bySubject, string(s)).Scan(&r.email, &r.name)
	return r, err
}

// restore decrypts a row as a backup gave it back.
func (p *profiles) restore(ctx context.Context, s gdpr.SubjectID, r row) (email, name string, err error) {
	e, err := p.keys.Decrypt(ctx, s, p.emailF, r.email)
	if err != nil {
		return "", "", err
	}
	n, err := p.keys.Decrypt(ctx, s, p.nameF, r.name)
	return string(e), string(n), err
}

// ExportSubject writes the subject's profile, decrypted, for their
// access and portability bundles (gdpr.Exporter): the name and the
// e-mail address they gave at sign-up, under the account activity.
func (p *profiles) ExportSubject(ctx context.Context, s gdpr.SubjectID, w gdpr.RecordWriter) error {
	r, err := p.backup(ctx, s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // no profile: no record
	}
	if err != nil {
		return err
	}
	email, name, err := p.restore(ctx, s, r)
	if err != nil {
		return err
	}
	return w.WriteRecord(ctx, gdpr.Record{Dataset: "profiles", ID: "profile", Category: "contact", Activity: "account",
		Provided: true, Fields: map[string]any{"name": name, "email": email}})
}

// EraseSubject deletes the subject's row, blind index and all: the index
// is not under the subject's key, so shredding alone would leave it to
// confirm the address was a user's (gdpr.Eraser).
func (p *profiles) EraseSubject(ctx context.Context, s gdpr.SubjectID) (gdpr.ErasureReport, error) {
	res, err := p.db.ExecContext(ctx, p.erase, string(s))
	if err != nil {
		return gdpr.ErasureReport{}, err
	}
	n, err := res.RowsAffected()
	return gdpr.ErasureReport{Erased: n}, err
}
