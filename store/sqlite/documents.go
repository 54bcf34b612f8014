package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"attune"
)

var docsTable = newTable("documents", "id", "owner_id", "filename", "type", "size",
	"sha256", "categories", "status", "error", "progress", "text_sha256", "chunks",
	"created_at", "updated_at")

func docArgs(d *attune.Document) []any {
	return []any{d.ID, d.OwnerID, d.Filename, d.Type, d.Size, d.SHA256,
		jsonCol{v: strs(d.Categories)}, string(d.Status), d.Error, d.Progress,
		d.TextSHA256, d.Chunks, encTime(d.CreatedAt), encTime(d.UpdatedAt)}
}

func scanDoc(sc scanner) (attune.Document, error) {
	var d attune.Document
	err := sc.Scan(&d.ID, &d.OwnerID, &d.Filename, &d.Type, &d.Size, &d.SHA256,
		jsonCol{v: &d.Categories}, &d.Status, &d.Error, &d.Progress,
		&d.TextSHA256, &d.Chunks, timeCol{&d.CreatedAt}, timeCol{&d.UpdatedAt})
	return d, err
}

var tasksTable = newTable("upload_tasks", "id", "owner_id", "filename", "document_id",
	"status", "error", "created_at", "updated_at")

func taskArgs(t *attune.UploadTask) []any {
	return []any{t.ID, t.OwnerID, t.Filename, t.DocumentID, string(t.Status), t.Error,
		encTime(t.CreatedAt), encTime(t.UpdatedAt)}
}

func scanTask(sc scanner) (attune.UploadTask, error) {
	var t attune.UploadTask
	err := sc.Scan(&t.ID, &t.OwnerID, &t.Filename, &t.DocumentID, &t.Status, &t.Error,
		timeCol{&t.CreatedAt}, timeCol{&t.UpdatedAt})
	return t, err
}

// CreateUpload stores an upload task and its document together.
func (s *Store) CreateUpload(ctx context.Context, t *attune.UploadTask, d *attune.Document) error {
	return s.inTx(ctx, func(s *Store) error {
		now := s.stamp()
		if d != nil {
			if err := s.checkNewFilename(ctx, d.OwnerID, d.Filename); err != nil {
				return err
			}
			d.CreatedAt, d.UpdatedAt = now, now
			if _, err := s.q.ExecContext(ctx, docsTable.insert, docArgs(d)...); err != nil {
				return s.createErr("document", d.OwnerID, err)
			}
			t.DocumentID = d.ID
		}
		t.CreatedAt, t.UpdatedAt = now, now
		if _, err := s.q.ExecContext(ctx, tasksTable.insert, taskArgs(t)...); err != nil {
			return s.createErr("upload task", t.OwnerID, err)
		}
		return nil
	})
}

// checkNewFilename returns KindConflict wrapping an *attune.ExistsError
// when owner already has a document named filename.
func (s *Store) checkNewFilename(ctx context.Context, owner, filename string) error {
	var id string
	err := s.q.QueryRowContext(ctx,
		"SELECT id FROM documents WHERE owner_id = ? AND filename = ?", owner, filename).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: cannot check filename: %w", err)
	}
	return &attune.Error{
		Kind:    attune.KindConflict,
		Message: fmt.Sprintf("a document named %q already exists", filename),
		Err:     &attune.ExistsError{ID: id},
	}
}

// createErr turns an insert's error into the Store's errors: a missing
// owner is KindNotFound, a taken id KindConflict.
func (s *Store) createErr(what, owner string, err error) error {
	switch {
	case isForeignKey(err):
		return attune.Errorf(attune.KindNotFound, "cannot create %s: a record it refers to (owner %q) does not exist", what, owner)
	case isUnique(err):
		return attune.Errorf(attune.KindConflict, "cannot create %s: it already exists", what)
	}
	return fmt.Errorf("store: cannot create %s: %w", what, err)
}

// UploadTask returns an upload task.
func (s *Store) UploadTask(ctx context.Context, owner, id string) (attune.UploadTask, error) {
	row := s.q.QueryRowContext(ctx, tasksTable.selectFrom("WHERE id = ? AND owner_id = ?"), id, owner)
	t, err := scanTask(row)
	return t, readErr(err, "upload task", id)
}

// UpdateUploadTask changes an upload task through fn.
func (s *Store) UpdateUploadTask(ctx context.Context, owner, id string, fn func(*attune.UploadTask) error) (attune.UploadTask, error) {
	var t attune.UploadTask
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if t, err = s.UploadTask(ctx, owner, id); err != nil {
			return err
		}
		created := t.CreatedAt
		if err := fn(&t); err != nil {
			return err
		}
		t.ID, t.OwnerID, t.CreatedAt, t.UpdatedAt = id, owner, created, s.stamp()
		return s.write(ctx, tasksTable, taskArgs(&t), id)
	})
	return t, err
}

