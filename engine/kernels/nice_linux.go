package kernels

import (
	"fmt"
	"syscall"
)

// setThreadNice sets the nice value of the calling thread (Linux's
// setpriority applies to one thread when given a thread id).
func setThreadNice(n int) error {
	if err := syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), n); err != nil {
		return fmt.Errorf("kernels: cannot set the thread's nice value to %d: %w", n, err)
	}
	return nil
}
