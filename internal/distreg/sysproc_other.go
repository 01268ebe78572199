//go:build !linux

package distreg

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return nil }
