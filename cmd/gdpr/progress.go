package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how long work goes: a bar with rate and ETA on a
// terminal, a plain line every few seconds when the output is not one,
// JSON lines with --json. It writes to the error stream, so the result on
// the output stream stays clean for a pipe.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	what  string
	json  bool
	bar   *progressbar.ProgressBar
	start time.Time
	last  time.Time
}

// isTerminal reports whether w is a terminal; tests set GDPR_FORCE_TTY to
// tell a pseudo-terminal from a pipe the same way.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (a *app) newProgress(what, unit string, total int64) *progress {
	now := time.Now()
	p := &progress{w: a.errw, what: what, json: a.json, start: now, last: now}
	if !a.json && isTerminal(a.errw) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(a.errw),
			progressbar.OptionSetDescription(what),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// set reports done of total; a negative total is not known.
func (p *progress) set(done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		if total >= 0 {
			p.bar.ChangeMax64(total)
		}
		_ = p.bar.Set64(done)
		return
	}
	now := time.Now()
	finished := total >= 0 && done >= total
	if now.Sub(p.last) < 2*time.Second && (!finished || now.Sub(p.start) < 2*time.Second) {
		return // a line every two seconds, and none for work done in less
	}
	p.last = now
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3)
	if p.json {
		m := map[string]any{"progress": p.what, "done": done, "rate": int64(rate)}
		if total >= 0 {
			m["total"] = total
		}
		b, _ := json.Marshal(m)
		fmt.Fprintf(p.w, "%s\n", b)
		return
	}
	if total < 0 {
		fmt.Fprintf(p.w, "%s: %d done (%.0f/s)\n", p.what, done, rate)
		return
	}
	fmt.Fprintf(p.w, "%s: %d of %d (%.0f/s)\n", p.what, done, total, rate)
}

// finish ends the display.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
