//go:build !linux

package distribution

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
