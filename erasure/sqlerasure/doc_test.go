package sqlerasure_test

import (
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestDocStatesErasureResidue holds the package doc to what sqlconsent,
// sqlkeys and sqlaudit say of theirs: where cleared and deleted bytes may
// survive, and that the subject column is cleared once a request closes.
func TestDocStatesErasureResidue(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(f.Doc.Text()), " ")
	for _, want := range []string{
		"# Storage", "# Errors", "# Testing", "# Erasure residue",
		"is NULL once it is closed", "never holds the subject",
		"dead tuples until VACUUM", "WAL", "undo and redo logs", "binary log", "free pages", "secure_delete", "backups",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("the package doc does not say %q", want)
		}
	}
}
