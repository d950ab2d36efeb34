package memretention_test

// Review of memretention: the Table is "the fake of a host's own table in
// tests of a Sweeper, as sqlretention.Deleter is the real one". Where the
// two disagree, a host's tests pass on the fake and fail (or delete) in
// production. These tests hold the fake to what sqlretention.Deleter
// refuses.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/retention"
	"github.com/gdprkit/gdpr/retention/memretention"
)

func reviewTable() *memretention.Table {
	t := memretention.NewTable(retention.FromLastActivity)
	t.Put(memretention.Row{Key: "1", Subject: "user-1", Time: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
	return t
}

// An Action that is not one of Delete, Anonymise, Review falls through to
// the default of Table.Expire's switch and deletes the row.
// sqlretention.Deleter refuses it ("unknown action", ErrInvalid).
func TestReviewTableRefusesUnknownAction(t *testing.T) {
	tbl := reviewTable()
	_, err := tbl.Expire(context.Background(), retention.Batch{Target: "t",
		Policy: retention.Policy{Category: "c", Period: gdpr.Period{Years: 1}, From: retention.FromLastActivity, Action: "archive"},
		Before: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 10})
	if !errors.Is(err, retention.ErrInvalid) {
		t.Errorf("Expire with Action \"archive\": %v; want ErrInvalid, as sqlretention.Deleter", err)
	}
	if _, ok := tbl.Get("1"); !ok {
		t.Errorf("Expire with an unknown Action deleted the row")
	}
}

// Table is a FromDeclarer; sqlretention.Deleter refuses a batch whose
// policy counts from another event than its time column holds. The fake
// acts on it.
func TestReviewTableRefusesPolicyFromAnotherEvent(t *testing.T) {
	tbl := reviewTable() // FromLastActivity
	_, err := tbl.Expire(context.Background(), retention.Batch{Target: "t",
		Policy: retention.Policy{Category: "c", Period: gdpr.Period{Years: 1}, From: retention.FromCollection, Action: retention.Delete},
		Before: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 10})
	if !errors.Is(err, retention.ErrInvalid) {
		t.Errorf("Expire of a FromLastActivity table under a FromCollection policy: %v; want ErrInvalid, as sqlretention.Deleter", err)
	}
	if _, ok := tbl.Get("1"); !ok {
		t.Errorf("the row was deleted under a policy that counts from another event")
	}
}

// Expire returns ctx.Err() for a done context; Expiring (the other method
// the Sweeper calls, through Notices) does not look at it.
func TestReviewTableExpiringHonoursCanceledContext(t *testing.T) {
	tbl := reviewTable()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := tbl.Expiring(ctx, retention.ExpiringQuery{Target: "t",
		Policy: retention.Policy{Category: "c", Period: gdpr.Period{Years: 1}, From: retention.FromLastActivity},
		From:   time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), Before: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Limit: 10})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Expiring with a canceled context: %v; want an error wrapping context.Canceled, as Expire", err)
	}
}
