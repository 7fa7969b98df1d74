//go:build unix && !linux

package dynamolocal

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the server in its own process group. Without a
// parent-death signal on this platform, Main's Stop is what ends it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func killTree(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
}
