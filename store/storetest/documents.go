package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"attune"

	"github.com/google/go-cmp/cmp"
)

func testUploads(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u := user(t, s, "a@example.com")
	d, up := upload(t, s, u.ID, "faq.md", attune.StatusProcessing)

	got, err := s.Document(ctx, u.ID, d.ID)
	must(t, err, "Document")
	d.CreatedAt, d.UpdatedAt = Clock, Clock
	if diff := cmp.Diff(d, got, opts); diff != "" {
		t.Errorf("Document (-want +got):\n%s", diff)
	}

	// A second upload with the same name conflicts, names the first, and
	// stores nothing.
	dup := attune.Document{ID: attune.NewID(attune.PrefixDocument), OwnerID: u.ID,
		Filename: "faq.md", Type: "md", Status: attune.StatusProcessing}
	task := attune.UploadTask{ID: attune.NewID(""), OwnerID: u.ID, Filename: "faq.md", Status: attune.StatusProcessing}
	err = s.CreateUpload(ctx, &task, &dup)
	wantKind(t, err, attune.KindConflict, "CreateUpload of a duplicate filename")
	var exists *attune.ExistsError
	if !errors.As(err, &exists) || exists.ID != d.ID {
		t.Errorf("duplicate upload: got %v, want an ExistsError naming %s", err, d.ID)
	}
	_, err = s.UploadTask(ctx, u.ID, task.ID)
	wantKind(t, err, attune.KindNotFound, "the duplicate's upload task")

	// The upload task follows its document.
	_, err = s.UpdateDocument(ctx, u.ID, d.ID, func(d *attune.Document) error {
		d.Status, d.TextSHA256, d.Chunks, d.Progress = attune.StatusReady, "abc", 7, 100
		return nil
	})
	must(t, err, "UpdateDocument")
	tasks := taskOf(t, s, u.ID, up.ID)
	if tasks.Status != attune.StatusReady || tasks.DocumentID != d.ID {
		t.Errorf("upload task after READY: got %+v", tasks)
	}
	_, err = s.UpdateDocument(ctx, u.ID, d.ID, func(d *attune.Document) error {
		d.Status, d.Error = attune.StatusFailed, "the PDF is encrypted"
		return nil
	})
	must(t, err, "UpdateDocument")
	if tk := taskOf(t, s, u.ID, up.ID); tk.Status != attune.StatusFailed || tk.Error != "the PDF is encrypted" {
		t.Errorf("upload task after FAILED: got %+v", tk)
	}

	// A task with no document (a file refused before storing).
	lone := attune.UploadTask{ID: attune.NewID(""), OwnerID: u.ID, Filename: "x.exe",
		Status: attune.StatusFailed, Error: "unsupported type"}
	must(t, s.CreateUpload(ctx, &lone, nil), "CreateUpload without a document")
	gotTask, err := s.UploadTask(ctx, u.ID, lone.ID)
	must(t, err, "UploadTask")
	if gotTask.Error != "unsupported type" || gotTask.DocumentID != "" {
		t.Errorf("lone task: got %+v", gotTask)
	}

	// Blob references, by file and by extracted text.
	for sha, want := range map[string]bool{d.SHA256: true, "abc": true, "ffff": false} {
		got, err := s.BlobReferenced(ctx, sha)
		must(t, err, "BlobReferenced")
		if got != want {
			t.Errorf("BlobReferenced(%s): got %v, want %v", sha, got, want)
		}
	}
}

// taskOf reads an upload task back.
func taskOf(t *testing.T, s attune.Store, owner, id string) attune.UploadTask {
	t.Helper()
	task, err := s.UploadTask(context.Background(), owner, id)
	must(t, err, "UploadTask")
	return task
}

