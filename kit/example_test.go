package kit_test

import (
	"context"
	"database/sql"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/erasure"
	"github.com/gdprkit/gdpr/export"
	"github.com/gdprkit/gdpr/kit"
	"github.com/gdprkit/gdpr/sqldialect"
)

// A host opens the kit at start-up on its database, starts the
// background work on every instance, and uses the parts. This example is
// compiled, not run: it needs a database; the module
// github.com/gdprkit/gdpr/integration runs the kit on all three.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.Open("register.json") // the controller's Art. 30 register
	if err != nil {
		log.Fatal(err)
	}
	reg, err := gdpr.ParseRegister(f)
	if err != nil {
		log.Fatal(err)
	}
	var keys kit.Keys // from the KMS and the secret store
	blobs, err := export.DirBlobs("/var/lib/app/exports")
	if err != nil {
		log.Fatal(err)
	}
	sendLinks := func(ctx context.Context, r gdpr.Request, d export.Delivery, tokens []export.Token) error {
		return nil // e-mail the subject their download links
	}
	k, err := kit.Open(ctx, db, sqldialect.Postgres, reg, keys,
		kit.WithAnchor(&audit.FileAnchor{Dir: "/var/lib/app/anchor"}),
		kit.WithExports(blobs, sendLinks))
	if err != nil {
		log.Fatal(err)
	}
	defer k.Close(context.Background())
	go k.Run(ctx)

	// The subject, signed in, asks for erasure.
	_, _, err = k.Engine().Submit(gdpr.WithActor(ctx, gdpr.SubjectActor()),
		erasure.Submission{Kind: gdpr.KindErasure, Subject: "user-1", Channel: "web", Authenticated: true})
	if err != nil {
		log.Fatal(err)
	}
}
