package jobs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"attune"
)

// The work directory holds what jobs write, by owner, so that a record's
// files can be matched with the record:
//
//	checkpoints/OWNER/ALIGNMENT/   training checkpoints, until the adapter is saved
//	adapters/OWNER/MODEL/          trained adapters
//	adapters/OWNER/MODEL-early/    copies of checkpoints deployed early

// earlySuffix ends the directory of an early-deployed checkpoint copy.
const earlySuffix = "-early"

// checkpointDir is where an alignment's training checkpoints go.
func (c *Client) checkpointDir(owner, alignmentID string) string {
	return filepath.Join(c.cfg.WorkDir, "checkpoints", owner, alignmentID)
}

// adapterDir is where a model's trained adapter goes.
func (c *Client) adapterDir(owner, modelID string) string {
	return filepath.Join(c.cfg.WorkDir, "adapters", owner, modelID)
}

// sweepWork removes the files of alignments and models that no longer
// exist (deleted through the API), so that deleting frees the disk. It
// runs at Start, before any job writes; a record it cannot check is kept.
func (c *Client) sweepWork(ctx context.Context) error {
	st := c.deps.Store
	gone := func(kind string, owner, id string) bool {
		var err error
		if kind == "checkpoints" {
			_, err = st.Alignment(ctx, owner, id)
		} else {
			_, err = st.AlignedModel(ctx, owner, strings.TrimSuffix(id, earlySuffix))
		}
		return attune.ErrorKind(err) == attune.KindNotFound
	}
	for _, kind := range []string{"checkpoints", "adapters"} {
		owners, err := os.ReadDir(filepath.Join(c.cfg.WorkDir, kind))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, o := range owners {
			dir := filepath.Join(c.cfg.WorkDir, kind, o.Name())
			ids, err := os.ReadDir(dir)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if !strings.HasPrefix(id.Name(), ".") && gone(kind, o.Name(), id.Name()) {
					c.log.Info("removing the files of a deleted record", "path", filepath.Join(dir, id.Name()))
					if err := os.RemoveAll(filepath.Join(dir, id.Name())); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}
