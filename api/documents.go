package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"strings"

	"attune"
	"attune/ingest"
)

// uploadTypes are the file types a document upload takes: NuGen's, and the
// ones attune adds (html, pdf, docx). ingest.Supported has the last word.
var uploadTypes = []string{"txt", "md", "json", "jsonl", "csv", "xml", "html", "pdf", "docx"}

// checkTextLimit is the largest file whose text is extracted while the
// client waits, so that a file that cannot be read is refused at once;
// larger files are read by the ingestion job, and one that cannot be read
// ends FAILED with the reason.
const checkTextLimit = 8 << 20

// uploadMemory is how much of a multipart upload is held in memory; the
// rest goes to temporary files.
const uploadMemory = 32 << 20

// parseMultipart reads a multipart form within the upload limits.
func (s *Server) parseMultipart(w http.ResponseWriter, r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "multipart/form-data") {
		return attune.Errorf(attune.KindInvalid, "send the files as multipart/form-data, not %q", ct)
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.UploadBodyLimit)
	if err := r.ParseMultipartForm(uploadMemory); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return attune.Errorf(attune.KindTooLarge, "the upload is larger than the limit of %d bytes", s.cfg.UploadBodyLimit)
		}
		return attune.Errorf(attune.KindInvalid, "cannot read the multipart form: %v", err)
	}
	return nil
}

// fileType returns a file's type from its name, or a 422 that says which
// types are taken.
func fileType(name string) (string, error) {
	ext := ingest.FormatOf(name)
	if !slices.Contains(uploadTypes, ext) || !ingest.Supported(name) {
		return "", invalidField("body", "files", fmt.Sprintf("%s: unsupported file type %q; attune takes .%s",
			name, ext, strings.Join(uploadTypes, " .")), "value_error")
	}
	return ext, nil
}

// checkUploads validates every file of an upload before any is stored, so
// that a bad file leaves nothing half-stored.
func (s *Server) checkUploads(files []*multipart.FileHeader) ([]string, error) {
	if len(files) == 0 {
		return nil, invalidField("body", "files", "no file was sent; send one or more files in the field \"files\"", "missing")
	}
	types := make([]string, len(files))
	for i, fh := range files {
		name := filepath.Base(fh.Filename)
		typ, err := fileType(name)
		if err != nil {
			return nil, err
		}
		switch {
		case fh.Size > s.cfg.UploadFileLimit:
			return nil, attune.Errorf(attune.KindTooLarge, "%s is %d bytes, over the limit of %d bytes a file", name, fh.Size, s.cfg.UploadFileLimit)
		case fh.Size == 0:
			return nil, invalidField("body", "files", name+" is empty", "value_error")
		}
		types[i] = typ
	}
	return types, nil
}

