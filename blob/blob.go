// Package blob keeps byte content in a local directory, addressed by its
// SHA-256: the implementation of attune.Blobs for one machine. A blob is
// written to a temporary file in the same directory, hashed while it is
// written, synced, and renamed into place, so a reader never sees a partial
// blob and a crash leaves at most a temporary file behind.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"attune"
)

// Dir is a blob store rooted at a directory. Blob ab12… lives at
// ab/ab12…, so that no directory holds too many files.
type Dir struct {
	root string
}

var _ attune.Blobs = (*Dir)(nil)

// tmpPrefix starts the names of blobs being written.
const tmpPrefix = ".tmp-"

// Open returns the blob store in dir, creating the directory if needed, and
// removes temporary files a crash may have left.
func Open(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("blob: cannot create %s: %w", dir, err)
	}
	d := &Dir{root: dir}
	if err := d.sweep(); err != nil {
		return nil, err
	}
	return d, nil
}

// sweep removes leftover temporary files.
func (d *Dir) sweep() error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasPrefix(e.Name(), tmpPrefix) {
			return os.Remove(p)
		}
		return nil
	})
}

// Path returns the file that holds the blob, for readers that need a path
// (memory-mapping, http.ServeFile). It does not check that the blob exists.
func (d *Dir) Path(sha string) (string, error) {
	if !validSHA(sha) {
		return "", attune.Errorf(attune.KindNotFound, "blob %q not found", sha)
	}
	return filepath.Join(d.root, sha[:2], sha), nil
}

// Put stores everything r yields and returns its SHA-256 and size.
func (d *Dir) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	f, err := os.CreateTemp(d.root, tmpPrefix+"*")
	if err != nil {
		return "", 0, fmt.Errorf("blob: cannot create a temporary file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed

	// Hash while writing, then make the bytes durable before naming them.
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("blob: cannot write: %w", err)
	}
	sha := hex.EncodeToString(h.Sum(nil))

	// Rename into place; an existing blob has the same bytes.
	dst, _ := d.Path(sha)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", 0, fmt.Errorf("blob: cannot write %s: %w", sha, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", 0, fmt.Errorf("blob: cannot write %s: %w", sha, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return "", 0, fmt.Errorf("blob: cannot write %s: %w", sha, err)
	}
	return sha, n, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Open returns the blob's content; the caller closes it. The returned
// reader is an *os.File, so it can also seek.
func (d *Dir) Open(ctx context.Context, sha string) (io.ReadCloser, error) {
	p, err := d.Path(sha)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, attune.Errorf(attune.KindNotFound, "blob %q not found", sha)
	}
	if err != nil {
		return nil, fmt.Errorf("blob: cannot open %s: %w", sha, err)
	}
	return f, nil
}

// Has reports whether the blob exists.
func (d *Dir) Has(ctx context.Context, sha string) (bool, error) {
	p, err := d.Path(sha)
	if err != nil {
		return false, nil
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("blob: cannot stat %s: %w", sha, err)
	}
	return true, nil
}

// Delete removes the blob; a missing blob is not an error.
func (d *Dir) Delete(ctx context.Context, sha string) error {
	p, err := d.Path(sha)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: cannot delete %s: %w", sha, err)
	}
	return nil
}

// validSHA reports whether s is 64 lower-case hex digits, so that no name
// from outside can reach past the store's directory.
func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
