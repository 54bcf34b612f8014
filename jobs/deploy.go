package jobs

import (
	"context"
	"time"

	"attune"

	"github.com/riverqueue/river"
)

// deployWorker carries out a deploy task: it loads the model for serving
// and marks it DEPLOYED, or returns it to UNDEPLOYED with the task FAILED.
type deployWorker struct {
	river.WorkerDefaults[DeployArgs]
	c *Client
}

// Timeout bounds loading a base model and an adapter.
func (w *deployWorker) Timeout(*river.Job[DeployArgs]) time.Duration { return 30 * time.Minute }

func (w *deployWorker) Work(ctx context.Context, job *river.Job[DeployArgs]) error {
	c, a := w.c, job.Args
	err := c.deploy(ctx, a.Owner, a.TaskID)
	return c.outcome(ctx, job.JobRow, err, func(msg string) error {
		return c.taskDone(context.WithoutCancel(ctx), a.Owner, a.TaskID, attune.Undeployed, msg)
	})
}

// deploy does the work of a deploy task.
func (c *Client) deploy(ctx context.Context, owner, taskID string) error {
	st := c.deps.Store
	t, err := st.DeploymentTask(ctx, owner, taskID)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return nil
	}
	if err != nil || t.Status != attune.TaskPending {
		return err
	}
	m, err := st.AlignedModel(ctx, owner, t.ModelID)
	if err != nil {
		return err
	}
	base, err := st.BaseModel(ctx, m.BaseModel)
	if err != nil {
		return err
	}

	// An early deploy serves a copy of the newest checkpoint of a running
	// alignment: training replaces its checkpoint directory as it goes.
	adapter := m.AdapterPath
	if adapter == "" && t.Early {
		if adapter, err = c.earlyAdapter(ctx, m); err != nil {
			return err
		}
	}
	if c.deps.Deployer == nil {
		return unavailable("model deployment")
	}
	if err := c.deps.Deployer.Deploy(ctx, m, base, adapter); err != nil {
		return err
	}
	if adapter != m.AdapterPath {
		_, err := st.UpdateAlignedModel(ctx, owner, m.ID, func(m *attune.AlignedModel) error {
			if m.AdapterPath == "" {
				m.AdapterPath = adapter
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	c.log.Info("model deployed", "model_id", m.ID, "adapter", adapter, "early", t.Early)
	return c.taskDone(ctx, owner, taskID, attune.Deployed, "")
}

// earlyAdapter copies the newest checkpoint of m's alignment to a
// directory of m's own and returns it.
func (c *Client) earlyAdapter(ctx context.Context, m attune.AlignedModel) (string, error) {
	a, err := c.deps.Store.Alignment(ctx, m.OwnerID, m.AlignmentID)
	if err != nil {
		return "", err
	}
	if a.Checkpoint == "" {
		return "", attune.Errorf(attune.KindConflict,
			"model %s has no checkpoint to deploy yet; try again after its first checkpoint (step %d of %d)",
			m.ID, a.Step, a.TotalSteps)
	}
	dst := c.adapterDir(m.OwnerID, m.ID) + earlySuffix
	if err := copyAdapter(a.Checkpoint, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// taskDone ends a deployment task and sets its model's deployment status:
// COMPLETED when failure is empty, FAILED with it otherwise.
func (c *Client) taskDone(ctx context.Context, owner, taskID string, status attune.DeploymentStatus, failure string) error {
	return c.deps.Store.InTx(ctx, func(st attune.Store) error {
		t, err := st.UpdateDeploymentTask(ctx, owner, taskID, func(t *attune.DeploymentTask) error {
			end := c.cfg.Now().UTC()
			t.Status, t.EndedAt, t.Error = attune.TaskCompleted, &end, failure
			if failure != "" {
				t.Status = attune.TaskFailed
			} else if t.Kind == attune.TaskDeploy {
				t.Message = "the model is deployed"
			} else {
				t.Message = "the model is undeployed"
			}
			return nil
		})
		if err != nil {
			return err
		}
		_, err = st.UpdateAlignedModel(ctx, owner, t.ModelID, func(m *attune.AlignedModel) error {
			m.DeploymentStatus = status
			return nil
		})
		return err
	})
}

// undeployWorker carries out an undeploy task.
type undeployWorker struct {
	river.WorkerDefaults[UndeployArgs]
	c *Client
}

// Timeout bounds unloading, which waits for requests in flight.
func (w *undeployWorker) Timeout(*river.Job[UndeployArgs]) time.Duration { return 10 * time.Minute }

func (w *undeployWorker) Work(ctx context.Context, job *river.Job[UndeployArgs]) error {
	c, a := w.c, job.Args
	err := c.undeploy(ctx, a.Owner, a.TaskID)
	return c.outcome(ctx, job.JobRow, err, func(msg string) error {
		// The model stays deployed when it could not be unloaded.
		return c.taskDone(context.WithoutCancel(ctx), a.Owner, a.TaskID, attune.Deployed, msg)
	})
}

// undeploy does the work of an undeploy task.
func (c *Client) undeploy(ctx context.Context, owner, taskID string) error {
	t, err := c.deps.Store.DeploymentTask(ctx, owner, taskID)
	if attune.ErrorKind(err) == attune.KindNotFound {
		return nil
	}
	if err != nil || t.Status != attune.TaskPending {
		return err
	}
	if c.deps.Undeployer != nil {
		if err := c.deps.Undeployer.Undeploy(ctx, t.ModelID); err != nil {
			return err
		}
	}
	c.log.Info("model undeployed", "model_id", t.ModelID)
	return c.taskDone(ctx, owner, taskID, attune.Undeployed, "")
}