// Document returns a document.
func (s *Store) Document(ctx context.Context, owner, id string) (attune.Document, error) {
	row := s.q.QueryRowContext(ctx, docsTable.selectFrom("WHERE id = ? AND owner_id = ?"), id, owner)
	d, err := scanDoc(row)
	return d, readErr(err, "document", id)
}

// ListDocuments returns a page of the owner's documents, newest first.
func (s *Store) ListDocuments(ctx context.Context, owner string, p attune.Page) ([]attune.Document, int, error) {
	total, err := s.count(ctx, "SELECT COUNT(*) FROM documents WHERE owner_id = ?", owner)
	if err != nil {
		return nil, 0, err
	}
	lim, args := limitOffset(p)
	rows, err := s.q.QueryContext(ctx, docsTable.selectFrom("WHERE owner_id = ? ORDER BY id DESC"+lim),
		append([]any{owner}, args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: cannot list documents: %w", err)
	}
	docs, err := collect(rows, scanDoc)
	return docs, total, err
}

// DocumentCategories counts the owner's documents per category, by name.
func (s *Store) DocumentCategories(ctx context.Context, owner string) ([]attune.CategoryCount, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT c.value, COUNT(*)
		FROM documents d, json_each(d.categories) c
		WHERE d.owner_id = ? GROUP BY c.value ORDER BY c.value`, owner)
	if err != nil {
		return nil, fmt.Errorf("store: cannot count categories: %w", err)
	}
	return collect(rows, func(sc scanner) (attune.CategoryCount, error) {
		var c attune.CategoryCount
		err := sc.Scan(&c.Name, &c.Count)
		return c, err
	})
}

// UpdateDocument changes a document through fn; its upload task follows
// its status and error.
func (s *Store) UpdateDocument(ctx context.Context, owner, id string, fn func(*attune.Document) error) (attune.Document, error) {
	var d attune.Document
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if d, err = s.Document(ctx, owner, id); err != nil {
			return err
		}
		created := d.CreatedAt
		if err := fn(&d); err != nil {
			return err
		}
		d.ID, d.OwnerID, d.CreatedAt, d.UpdatedAt = id, owner, created, s.stamp()
		if err := s.write(ctx, docsTable, docArgs(&d), id); err != nil {
			return err
		}
		_, err = s.q.ExecContext(ctx,
			"UPDATE upload_tasks SET status = ?, error = ?, updated_at = ? WHERE document_id = ?",
			string(d.Status), d.Error, encTime(d.UpdatedAt), id)
		if err != nil {
			return fmt.Errorf("store: cannot update upload task of %s: %w", id, err)
		}
		return nil
	})
	return d, err
}

// DeleteDocument deletes a document unless unfinished work uses it.
func (s *Store) DeleteDocument(ctx context.Context, owner, id string) (attune.Document, error) {
	var d attune.Document
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if d, err = s.Document(ctx, owner, id); err != nil {
			return err
		}
		if user, err := s.documentUser(ctx, id); err != nil || user != "" {
			if err == nil {
				err = attune.Errorf(attune.KindConflict,
					"document %s is in use by %s, which has not finished; wait for it or stop it first", id, user)
			}
			return err
		}
		_, err = s.q.ExecContext(ctx, "DELETE FROM documents WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("store: cannot delete document %s: %w", id, err)
		}
		return nil
	})
	return d, err
}

// documentUser returns the id of a benchmark being generated from the
// document or of an unfinished alignment using it, or "" if none is.
func (s *Store) documentUser(ctx context.Context, docID string) (string, error) {
	var id string
	err := s.q.QueryRowContext(ctx, `
		SELECT b.id FROM benchmarks b, json_each(b.document_ids) j
		WHERE j.value = ?1 AND b.status = 'PROCESSING'
		UNION ALL
		SELECT a.id FROM alignments a, json_each(a.document_ids) j
		WHERE j.value = ?1 AND a.status IN ('QUEUED', 'PROCESSING', 'EVALUATING')
		LIMIT 1`, docID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: cannot check uses of %s: %w", docID, err)
	}
	return id, nil
}

// BlobReferenced reports whether any document refers to the blob.
func (s *Store) BlobReferenced(ctx context.Context, sha string) (bool, error) {
	n, err := s.count(ctx,
		"SELECT COUNT(*) FROM documents WHERE sha256 = ?1 OR text_sha256 = ?1", sha)
	return n > 0, err
}

// write updates the row with the given id from args in t's column order.
func (s *Store) write(ctx context.Context, t table, args []any, id string) error {
	res, err := s.q.ExecContext(ctx, t.update, append(args, id)...)
	if isUnique(err) {
		return attune.Errorf(attune.KindConflict, "cannot update %s: a unique value is taken", id)
	}
	return s.checkOne(res, err, t.name, id)
}

// readErr turns a single-row read's error into the Store's errors.
func readErr(err error, what, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what, id)
	}
	if err != nil {
		return fmt.Errorf("store: cannot read %s %s: %w", what, id, err)
	}
	return nil
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: cannot scan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: cannot read rows: %w", err)
	}
	return out, nil
}
