package crypto

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/gdprkit/gdpr"
)

// referenceAD is the associated data of a field ciphertext as format 1
// defines it, written plainly: what every ciphertext ever written was
// bound to, so ownerAD and fieldPartsAD must build exactly these bytes.
func referenceAD(o owner, f Field) []byte {
	var dst []byte
	id := string(o.subject)
	if o.isScope {
		dst = append(dst, "gdpr/crypto/scope-field/v1\x00"...)
		id = string(o.scope)
	} else {
		dst = append(dst, "gdpr/crypto/field/v1\x00"...)
	}
	for _, s := range [...]string{id, f.Table, f.Column, f.Row} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

func TestFieldADIsFormat1(t *testing.T) {
	golden := []byte("gdpr/crypto/field/v1\x00\x07user-42\x05users\x05email\x0217")
	if got := fieldPartsAD(ownerAD(nil, owner{subject: "user-42"}), Field{Table: "users", Column: "email", Row: "17"}); !bytes.Equal(got, golden) {
		t.Fatalf("AD %q, want %q", got, golden)
	}
	owners := []owner{{subject: "u"}, {subject: "user-42"}, {scope: "ticket/4711", isScope: true},
		{subject: gdpr.SubjectID("x" + strings.Repeat("y", 200))}, {scope: Scope(strings.Repeat("s", 255)), isScope: true}}
	fields := []Field{{Table: "t", Column: "c"}, {Table: "users", Column: "email", Row: "42"},
		{Table: strings.Repeat("t", 127), Column: strings.Repeat("c", 128), Row: strings.Repeat("r", 1024)}}
	for _, o := range owners {
		for _, f := range fields {
			buf := make([]byte, 0, 8) // grows
			pre := ownerAD(buf, o)
			a := fieldPartsAD(pre, f)
			b := fieldPartsAD(pre[:len(pre):len(pre)], f) // reused prefix, as a row does
			if want := referenceAD(o, f); !bytes.Equal(a, want) || !bytes.Equal(b, want) {
				t.Fatalf("AD for %d-byte owner, field %s: differs from format 1", len(o.key()), f)
			}
		}
	}
}
