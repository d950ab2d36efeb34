package sqlretention_test

// API review of sqlretention.Deleter, without a database: what NewDeleter
// and NewSweeper decide before any statement runs.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"testing"

	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

type apiNoDB struct{}

var errAPINoDB = errors.New("api review: no database")

func (apiNoDB) Connect(context.Context) (driver.Conn, error) { return nil, errAPINoDB }
func (apiNoDB) Driver() driver.Driver                        { return apiNoDriver{} }

type apiNoDriver struct{}

func (apiNoDriver) Open(string) (driver.Conn, error) { return nil, errAPINoDB }

func apiDB(t *testing.T) *sql.DB {
	db := sql.OpenDB(apiNoDB{})
	t.Cleanup(func() { db.Close() })
	return db
}

// The commonest table a retention policy names is the accounts table,
// whose primary key is the subject's ID: accounts(id, last_login_at),
// deleted two years after the last login. NewDeleter refuses it ("key,
// subject and time must be three different columns"), although for
// Delete (and Review) nothing needs the two to differ; only an Anonymise
// strategy, which sets Subject NULL, cannot work on the key.
func TestAPIReviewDeleterOfAnAccountsTable(t *testing.T) {
	_, err := sqlretention.NewDeleter(apiDB(t), sqldialect.Postgres, sqlretention.Table{
		Name: "accounts", Key: "id", Subject: "id", Time: "last_login_at", From: retention.FromLastActivity,
	})
	if err != nil {
		t.Errorf("NewDeleter of a table keyed by the subject ID, with no anonymisation strategy: %v; want a Deleter (Delete and Review need no separate key)", err)
	}
}
