package sqlite_test

import (
	"context"
	"testing"

	"attune"
	"attune/store/sqlite"
)

// benchStore returns a store holding one user, one READY document, a base
// model and one alignment, and the ids to read.
func benchStore(b *testing.B) (*sqlite.Store, attune.User, attune.Alignment, string) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, b.TempDir()+"/attune.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	key, _, err := attune.IssueAPIKey(ctx, s, "bench@example.com", attune.ScopeUser, "")
	if err != nil {
		b.Fatal(err)
	}
	u, err := s.UserByEmail(ctx, "bench@example.com")
	if err != nil {
		b.Fatal(err)
	}
	d := attune.Document{ID: attune.NewID(attune.PrefixDocument), OwnerID: u.ID, Filename: "a.md",
		Type: "md", SHA256: "x", Status: attune.StatusReady}
	task := attune.UploadTask{ID: attune.NewID(""), OwnerID: u.ID, Filename: "a.md", Status: attune.StatusReady}
	base := attune.BaseModel{ID: "tiny", AlignmentReady: true}
	a := attune.Alignment{ID: attune.NewID(attune.PrefixAlignment), OwnerID: u.ID, BaseModel: "tiny",
		DocumentIDs: []string{d.ID}, Status: attune.AlignmentProcessing}
	m := attune.AlignedModel{ID: attune.NewID(attune.PrefixModel), DeploymentStatus: attune.Undeployed}
	for _, err := range []error{s.CreateUpload(ctx, &task, &d), s.CreateBaseModel(ctx, &base),
		s.CreateAlignment(ctx, &a, &m)} {
		if err != nil {
			b.Fatal(err)
		}
	}
	return s, u, a, key
}

// BenchmarkAlignment measures the read behind the alignment status route.
func BenchmarkAlignment(b *testing.B) {
	s, u, a, _ := benchStore(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Alignment(ctx, u.ID, a.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuthenticate measures the key lookup every request makes.
func BenchmarkAuthenticate(b *testing.B) {
	s, _, _, key := benchStore(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := attune.Authenticate(ctx, s, key); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkUpdateAlignment measures a progress write: a read-modify-write
// transaction, as training makes once a second.
func BenchmarkUpdateAlignment(b *testing.B) {
	s, u, a, _ := benchStore(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		_, err := s.UpdateAlignment(ctx, u.ID, a.ID, func(a *attune.Alignment) error {
			a.Step = i
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
