package testdb

import (
	"os/exec"
	"syscall"
)

const sigterm = syscall.SIGTERM

// setPdeathsig has the kernel kill PgBouncer if the test binary dies
// before its cleanup runs.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
