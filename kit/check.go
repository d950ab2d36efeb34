package kit

import (
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/consent"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/internal/errs"
	"github.com/gdprkit/gdpr/internal/sqlbase"
	"github.com/gdprkit/gdpr/sqldialect"
)

// check refuses, before anything touches the database, what the parts
// would refuse only after the migrations had run: the dialect and the
// table prefix, the Register, every key, and the names of the host's
// targets and sources. A refused Open creates no table.
func check(db *sql.DB, d sqldialect.Dialect, reg *gdpr.Register, keys Keys, s *settings) error {
	if _, err := sqlbase.New(db, d, sqlbase.Schema{}, sqlbase.WithTablePrefix(s.prefix)); err != nil {
		var ie *sqlbase.InvalidError
		if errors.As(err, &ie) && ie.Field == "dialect" {
			return invalid("d", "not one of sqldialect.Postgres, MySQL, SQLite")
		}
		return invalid("WithTablePrefix", "table prefix must match ^[a-z_][a-z0-9_]{0,39}$")
	}
	if err := reg.Validate(); err != nil {
		return &Error{Op: "open", Field: "reg", Err: errs.Because(ErrInvalid, "the Register is not valid", err)}
	}
	switch {
	case keys.KEK.ID == "":
		return invalid("Keys.KEK", "no KEK (a crypto.KEK from the KMS)")
	case keys.AuditSigner == nil:
		return invalid("Keys.AuditSigner", "no audit checkpoint signer")
	case keys.AuditVerifier == nil:
		return invalid("Keys.AuditVerifier", "no audit checkpoint verifier")
	case len(keys.PseudonymKey) < audit.MinKeySize:
		return invalid("Keys.PseudonymKey", fmt.Sprintf("the pseudonym key needs at least %d bytes", audit.MinKeySize))
	case len(keys.SubjectKey) < erasure.MinSubjectKeyLen:
		return invalid("Keys.SubjectKey", fmt.Sprintf("the subject key needs at least %d bytes", erasure.MinSubjectKeyLen))
	case len(keys.ReceiptKey) != ed25519.PrivateKeySize:
		return invalid("Keys.ReceiptKey", "not an Ed25519 private key")
	}
	if _, err := consent.NewUnsubscriber(keys.UnsubscribeSecrets...); err != nil {
		return &Error{Op: "open", Field: "Keys.UnsubscribeSecrets", Err: errs.Because(ErrInvalid, "the unsubscribe secrets", err)}
	}
	if err := uniqueNames("WithTargets", names(s.targets, func(t erasure.Target) string { return t.Name }), "deliveries", "consent", "keys", "audit"); err != nil {
		return err
	}
	return uniqueNames("WithSources", names(s.sources, func(src export.Source) string { return src.Name }), "consent", "keys", "audit", "requests")
}

// uniqueNames refuses a name given twice, or one of the kit's own.
func uniqueNames(option string, got []string, own ...string) error {
	seen := map[string]bool{}
	for _, n := range own {
		seen[n] = true
	}
	for _, n := range got {
		if seen[n] {
			return invalid(option, fmt.Sprintf("the name %s is taken (the kit's own are %v)", errs.Show(n), own))
		}
		seen[n] = true
	}
	return nil
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}
