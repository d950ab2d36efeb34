package sqlretention_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/sqlretention"
	"github.com/gdprkit/gdpr/sqldialect"
)

// The Deleter of a host's own table: orders kept ten years for the tax
// office, then anonymised, their customer unlinked; login records kept
// 90 days, then deleted. The host creates the index on (time, key)
// with its own schema. This example is compiled, not run: it needs a
// database; the module github.com/gdprkit/gdpr/integration runs the
// Deleter on all three.
func ExampleNewDeleter() {
	ctx := context.Background()
	// import _ "github.com/jackc/pgx/v5/stdlib"
	db, err := sql.Open("pgx", "postgres://app@db.internal:5432/app")
	if err != nil {
		log.Fatal(err)
	}
	// The host's schema, with the index a Deleter reads:
	//
	//	CREATE TABLE orders (id BIGINT PRIMARY KEY, customer_id TEXT NULL,
	//	  placed_at TIMESTAMPTZ NOT NULL, email TEXT, email_bi BYTEA,
	//	  name TEXT, ip TEXT, postcode TEXT, total NUMERIC(12,2));
	//	CREATE INDEX orders_placed_id ON orders (placed_at, id) WHERE customer_id IS NOT NULL;
	key := []byte("a key of at least 32 bytes, kept apart from the data")
	pseudonyms, err := retention.NewPseudonymiser(key)
	if err != nil {
		log.Fatal(err)
	}
	orders, err := sqlretention.NewDeleter(db, sqldialect.Postgres, sqlretention.Table{
		Name: "orders", Key: "id", Subject: "customer_id", Time: "placed_at",
		From:         retention.FromCollection,
		BlindIndexes: []string{"email_bi"},
		Strategies: map[string][]sqlretention.Mask{
			"tax-record": {
				sqlretention.Null("email"),
				sqlretention.Fixed("name", "(anonymised)"),
				sqlretention.Truncate("postcode", 2),
				sqlretention.Func("ip", func(v any) (any, error) {
					return retention.TruncateIPString(v.(string))
				}),
			},
			"linkable": {sqlretention.Pseudonym("email", pseudonyms)},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer orders.Close()

	// A Sweeper drives the batches (retention.Target{Deleter: orders});
	// by hand, a sweep is this loop.
	policy := retention.Policy{Category: "orders", Period: gdpr.Period{Years: 10},
		Action: retention.Anonymise, Strategy: "tax-record", Reason: "§ 147 AO"}
	b := retention.Batch{Target: "orders", Policy: policy, Before: policy.Cutoff(time.Now().UTC()), Limit: 1000}
	for {
		r, err := orders.Expire(ctx, b)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("anonymised", r.Acted, "held", r.Held)
		if r.Done {
			break
		}
		b.Cursor = r.Cursor // a checkpoint resumes from it
	}

	// The customers whose orders are anonymised within 30 days, to tell
	// them first (Sweeper.Notices).
	q := retention.ExpiringQuery{Target: "orders", Policy: policy, From: b.Before, Before: b.Before.AddDate(0, 0, 30), Limit: 100}
	soon, err := orders.Expiring(ctx, q)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range soon {
		fmt.Println(e.Subject, e.Start) // the subject prints masked
	}
}

// Masks print what they do, never Fixed's value.
func ExampleMask() {
	for _, m := range []sqlretention.Mask{
		sqlretention.Null("email"),
		sqlretention.Fixed("name", "(anonymised)"),
		sqlretention.Truncate("postcode", 2),
		sqlretention.Func("ip", func(v any) (any, error) { return v, nil }),
	} {
		fmt.Println(m)
	}
	// Output:
	// Null(email)
	// Fixed(name)
	// Truncate(postcode, 2)
	// Func(ip)
}
