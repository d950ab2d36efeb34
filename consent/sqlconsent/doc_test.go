package sqlconsent_test

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestDocStatesErasureResidue holds the package doc to what sqlkeys and
// sqlaudit say of theirs: where a deleted subject's bytes may survive a
// DeleteSubject (issue 9).
func TestDocStatesErasureResidue(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(f.Doc.Text()), " ")
	for _, want := range []string{
		"# Erasure residue", "dead tuples until VACUUM", "WAL", "undo and redo logs", "binary log",
		"free pages", "secure_delete", "backups",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the package doc does not say %q: state where erased rows may survive (as sqlkeys and sqlaudit do)", want)
		}
	}
}
