package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"attune"
)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestPutOpen(t *testing.T) {
	ctx := context.Background()
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("What is Debian?\n")},
		{"large", bytes.Repeat([]byte("0123456789abcdef"), 1<<16)}, // 1 MiB
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sha, n, err := d.Put(ctx, bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if want := sum(tt.data); sha != want || n != int64(len(tt.data)) {
				t.Fatalf("Put: got %s, %d; want %s, %d", sha, n, want, len(tt.data))
			}
			rc, err := d.Open(ctx, sha)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(got, tt.data) {
				t.Fatalf("Open: read %d bytes (%v), want %d", len(got), err, len(tt.data))
			}

			// The same bytes again: the same blob, still readable.
			again, _, err := d.Put(ctx, bytes.NewReader(tt.data))
			if err != nil || again != sha {
				t.Fatalf("Put twice: got %s, %v; want %s", again, err, sha)
			}
		})
	}
}

func TestDeleteHas(t *testing.T) {
	ctx := context.Background()
	d, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sha, _, err := d.Put(ctx, strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Has(ctx, sha); !ok || err != nil {
		t.Fatalf("Has after Put: got %v, %v", ok, err)
	}
	if err := d.Delete(ctx, sha); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, sha); err != nil {
		t.Fatalf("Delete of a missing blob: %v", err)
	}
	if ok, _ := d.Has(ctx, sha); ok {
		t.Errorf("Has after Delete: got true")
	}
	_, err = d.Open(ctx, sha)
	if attune.ErrorKind(err) != attune.KindNotFound {
		t.Errorf("Open after Delete: got %v, want KindNotFound", err)
	}
}

// TestBadNames checks that names which are not digests never touch a file
// outside the store.
func TestBadNames(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := Open(filepath.Join(root, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "secret")
	os.WriteFile(secret, []byte("s"), 0o600)
	for _, name := range []string{"", "../secret", "ABCDEF" + strings.Repeat("0", 58),
		strings.Repeat("0", 63), strings.Repeat("g", 64)} {
		if _, err := d.Open(ctx, name); attune.ErrorKind(err) != attune.KindNotFound {
			t.Errorf("Open(%q): got %v, want KindNotFound", name, err)
		}
		if ok, _ := d.Has(ctx, name); ok {
			t.Errorf("Has(%q): got true", name)
		}
		d.Delete(ctx, name)
	}
	if _, err := os.Stat(secret); err != nil {
		t.Errorf("a file outside the store was touched: %v", err)
	}
}

// TestFailedWrite checks atomicity: a reader that fails halfway leaves no
// blob and no temporary file, and the store stays usable.
func TestFailedWrite(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("connection reset")
	half := io.MultiReader(strings.NewReader("half a document"), iotest.ErrReader(boom))
	if _, _, err := d.Put(ctx, half); !errors.Is(err, boom) {
		t.Fatalf("Put of a failing reader: got %v, want %v", err, boom)
	}
	if ok, _ := d.Has(ctx, sum([]byte("half a document"))); ok {
		t.Errorf("a partial blob was stored")
	}
	if n := countFiles(t, root); n != 0 {
		t.Errorf("failed Put left %d files", n)
	}

	// A cancelled context stops the write the same way.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := d.Put(cctx, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context: got %v", err)
	}
}

// TestSweep checks that Open removes temporary files left by a crash and
// keeps the blobs.
func TestSweep(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	d, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	sha, _, err := d.Put(ctx, strings.NewReader("kept"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, tmpPrefix+"123"), []byte("partial"), 0o644)
	if _, err := Open(root); err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, root); n != 1 {
		t.Errorf("after reopen: %d files, want only the blob", n)
	}
	if ok, _ := d.Has(ctx, sha); !ok {
		t.Errorf("the blob was swept")
	}
}

func countFiles(t *testing.T, root string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return nil
	})
	return n
}
