package gdpr_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMESnippets keeps the README honest: every Go snippet in it is
// preceded by a marker naming the Example that runs it,
//
//	<!-- example: consent/example_test.go Example_readme -->
//
// and every line of code in the snippet (comments and blank lines aside)
// must stand, in the same order, in that Example's body. The Examples run
// with their // Output: checked, so a snippet that would not compile or do
// what it says fails here first.
func TestREADMESnippets(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	marker := regexp.MustCompile(`^<!-- example: (\S+) (\S+) -->$`)
	lines := strings.Split(string(b), "\n")
	blocks := 0
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```go" {
			continue
		}
		blocks++
		start := i
		var code []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			code = append(code, lines[i])
		}
		m := (func() []string {
			for j := start - 1; j >= 0 && j >= start-2; j-- {
				if m := marker.FindStringSubmatch(lines[j]); m != nil {
					return m
				}
			}
			return nil
		})()
		if m == nil {
			t.Errorf("README.md:%d: a Go snippet without an <!-- example: file Func --> marker above it", start+1)
			continue
		}
		body, err := exampleBody(m[1], m[2])
		if err != nil {
			t.Errorf("README.md:%d: %v", start+1, err)
			continue
		}
		at := 0
		for _, l := range code {
			want := codeOf(l)
			if want == "" {
				continue
			}
			found := false
			for ; at < len(body); at++ {
				if codeOf(body[at]) == want {
					found = true
					at++
					break
				}
			}
			if !found {
				t.Errorf("README.md snippet at line %d: %q is not in %s %s (in this order)", start+1, want, m[1], m[2])
				break
			}
		}
	}
	if blocks < 5 {
		t.Errorf("README.md has %d Go snippets; the tour has at least 5", blocks)
	}
}

// exampleBody returns the lines of func name in file.
func exampleBody(file, name string) ([]string, error) {
	b, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		return nil, err
	}
	src := string(b)
	i := strings.Index(src, "\nfunc "+name+"() {\n")
	if i < 0 {
		return nil, &missingError{file, name}
	}
	rest := src[i+1:]
	end := strings.Index(rest, "\n}\n")
	if end < 0 {
		end = len(rest)
	}
	return strings.Split(rest[:end], "\n"), nil
}

type missingError struct{ file, name string }

func (e *missingError) Error() string { return "no func " + e.name + " in " + e.file }

// codeOf is a line without its indentation, its trailing // comment and
// its white space runs; "" for a comment or blank line.
func codeOf(l string) string {
	l = strings.TrimSpace(l)
	if strings.HasPrefix(l, "//") {
		return ""
	}
	if i := strings.Index(l, " // "); i >= 0 && strings.Count(l[:i], `"`)%2 == 0 {
		l = l[:i]
	}
	return strings.Join(strings.Fields(l), " ")
}
