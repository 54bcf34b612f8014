package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"attune"
	"attune/store/sqlite"
	"attune/store/storetest"
)

// open opens a store in a fresh temporary directory with the suite's clock.
func open(t *testing.T, dir string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "attune.db"),
		sqlite.Options{Now: func() time.Time { return storetest.Clock }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) attune.Store { return open(t, t.TempDir()) })
}

// TestReopen checks that migrations run once and records survive a reopen.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir)
	u, err := s.EnsureUser(ctx, "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t, dir)
	got, err := s.UserByEmail(ctx, "a@example.com")
	if err != nil || got.ID != u.ID {
		t.Fatalf("after reopen: got %+v, %v; want user %s", got, err, u.ID)
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != 1 {
		t.Errorf("SchemaVersion: got %d, %v; want 1", v, err)
	}
}
