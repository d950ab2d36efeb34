package audit

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func TestParseCheckpoint(t *testing.T) {
	root := tlog.RecordHash([]byte("x"))
	good := Checkpoint{Origin: "example.com/audit", Size: 42, Root: root}
	c, err := ParseCheckpoint(good.Text())
	if err != nil || c.Origin != good.Origin || c.Size != 42 || c.Root != root {
		t.Fatalf("ParseCheckpoint(Text()) = %+v, %v", c, err)
	}
	if _, err := ParseCheckpoint(good.Text() + "extension line\n"); err != nil {
		t.Fatalf("an extension line is refused: %v", err)
	}
	bad := []string{
		"", "example.com/audit\n42\n", "example.com/audit\n42\n" + strings.Repeat("A", 44) + "\n", // short hash
		"example.com/audit\n042\nAAAA\n", "example.com/audit\n-1\n" + good.Text()[22:],
		"\n42\n" + good.Text()[len("example.com/audit\n42\n"):],
		strings.TrimSuffix(good.Text(), "\n"),
		good.Text() + "\n",
		"exa\x01mple\n42\n" + good.Text()[len("example.com/audit\n42\n"):],
	}
	for _, b := range bad {
		if _, err := ParseCheckpoint(b); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseCheckpoint(%q) = %v, want ErrInvalid", b, err)
		}
	}
}

func TestOpenCheckpoint(t *testing.T) {
	skey, _, _ := GenerateKey("example.com/audit")
	s, v, err := NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := signCheckpoint(Checkpoint{Origin: "example.com/audit", Size: 7, Root: tlog.RecordHash(nil)}, s)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(c.Note, "example.com/audit", v)
	if err != nil || got.Size != 7 || got.Root != c.Root {
		t.Fatalf("OpenCheckpoint = %+v, %v", got, err)
	}
	if _, err := OpenCheckpoint(c.Note, "other.example/log", v); !errors.Is(err, ErrTampered) {
		t.Fatalf("wrong origin: %v, want ErrTampered", err)
	}
	forged := []byte(strings.Replace(string(c.Note), "\n7\n", "\n8\n", 1))
	if _, err := OpenCheckpoint(forged, "example.com/audit", v); !errors.Is(err, ErrTampered) {
		t.Fatalf("altered size: %v, want ErrTampered", err)
	}
	other, _, _ := GenerateKey("example.com/audit")
	s2, _, _ := NewSigner(other)
	c2, _ := signCheckpoint(Checkpoint{Origin: "example.com/audit", Size: 7}, s2)
	if _, err := OpenCheckpoint(c2.Note, "example.com/audit", v); !errors.Is(err, ErrTampered) {
		t.Fatalf("signed by another key: %v, want ErrTampered", err)
	}
	// A note signed by the right key whose text is no checkpoint.
	msg, _ := note.Sign(&note.Note{Text: "hello\n"}, s)
	if _, err := OpenCheckpoint(msg, "", v); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a signed non-checkpoint: %v, want ErrInvalid", err)
	}
	if _, _, err := NewSigner("PRIVATE+KEY+x+00000000+AAAA"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("NewSigner(bad) = %v", err)
	}
}

func FuzzCheckpoint(f *testing.F) {
	skey, _, _ := GenerateKey("example.com/audit")
	s, v, _ := NewSigner(skey)
	c, _ := signCheckpoint(Checkpoint{Origin: "example.com/audit", Size: 123, Root: tlog.RecordHash([]byte("r"))}, s)
	f.Add(c.Note)
	f.Add([]byte(c.Text()))
	f.Add([]byte("example.com/audit\n1\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if cp, err := ParseCheckpoint(string(data)); err == nil {
			// What parses formats back to its first three lines.
			if !strings.HasPrefix(string(data), cp.Text()) {
				t.Fatalf("ParseCheckpoint(%q) = %+v, which formats as %q", data, cp, cp.Text())
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("ParseCheckpoint error %v does not wrap ErrInvalid", err)
		}
		cp, err := OpenCheckpoint(data, "example.com/audit", v)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTampered) {
				t.Fatalf("OpenCheckpoint error %v wraps neither ErrInvalid nor ErrTampered", err)
			}
			return
		}
		if cp.Origin != "example.com/audit" {
			t.Fatalf("opened a checkpoint of origin %q", cp.Origin)
		}
	})
}
