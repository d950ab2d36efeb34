package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

// bigTrail makes a SQLite trail of n entries with gentrail (built
// without the race detector) and returns the command's environment for it.
func bigTrail(t *testing.T, n int) []string {
	t.Helper()
	dir := t.TempDir()
	gen := exec.CommandContext(t.Context(), gentrail, "-dir", dir, "-n", strconv.Itoa(n))
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("gentrail: %v\n%s", err, out)
	}
	return []string{"GDPR_DSN=" + filepath.Join(dir, "app.db"),
		"GDPR_PSEUDONYM_KEY_FILE=" + filepath.Join(dir, "pseudonym.key"), "GDPR_AUDIT_KEY_FILE=" + filepath.Join(dir, "audit.key")}
}

// TestProgressOnATerminal: on a terminal, verify draws a progress bar
// with its count and rate on the error stream; piped, it draws none and
// the output stream holds the result alone.
func TestProgressOnATerminal(t *testing.T) {
	env := bigTrail(t, 100_000)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "audit", "verify")
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatalf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	cmd.Stderr = tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen bytes.Buffer
	done := make(chan struct{})
	go func() { io.Copy(&screen, ptmx); close(done) }() // ends with EIO once the command exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("verify: %v\n%s", err, screen.String())
	}
	<-done
	s := screen.String()
	if !strings.Contains(s, "verify") || !strings.Contains(s, "entries/s") || !strings.Contains(s, "\r") {
		t.Errorf("no progress bar on the terminal:\n%q", s)
	}
	if !strings.Contains(out.String(), "audit trail verified: 100000 entries") || strings.Contains(out.String(), "\r") {
		t.Errorf("the result on stdout: %q", out.String())
	}
	piped := gdprCmd(t, env, "audit", "verify")
	if strings.Contains(piped.stderr, "\r") || strings.Contains(piped.stderr, "entries/s") || piped.code != 0 {
		t.Errorf("a bar on a pipe: %q", piped.stderr)
	}
}

// TestInterrupt: Ctrl-C stops a verification cleanly, says what to do,
// and exits 2.
func TestInterrupt(t *testing.T) {
	env := bigTrail(t, 300_000)
	cmd := exec.Command(bin, "audit", "verify", "--json")
	cmd.Env = append(os.Environ(), env...)
	var out, errw bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // into the verification (about 4 s long)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("the verification ended before the signal (%v): make the trail longer", err)
	}
	if ee.ExitCode() != 2 || !strings.Contains(errw.String(), "interrupted") || !strings.Contains(errw.String(), "run it again") {
		t.Errorf("interrupted verify: exit %d, %q", ee.ExitCode(), errw.String())
	}
}