// formCategories reads the categories of an upload: repeated fields,
// comma-separated lists or a JSON array, all accepted.
func formCategories(values []string) []string {
	var cats []string
	for _, v := range values {
		var list []string
		if json.Unmarshal([]byte(v), &list) != nil {
			list = strings.Split(v, ",")
		}
		for _, c := range list {
			if c = strings.TrimSpace(c); c != "" && !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	return cats
}

// handleUpload answers POST /documents: each file is stored as a blob and
// gets an upload task and a document, all in one transaction, and then an
// ingestion job.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) error {
	if err := s.parseMultipart(w, r); err != nil {
		return err
	}
	defer r.MultipartForm.RemoveAll()
	files := r.MultipartForm.File["files"]
	types, err := s.checkUploads(files)
	if err != nil {
		return err
	}
	cats := formCategories(r.MultipartForm.Value["categories"])
	owner := callerOf(r).UserID
	ctx := r.Context()

	// Store the bytes first: blobs are content-addressed, so a failure
	// after this leaves at most an unreferenced blob, which is removed.
	datas := make([][]byte, len(files))
	for i, fh := range files {
		if datas[i], err = readableText(fh); err != nil {
			return err
		}
	}
	docs := make([]attune.Document, len(files))
	for i, fh := range files {
		sha, size, err := s.putFile(ctx, fh, datas[i])
		if err != nil {
			s.dropBlobs(ctx, docs[:i])
			return err
		}
		docs[i] = attune.Document{
			ID: attune.NewID(attune.PrefixDocument), OwnerID: owner,
			Filename: filepath.Base(fh.Filename), Type: types[i], Size: size, SHA256: sha,
			Categories: cats, Status: attune.StatusProcessing,
		}
	}
	tasks := make([]string, len(files))
	err = s.deps.Store.InTx(ctx, func(st attune.Store) error {
		for i := range docs {
			t := attune.UploadTask{
				ID: attune.NewID(""), OwnerID: owner, Filename: docs[i].Filename,
				DocumentID: docs[i].ID, Status: attune.StatusProcessing,
			}
			if err := st.CreateUpload(ctx, &t, &docs[i]); err != nil {
				return err
			}
			tasks[i] = t.ID
		}
		return nil
	})
	if err != nil {
		s.dropBlobs(ctx, docs)
		return duplicateError(err)
	}

	for _, d := range docs {
		if err := s.deps.Queue.IngestDocument(ctx, owner, d.ID); err != nil {
			return fmt.Errorf("api: cannot queue ingestion of %s: %w", d.ID, err)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"document_ids": tasks})
	return nil
}

// readableText reads a file that is small enough and checks that its text
// can be extracted, answering a 400 that says why not. It returns the
// bytes it read, or nil for a file left to the ingestion job.
func readableText(fh *multipart.FileHeader) ([]byte, error) {
	if fh.Size > checkTextLimit {
		return nil, nil
	}
	f, err := fh.Open()
	if err != nil {
		return nil, fmt.Errorf("api: cannot open upload %s: %w", fh.Filename, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("api: cannot read upload %s: %w", fh.Filename, err)
	}
	if _, err := ingest.Extract(filepath.Base(fh.Filename), data); err != nil {
		return nil, attune.Errorf(attune.KindInvalid, "%s", attune.ErrorMessage(err))
	}
	return data, nil
}

// putFile stores an uploaded file's bytes: data when it was read already,
// or the file itself.
func (s *Server) putFile(ctx context.Context, fh *multipart.FileHeader, data []byte) (string, int64, error) {
	if data != nil {
		return s.deps.Blobs.Put(ctx, bytes.NewReader(data))
	}
	f, err := fh.Open()
	if err != nil {
		return "", 0, fmt.Errorf("api: cannot open upload %s: %w", fh.Filename, err)
	}
	defer f.Close()
	return s.deps.Blobs.Put(ctx, f)
}

// dropBlobs removes the blobs of documents that were not stored, unless
// another record uses the same bytes.
func (s *Server) dropBlobs(ctx context.Context, docs []attune.Document) {
	for _, d := range docs {
		if used, err := s.deps.Store.BlobReferenced(ctx, d.SHA256); err == nil && !used {
			_ = s.deps.Blobs.Delete(ctx, d.SHA256)
		}
	}
}

// duplicateError turns the store's duplicate-filename conflict into
// NuGen's 409 naming the existing document.
func duplicateError(err error) error {
	var exists *attune.ExistsError
	if attune.ErrorKind(err) != attune.KindConflict || !errors.As(err, &exists) {
		return err
	}
	return &detailError{status: http.StatusConflict, detail: map[string]any{
		"message":     attune.ErrorMessage(err),
		"document_id": exists.ID,
	}}
}

// handleUploadStatus answers GET /documents/{task_id}. The plural alias
// also takes a document id.
func (s *Server) handleUploadStatus(w http.ResponseWriter, r *http.Request) error {
	id, owner := r.PathValue("task_id"), callerOf(r).UserID
	if strings.HasPrefix(id, attune.PrefixDocument) {
		d, err := s.deps.Store.Document(r.Context(), owner, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, uploadStatus(d.Status, d.ID, d.Error))
		return nil
	}
	t, err := s.deps.Store.UploadTask(r.Context(), owner, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, uploadStatus(t.Status, t.DocumentID, t.Error))
	return nil
}

func uploadStatus(st attune.Status, docID, reason string) map[string]any {
	out := map[string]any{"status": st, "document_id": nilIfEmpty(docID)}
	if reason != "" {
		out["error"] = reason
	}
	return out
}

// handleListDocuments answers GET /documents.
func (s *Server) handleListDocuments(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	c := callerOf(r)
	docs, total, err := s.deps.Store.ListDocuments(r.Context(), c.UserID, attune.Page(p))
	if err != nil {
		return err
	}
	cats, err := s.deps.Store.DocumentCategories(r.Context(), c.UserID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(docs))
	for i, d := range docs {
		items[i] = map[string]any{
			"id": d.ID, "filename": d.Filename, "type": d.Type, "size": d.Size,
			"upload_date": timestamp(d.CreatedAt), "status": d.Status,
			"categories": nonNil(d.Categories), "uploader": c.Email,
			"processing_progress": d.Progress, "error": nilIfEmpty(d.Error),
		}
	}
	catItems := make([]map[string]any, len(cats))
	for i, cc := range cats {
		catItems[i] = map[string]any{"name": cc.Name, "count": cc.Count}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"documents": items, "categories": catItems,
		"total": total, "limit": p.Limit, "offset": p.Offset,
	})
	return nil
}

// handleDeleteDocument answers DELETE /documents/{id}; the document's bytes
// go too unless another record shares them.
func (s *Server) handleDeleteDocument(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	d, err := s.deps.Store.DeleteDocument(ctx, callerOf(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.dropBlobs(ctx, []attune.Document{d})
	if d.TextSHA256 != "" {
		if used, err := s.deps.Store.BlobReferenced(ctx, d.TextSHA256); err == nil && !used {
			_ = s.deps.Blobs.Delete(ctx, d.TextSHA256)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"document_id": d.ID, "message": "Document " + d.Filename + " deleted",
	})
	return nil
}

// nilIfEmpty answers null for an empty string.
func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nonNil answers [] rather than null for an empty list.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}
