//go:build !linux

package testdb

import (
	"os"
	"os/exec"
	"syscall"
)

var sigterm os.Signal = syscall.SIGTERM

func setPdeathsig(*exec.Cmd) {}
