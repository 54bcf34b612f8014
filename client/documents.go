package client

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
)

// File is one file to upload: the name the server records and its bytes.
type File struct {
	Name string
	Body io.Reader
}

// DocumentTask is the status of one upload task.
type DocumentTask struct {
	Status     string `json:"status"`
	DocumentID string `json:"document_id"`
	Error      string `json:"error,omitempty"`
}

// Document is one stored document as the list route shows it.
type Document struct {
	ID                 string   `json:"id"`
	Filename           string   `json:"filename"`
	Type               string   `json:"type"`
	Size               int64    `json:"size"`
	UploadDate         Time     `json:"upload_date"`
	Status             string   `json:"status"`
	Categories         []string `json:"categories"`
	Uploader           string   `json:"uploader"`
	ProcessingProgress float64  `json:"processing_progress"`
}

// DocumentList is one page of documents.
type DocumentList struct {
	Documents  []Document `json:"documents"`
	Categories []struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	} `json:"categories"`
	Page
}

// UploadDocuments sends files in one multipart request and returns one
// upload task id per file, in order. The bodies are streamed, not held in
// memory.
func (c *Client) UploadDocuments(ctx context.Context, files []File, categories []string) ([]string, error) {
	pr, pw := io.Pipe()
	defer pr.Close() // ends the writer if the server answered without reading all
	mw := multipart.NewWriter(pw)
	go func() {
		pw.CloseWithError(writeUploads(mw, files, categories))
	}()
	req, err := c.newRequest(ctx, http.MethodPost, c.url("/documents", nil), pr, mw.FormDataContentType())
	if err != nil {
		return nil, err
	}
	var out struct {
		DocumentIDs []string `json:"document_ids"`
	}
	if err := c.sendDecode(req, &out); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	return out.DocumentIDs, nil
}

// writeUploads writes the multipart body of a document upload.
func writeUploads(mw *multipart.Writer, files []File, categories []string) error {
	for _, f := range files {
		part, err := mw.CreateFormFile("files", f.Name)
		if err != nil {
			return err
		}
		if _, err := io.Copy(part, f.Body); err != nil {
			return fmt.Errorf("client: cannot read %s: %w", f.Name, err)
		}
	}
	for _, cat := range categories {
		if err := mw.WriteField("categories", cat); err != nil {
			return err
		}
	}
	return mw.Close()
}

// UploadFiles uploads the files at paths, each under its base name.
func (c *Client) UploadFiles(ctx context.Context, categories []string, paths ...string) ([]string, error) {
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("client: cannot open document: %w", err)
		}
		defer f.Close()
		files = append(files, File{Name: filepath.Base(p), Body: f})
	}
	return c.UploadDocuments(ctx, files, categories)
}

// DocumentStatus returns the status of an upload task.
func (c *Client) DocumentStatus(ctx context.Context, taskID string) (*DocumentTask, error) {
	var out DocumentTask
	err := c.do(ctx, http.MethodGet, "/documents/"+pathID(taskID), nil, nil, &out)
	return &out, err
}

// WaitDocument polls an upload task until it is READY and returns its
// document id. A FAILED task is an error carrying the server's reason.
func (c *Client) WaitDocument(ctx context.Context, taskID string) (string, error) {
	var docID string
	err := c.wait(ctx, func() (bool, error) {
		st, err := c.DocumentStatus(ctx, taskID)
		if err != nil {
			return false, err
		}
		switch st.Status {
		case "READY":
			docID = st.DocumentID
			return true, nil
		case "FAILED":
			return false, fmt.Errorf("document upload %s failed: %s", taskID, orUnknown(st.Error))
		}
		return false, nil
	})
	return docID, err
}

// ListDocuments returns one page of the caller's documents.
func (c *Client) ListDocuments(ctx context.Context, opt ListOptions) (*DocumentList, error) {
	var out DocumentList
	err := c.do(ctx, http.MethodGet, "/documents", opt.query(), nil, &out)
	return &out, err
}

// DeleteDocument deletes a document.
func (c *Client) DeleteDocument(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/documents/"+pathID(id), nil, nil, nil)
}

func orUnknown(s string) string {
	if s == "" {
		return "the server gave no reason"
	}
	return s
}
