package audit_test

import (
	"testing"

	"github.com/gdprkit/gdpr/audit"
	"github.com/gdprkit/gdpr/audit/memaudit"
)

func TestRecordAfterCloseStoresSalt(t *testing.T) {
	ctx := t.Context()
	f := open(t, memaudit.New())
	f.log.Close(ctx)
	if err := f.log.Record(ctx, event(0, "zed")); err == nil {
		t.Fatal("recorded after close")
	}
	l2 := f.reopen(t)
	if rep, _ := l2.EraseSubject(ctx, "zed"); rep.Erased != 0 {
		t.Errorf("a Record refused with ErrClosed left a salt for the subject behind")
	}
}

func TestAnchorForkSilent(t *testing.T) {
	ctx := t.Context()
	a := &audit.FileAnchor{Dir: t.TempDir()}
	if err := a.Publish(ctx, audit.Checkpoint{Size: 5, Note: []byte("one")}); err != nil {
		t.Fatal(err)
	}
	if err := a.Publish(ctx, audit.Checkpoint{Size: 5, Note: []byte("another root")}); err == nil {
		t.Errorf("FileAnchor accepted a second, different checkpoint of size 5 without a word")
	}
}
