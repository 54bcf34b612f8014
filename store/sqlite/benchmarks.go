package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"attune"
)

var benchTable = newTable("benchmarks", "id", "owner_id", "name", "description", "type",
	"document_ids", "num_questions", "questions", "status", "error",
	"created_at", "updated_at", "started_at", "ended_at")

func benchArgs(b *attune.Benchmark) []any {
	qs := b.Questions
	if qs == nil {
		qs = []attune.Question{}
	}
	return []any{b.ID, b.OwnerID, b.Name, b.Description, string(b.Type),
		jsonCol{v: strs(b.DocumentIDs)}, b.NumQuestions, jsonCol{v: qs},
		string(b.Status), b.Error, encTime(b.CreatedAt), encTime(b.UpdatedAt),
		encTimePtr(b.StartedAt), encTimePtr(b.EndedAt)}
}

// scanBench scans a benchmark. Lists select JSON null in place of the
// questions, which leaves Questions nil.
func scanBench(sc scanner) (attune.Benchmark, error) {
	var b attune.Benchmark
	err := sc.Scan(&b.ID, &b.OwnerID, &b.Name, &b.Description, &b.Type,
		jsonCol{v: &b.DocumentIDs}, &b.NumQuestions, jsonCol{v: &b.Questions},
		&b.Status, &b.Error, timeCol{&b.CreatedAt}, timeCol{&b.UpdatedAt},
		nullTimeCol{&b.StartedAt}, nullTimeCol{&b.EndedAt})
	return b, err
}

// benchListCols is benchTable's column list with the questions left out.
const benchListCols = `id, owner_id, name, description, type, document_ids,
	num_questions, 'null', status, error, created_at, updated_at, started_at, ended_at`

// CreateBenchmark stores b after checking its documents.
func (s *Store) CreateBenchmark(ctx context.Context, b *attune.Benchmark) error {
	return s.inTx(ctx, func(s *Store) error {
		needReady := b.Type == attune.BenchmarkGenerated
		if err := s.checkDocuments(ctx, b.OwnerID, b.DocumentIDs, needReady); err != nil {
			return err
		}
		b.CreatedAt = s.stamp()
		b.UpdatedAt = b.CreatedAt
		if _, err := s.q.ExecContext(ctx, benchTable.insert, benchArgs(b)...); err != nil {
			return s.createErr("benchmark", b.OwnerID, err)
		}
		return nil
	})
}

// checkDocuments returns KindNotFound naming the first of ids that is not
// one of owner's documents or, with ready set, is not READY.
func (s *Store) checkDocuments(ctx context.Context, owner string, ids []string, ready bool) error {
	for _, id := range ids {
		var status attune.Status
		err := s.q.QueryRowContext(ctx,
			"SELECT status FROM documents WHERE id = ? AND owner_id = ?", id, owner).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("document", id)
		}
		if err != nil {
			return fmt.Errorf("store: cannot check document %s: %w", id, err)
		}
		if ready && status != attune.StatusReady {
			return attune.Errorf(attune.KindNotFound, "document %q is not ready (status %s)", id, status)
		}
	}
	return nil
}

// Benchmark returns a benchmark with its questions.
func (s *Store) Benchmark(ctx context.Context, owner, id string) (attune.Benchmark, error) {
	row := s.q.QueryRowContext(ctx, benchTable.selectFrom("WHERE id = ? AND owner_id = ?"), id, owner)
	b, err := scanBench(row)
	return b, readErr(err, "benchmark", id)
}

// ListBenchmarks returns a page of the owner's benchmarks without questions.
func (s *Store) ListBenchmarks(ctx context.Context, owner string, p attune.Page) ([]attune.Benchmark, int, error) {
	total, err := s.count(ctx, "SELECT COUNT(*) FROM benchmarks WHERE owner_id = ?", owner)
	if err != nil {
		return nil, 0, err
	}
	lim, args := limitOffset(p)
	rows, err := s.q.QueryContext(ctx, "SELECT "+benchListCols+
		" FROM benchmarks WHERE owner_id = ? ORDER BY id DESC"+lim, append([]any{owner}, args...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: cannot list benchmarks: %w", err)
	}
	bs, err := collect(rows, scanBench)
	return bs, total, err
}

// UpdateBenchmark changes a benchmark through fn.
func (s *Store) UpdateBenchmark(ctx context.Context, owner, id string, fn func(*attune.Benchmark) error) (attune.Benchmark, error) {
	var b attune.Benchmark
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		if b, err = s.Benchmark(ctx, owner, id); err != nil {
			return err
		}
		created := b.CreatedAt
		if err := fn(&b); err != nil {
			return err
		}
		b.ID, b.OwnerID, b.CreatedAt, b.UpdatedAt = id, owner, created, s.stamp()
		return s.write(ctx, benchTable, benchArgs(&b), id)
	})
	return b, err
}

// DeleteBenchmark deletes a benchmark unless unfinished work uses it.
func (s *Store) DeleteBenchmark(ctx context.Context, owner, id string) error {
	return s.inTx(ctx, func(s *Store) error {
		if _, err := s.Benchmark(ctx, owner, id); err != nil {
			return err
		}
		var user string
		err := s.q.QueryRowContext(ctx, `
			SELECT id FROM alignments
			WHERE benchmark_id = ?1 AND status IN ('QUEUED', 'PROCESSING', 'EVALUATING')
			UNION ALL
			SELECT id FROM evaluations WHERE benchmark_id = ?1 AND status = 'PROCESSING'
			LIMIT 1`, id).Scan(&user)
		switch {
		case err == nil:
			return attune.Errorf(attune.KindConflict,
				"benchmark %s is in use by %s, which has not finished; wait for it or stop it first", id, user)
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: cannot check uses of %s: %w", id, err)
		}
		_, err = s.q.ExecContext(ctx, "DELETE FROM benchmarks WHERE id = ?", id)
		if err != nil {
			return fmt.Errorf("store: cannot delete benchmark %s: %w", id, err)
		}
		return nil
	})
}
