//go:build !unix

package jobs

// lockFile does nothing where flock is missing.
//
// TODO(jobs): lock with LockFileEx on Windows; attune is served from Unix
// machines for now, and without the lock only one process may use a data
// directory.
func lockFile(path string) (func(), error) { return func() {}, nil }

// waitLock does nothing where flock is missing.
func waitLock(path string) (func(), error) { return func() {}, nil }
