package sqlite

import (
	"context"
	"fmt"

	"attune"
)

// UnfinishedWork lists every user's records whose processing has not
// ended, oldest first within each kind. An alignment's own evaluation is
// part of the alignment's work and is not listed apart.
func (s *Store) UnfinishedWork(ctx context.Context) ([]attune.WorkItem, error) {
	rows, err := s.q.QueryContext(ctx, `
		SELECT 'ingest', owner_id, id FROM documents WHERE status = 'PROCESSING'
		UNION ALL
		SELECT 'benchmark', owner_id, id FROM benchmarks WHERE status = 'PROCESSING'
		UNION ALL
		SELECT 'align', owner_id, id FROM alignments
			WHERE status IN ('QUEUED', 'PROCESSING', 'EVALUATING')
		UNION ALL
		SELECT 'evaluate', owner_id, id FROM evaluations
			WHERE status = 'PROCESSING' AND alignment_id = ''
		UNION ALL
		SELECT kind, owner_id, id FROM deployment_tasks WHERE status = 'PENDING'
		ORDER BY 1, 3`)
	if err != nil {
		return nil, fmt.Errorf("store: cannot list unfinished work: %w", err)
	}
	return collect(rows, func(sc scanner) (attune.WorkItem, error) {
		var w attune.WorkItem
		err := sc.Scan(&w.Kind, &w.OwnerID, &w.ID)
		return w, err
	})
}
