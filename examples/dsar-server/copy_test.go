package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCopyIntoNewModule does what the README tells a host to do: copy
// this folder into a new module of its own path, tidy it, build it, run
// it, and find it serving. The copy resolves the library from this
// checkout (a replace directive in place of a released version) and
// every other module from the module cache alone (GOPROXY=off), checked
// against the go.sum it takes along, so the test needs no network.
func TestCopyIntoNewModule(t *testing.T) {
	const examplesPath = "github.com/gdprkit/gdpr" + "/examples" // split, or this file would hold it
	if testing.Short() {
		t.Skip("builds the copy: not in -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the go command is not on PATH")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "privacy")
	if err := os.CopyFS(dst, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	// Leave behind what a copy would not take: the state of a local run.
	os.RemoveAll(filepath.Join(dst, "dsar-state"))
	// The examples module's go.mod and go.sum, with the new module path,
	// and the library from this checkout (a host's would require a
	// released version instead of the replace).
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	gomod := strings.Replace(string(mod), "module "+examplesPath, "module example.com/privacy", 1)
	gomod = strings.Replace(gomod, "=> ../integration", "=> "+filepath.Join(root, "integration"), 1)
	gomod = strings.Replace(gomod, "=> ../", "=> "+root, 1)
	if err := os.WriteFile(filepath.Join(dst, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("../go.sum")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir, cmd.Env = dst, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the copy: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("mod", "tidy")
	bin := filepath.Join(t.TempDir(), "privacy")
	build := []string{"build", "-o", bin}
	if raceEnabled {
		build = append(build, "-race") // the race build's packages are in the cache already
	}
	run(append(build, ".")...)
	// The copy has no reference to the old module path left.
	err = filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(examplesPath)) {
			t.Errorf("%s refers to the examples module", filepath.Base(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, "-addr", addr, "-state", filepath.Join(t.TempDir(), "state"))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the copy did not stop cleanly on SIGINT: %v\n%s", err, logs.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Error("the copy did not stop within 20 s of SIGINT")
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Send me a sign-in link") {
				t.Fatalf("the copy's home page: %d", res.StatusCode)
			}
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("the copy exited: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("the copy does not answer on %s\n%s", addr, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
