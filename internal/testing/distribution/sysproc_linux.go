package distribution

import "syscall"

// sysProcAttr kills the registry when the test process dies without closing
// it (a panic, a test timeout), so that no registry outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