func testDocumentScoping(t *testing.T, s attune.Store) {
	ctx := context.Background()
	a, b := user(t, s, "a@example.com"), user(t, s, "b@example.com")
	d, up := upload(t, s, a.ID, "faq.md", attune.StatusReady)

	// The same filename is fine for another user.
	document(t, s, b.ID, "faq.md", attune.StatusReady)

	// b sees a's document exactly as an unknown one.
	checks := map[string]error{}
	_, checks["Document"] = s.Document(ctx, b.ID, d.ID)
	_, checks["UpdateDocument"] = s.UpdateDocument(ctx, b.ID, d.ID, func(*attune.Document) error { return nil })
	_, checks["DeleteDocument"] = s.DeleteDocument(ctx, b.ID, d.ID)
	_, checks["UploadTask"] = s.UploadTask(ctx, b.ID, up.ID)
	for name, err := range checks {
		wantKind(t, err, attune.KindNotFound, name+" of another user's document")
	}
	_, errUnknown := s.Document(ctx, b.ID, "doc_unknown")
	wantKind(t, errUnknown, attune.KindNotFound, "Document unknown")
	if _, err := s.Document(ctx, a.ID, d.ID); err != nil {
		t.Fatalf("the owner lost the document after another user's attempts: %v", err)
	}

	// An update cannot hand a record to another user or rename it.
	_, err := s.UpdateDocument(ctx, a.ID, d.ID, func(d *attune.Document) error {
		d.OwnerID, d.ID = b.ID, "doc_other"
		return nil
	})
	must(t, err, "UpdateDocument")
	if _, err := s.Document(ctx, a.ID, d.ID); err != nil {
		t.Errorf("an update moved the document away from its owner: %v", err)
	}
	_, err = s.Document(ctx, b.ID, "doc_other")
	wantKind(t, err, attune.KindNotFound, "Document under the id an update tried to give it")
}

func testDocumentPages(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u := user(t, s, "a@example.com")
	var ids []string
	for i := range 5 {
		ids = append(ids, document(t, s, u.ID, fmt.Sprintf("f%d.md", i), attune.StatusReady).ID)
	}
	tests := []struct {
		page attune.Page
		want []string // newest first
	}{
		{attune.Page{Limit: 2}, []string{ids[4], ids[3]}},
		{attune.Page{Limit: 2, Offset: 2}, []string{ids[2], ids[1]}},
		{attune.Page{Limit: 10, Offset: 4}, []string{ids[0]}},
		{attune.Page{Limit: 10, Offset: 9}, nil},
		{attune.Page{}, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
	}
	for _, tt := range tests {
		docs, total, err := s.ListDocuments(ctx, u.ID, tt.page)
		must(t, err, "ListDocuments")
		var got []string
		for _, d := range docs {
			got = append(got, d.ID)
		}
		if total != 5 || !cmp.Equal(got, tt.want, opts) {
			t.Errorf("ListDocuments(%+v): got %v (total %d), want %v (total 5)", tt.page, got, total, tt.want)
		}
	}

	// Categories count each document once per category it carries.
	_, err := s.UpdateDocument(ctx, u.ID, ids[0], func(d *attune.Document) error {
		d.Categories = []string{"faq", "legal"}
		return nil
	})
	must(t, err, "UpdateDocument")
	cats, err := s.DocumentCategories(ctx, u.ID)
	must(t, err, "DocumentCategories")
	want := []attune.CategoryCount{{Name: "faq", Count: 5}, {Name: "legal", Count: 1}}
	if diff := cmp.Diff(want, cats); diff != "" {
		t.Errorf("DocumentCategories (-want +got):\n%s", diff)
	}
}

func testDocumentDelete(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u := user(t, s, "a@example.com")
	d := document(t, s, u.ID, "faq.md", attune.StatusReady)
	b := attune.Benchmark{ID: attune.NewID(attune.PrefixBenchmark), OwnerID: u.ID,
		Type: attune.BenchmarkGenerated, DocumentIDs: []string{d.ID}, Status: attune.StatusProcessing}
	must(t, s.CreateBenchmark(ctx, &b), "CreateBenchmark")

	_, err := s.DeleteDocument(ctx, u.ID, d.ID)
	wantKind(t, err, attune.KindConflict, "DeleteDocument in use by a benchmark being generated")

	_, err = s.UpdateBenchmark(ctx, u.ID, b.ID, func(b *attune.Benchmark) error {
		b.Status = attune.StatusReady
		return nil
	})
	must(t, err, "UpdateBenchmark")
	got, err := s.DeleteDocument(ctx, u.ID, d.ID)
	must(t, err, "DeleteDocument")
	if got.SHA256 != d.SHA256 {
		t.Errorf("DeleteDocument returned %+v, want the deleted document", got)
	}
	_, err = s.Document(ctx, u.ID, d.ID)
	wantKind(t, err, attune.KindNotFound, "Document after delete")
	ref, err := s.BlobReferenced(ctx, d.SHA256)
	must(t, err, "BlobReferenced")
	if ref {
		t.Errorf("BlobReferenced after delete: got true, want false")
	}
}
