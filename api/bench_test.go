package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"attune"
	"attune/jobs"
	"attune/runtime"
	"attune/store/sqlite"
)

// BenchmarkAlignmentStatus measures the route NuGen's clients poll, from
// the request to the encoded answer, on a real SQLite store: run with
// -cpu to see it under parallel clients.
func BenchmarkAlignmentStatus(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "attune.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	q, err := jobs.New(ctx, jobs.Config{Path: filepath.Join(dir, "jobs.db"), WorkDir: filepath.Join(dir, "work")}, jobs.Deps{Store: st, Blobs: nopBlobs{}})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	rt, err := runtime.New(runtime.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := New(Config{}, Deps{Store: st, Blobs: nopBlobs{}, Queue: q, Runtime: rt})
	if err != nil {
		b.Fatal(err)
	}
	key, id := benchAlignment(b, st)
	h := srv.Handler()
	path := "/api/v3/alignment-project/status/" + id

	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// benchAlignment stores a user, a key, a document and a running alignment.
func benchAlignment(b *testing.B, st attune.Store) (key, alignmentID string) {
	ctx := context.Background()
	key, k, err := attune.IssueAPIKey(ctx, st, "bench@example.com", attune.ScopeUser, "")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateBaseModel(ctx, &attune.BaseModel{ID: "m", Path: "/nowhere", AlignmentReady: true}); err != nil {
		b.Fatal(err)
	}
	doc := attune.Document{ID: attune.NewID(attune.PrefixDocument), OwnerID: k.UserID, Filename: "a.txt", Type: "txt", Size: 1, SHA256: "00", Status: attune.StatusProcessing}
	task := attune.UploadTask{ID: attune.NewID(""), OwnerID: k.UserID, Filename: "a.txt", DocumentID: doc.ID, Status: attune.StatusProcessing}
	if err := st.CreateUpload(ctx, &task, &doc); err != nil {
		b.Fatal(err)
	}
	if _, err := st.UpdateDocument(ctx, k.UserID, doc.ID, func(d *attune.Document) error { d.Status = attune.StatusReady; return nil }); err != nil {
		b.Fatal(err)
	}
	a := attune.Alignment{ID: attune.NewID(attune.PrefixAlignment), OwnerID: k.UserID, Name: "a", BaseModel: "m",
		DocumentIDs: []string{doc.ID}, ModelID: attune.NewID(attune.PrefixModel), Hyperparameters: attune.DefaultHyperparameters,
		Status: attune.AlignmentProcessing, Stage: attune.StageTraining}
	m := attune.AlignedModel{ID: a.ModelID, OwnerID: k.UserID, AlignmentID: a.ID, BaseModel: "m", Status: attune.ModelTraining, DeploymentStatus: attune.Undeployed}
	if err := st.CreateAlignment(ctx, &a, &m); err != nil {
		b.Fatal(err)
	}
	return key, a.ID
}
