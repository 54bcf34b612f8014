//go:build unix

package jobs

import (
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on the file at path, creating it, and
// returns the function that releases it. It fails at once when another
// process holds the lock. The lock ends with the process, however it ends.
func lockFile(path string) (func(), error) { return flock(path, syscall.LOCK_NB) }

// waitLock is lockFile that waits for the lock instead of failing.
func waitLock(path string) (func(), error) { return flock(path, 0) }

func flock(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|how); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
