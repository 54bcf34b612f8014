//go:build !linux

package kernels

// setThreadNice does nothing where threads have no priorities of their
// own that an unprivileged process can set.
func setThreadNice(int) error { return nil }
