//go:build linux

package dynamolocal

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts the server in its own process group and asks the kernel to
// kill it when the thread that started it (locked for the child's lifetime)
// dies, so a crashed or timed-out test binary never leaves Java behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killTree(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole group
	_ = cmd.Process.Kill()
}
