package erasure_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
	"github.com/gdprkit/gdpr/erasure"
)

// personal is a value a host might pass where it does not belong: it must
// never come back in an error text.
const personal = "ann@example.org"

// TestNilContext calls every Engine method that takes a context with a
// nil one: each refuses it with ErrInvalid on field "ctx" and writes
// nothing.
func TestNilContext(t *testing.T) {
	f, e := newFixture(t, 1)
	v := reflect.ValueOf(e)
	ctxType := reflect.TypeFor[context.Context]()
	n := 0
	for i := range v.NumMethod() {
		m := v.Type().Method(i)
		mt := m.Type
		if mt.NumIn() < 2 || mt.In(1) != ctxType {
			continue
		}
		n++
		args := []reflect.Value{v, reflect.Zero(ctxType)}
		for j := 2; j < mt.NumIn(); j++ {
			args = append(args, reflect.Zero(mt.In(j)))
		}
		if mt.IsVariadic() {
			args = args[:len(args)-1]
			args = append(args, reflect.Zero(mt.In(mt.NumIn()-1)))
		}
		var out []reflect.Value
		if mt.IsVariadic() {
			out = m.Func.CallSlice(args)
		} else {
			out = m.Func.Call(args)
		}
		err, _ := out[len(out)-1].Interface().(error)
		if !errors.Is(err, erasure.ErrInvalid) || fieldOf(err) != "ctx" {
			t.Errorf("%s(nil ctx) = %v, want ErrInvalid on ctx", m.Name, err)
		}
	}
	if n < 15 {
		t.Errorf("only %d methods take a context", n)
	}
	if rs, _ := f.store.List(t.Context(), erasure.Filter{}); len(rs) != 0 {
		t.Error("a call with a nil context wrote")
	}
}

func TestNoPersonalDataInErrorsOrFmt(t *testing.T) {
	_, e := newFixture(t, 1)
	ctx := t.Context()
	var errs []error
	_, _, err := e.Submit(ctx, erasure.Submission{Kind: gdpr.RequestKind(personal), Subject: "u"})
	errs = append(errs, err)
	_, _, err = e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u", Channel: personal})
	errs = append(errs, err)
	_, _, err = e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: "u", Params: map[string]string{personal: "x"}})
	errs = append(errs, err)
	_, _, err = e.Submit(ctx, erasure.Submission{Kind: gdpr.KindErasure, Subject: gdpr.SubjectID(strings.Repeat(personal, 30))})
	errs = append(errs, err)
	_, err = e.Get(ctx, personal)
	errs = append(errs, err)
	_, err = e.Reject(ctx, "x", erasure.RejectReason(personal), "")
	errs = append(errs, err)
	_, err = e.List(ctx, erasure.Filter{States: []erasure.State{erasure.State(personal)}})
	errs = append(errs, err)
	_, err = erasure.VerifyReceipt(personal)
	errs = append(errs, err)
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
			continue
		}
		if strings.Contains(err.Error(), personal) || strings.Contains(err.Error(), "ann@") {
			t.Errorf("case %d: error text carries the value: %q", i, err)
		}
	}
	for _, s := range []string{fmt.Sprint(e), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)} {
		if strings.Contains(s, string(testKey)) || strings.Contains(s, "0123456789abcdef") {
			t.Errorf("fmt prints the subject key: %s", s)
		}
	}
}

func TestErrorText(t *testing.T) {
	_, err := erasure.New(nil, testKey)
	if got, want := fmt.Sprint(err), "erasure new: store: invalid input: nil store"; got != want {
		t.Errorf("New(nil) = %q, want %q", got, want)
	}
	_, e := newFixture(t, 1)
	_, _, err = e.Submit(t.Context(), erasure.Submission{Kind: gdpr.KindAccess, Subject: "u"})
	if got, want := fmt.Sprint(err), "erasure submit: kind: no handler for this kind of request: access: register one with WithHandler"; got != want {
		t.Errorf("Submit(access) = %q, want %q", got, want)
	}
}
