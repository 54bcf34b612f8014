package jobs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"attune"
	"attune/ingest"

	"github.com/riverqueue/river"
)

// Ingest is the real Extractor: ingest.Extract for the text, ingest.Split
// with its defaults for the chunk count.
type Ingest struct{}

// Extract extracts filename's text and counts its chunks.
func (Ingest) Extract(ctx context.Context, filename string, data []byte) (string, int, error) {
	doc, err := ingest.Extract(filename, data)
	if err != nil {
		return "", 0, err
	}
	return doc.Text, len(ingest.Split("", doc, ingest.ChunkOptions{})), nil
}

// ingestWorker extracts a document's text into a blob and marks the
// document READY, or FAILED with the reason.
type ingestWorker struct {
	river.WorkerDefaults[IngestArgs]
	c *Client
}

// Timeout bounds one ingestion; a large PDF takes seconds, not minutes.
func (w *ingestWorker) Timeout(*river.Job[IngestArgs]) time.Duration { return 10 * time.Minute }

func (w *ingestWorker) Work(ctx context.Context, job *river.Job[IngestArgs]) error {
	c, a := w.c, job.Args
	err := c.ingest(ctx, a.Owner, a.DocumentID)
	return c.outcome(ctx, job.JobRow, err, func(msg string) error {
		_, err := c.deps.Store.UpdateDocument(context.WithoutCancel(ctx), a.Owner, a.DocumentID,
			func(d *attune.Document) error {
				d.Status, d.Error = attune.StatusFailed, "cannot read the file: "+msg
				return nil
			})
		return err
	})
}

// ingest does the work of an ingestion job.
func (c *Client) ingest(ctx context.Context, owner, id string) error {
	st := c.deps.Store
	d, err := st.Document(ctx, owner, id)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return nil // deleted since: nothing to do
	}
	if err != nil || d.Status != attune.StatusProcessing {
		return err
	}
	if c.deps.Extractor == nil {
		return unavailable("text extraction")
	}

	// Read the bytes, extract, and store the text before the record.
	data, err := c.readBlob(ctx, d.SHA256)
	if err != nil {
		return err
	}
	text, chunks, err := c.deps.Extractor.Extract(ctx, d.Filename, data)
	if err != nil {
		return err
	}
	sha, _, err := c.deps.Blobs.Put(ctx, strings.NewReader(text))
	if err != nil {
		return err
	}
	_, err = st.UpdateDocument(ctx, owner, id, func(d *attune.Document) error {
		d.Status, d.Error, d.Progress = attune.StatusReady, "", 100
		d.TextSHA256, d.Chunks = sha, chunks
		return nil
	})
	if err == nil {
		c.log.Info("document ingested", "document_id", id, "chunks", chunks, "text_bytes", len(text))
	}
	return err
}

// readBlob reads a whole blob.
func (c *Client) readBlob(ctx context.Context, sha string) ([]byte, error) {
	rc, err := c.deps.Blobs.Open(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("jobs: cannot read blob %s: %w", sha, err)
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// documentTexts returns the extracted text of the owner's documents.
func (c *Client) documentTexts(ctx context.Context, owner string, ids []string) ([]DocText, error) {
	var out []DocText
	for _, id := range ids {
		d, err := c.deps.Store.Document(ctx, owner, id)
		if err != nil {
			return nil, err
		}
		if d.Status != attune.StatusReady {
			return nil, attune.Errorf(attune.KindConflict, "document %s is not ready (status %s)", id, d.Status)
		}
		text, err := c.readBlob(ctx, d.TextSHA256)
		if err != nil {
			return nil, err
		}
		out = append(out, DocText{ID: id, Filename: d.Filename, Text: string(text)})
	}
	return out, nil
}
