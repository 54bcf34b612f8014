package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"attune/client"
)

func init() {
	register("deploy", "deploy an aligned model so that it serves chat", cmdFunc(deploy))
	register("undeploy", "stop serving an aligned model", cmdFunc(undeploy))
	registerSub("models", "aligned", "list the aligned models on a server", cmdFunc(modelsAligned))
}

// deploy starts deploying an aligned model and, with --wait, waits until
// it serves.
func deploy(ctx context.Context, args []string, io stdio) error {
	return changeDeployment(ctx, args, io, deployment{
		name: "deploy", done: "DEPLOYED",
		start: (*client.Client).Deploy, wait: (*client.Client).WaitDeployed,
	})
}

// undeploy starts undeploying an aligned model and, with --wait, waits
// until it no longer serves.
func undeploy(ctx context.Context, args []string, io stdio) error {
	return changeDeployment(ctx, args, io, deployment{
		name: "undeploy", done: "UNDEPLOYED",
		start: (*client.Client).Undeploy, wait: (*client.Client).WaitUndeployed,
	})
}

// deployment is one direction of a deployment change: the command's name,
// the status it ends in, and the client calls that start and await it.
type deployment struct {
	name, done  string
	start, wait func(*client.Client, context.Context, string) error
}

// changeDeployment runs "attune deploy" or "attune undeploy" for d.
func changeDeployment(ctx context.Context, args []string, io stdio, d deployment) error {
	var r remote
	fs := newFlags(d.name, d.name+" MODEL [--wait]", io)
	r.addFlags(fs, io)
	wait := fs.Bool("wait", false, "wait until the model is "+strings.ToLower(d.done))
	c, pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	model := pos[0]
	if err := d.start(c, ctx, model); err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	status := "PENDING"
	if *wait {
		if err := d.wait(c, ctx, model); err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
		status = d.done
	}
	if r.json {
		return printJSON(io.out, map[string]string{"model_id": model, "status": status})
	}
	fmt.Fprintf(io.out, "%s %s\n", model, status)
	return nil
}

// modelsAligned lists the caller's aligned models with their deployment.
func modelsAligned(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("models aligned", "models aligned [--json]", io)
	r.addFlags(fs, io)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	c, err := r.client()
	if err != nil {
		return err
	}
	models, err := c.AlignedModels(ctx)
	if err != nil {
		return fmt.Errorf("models aligned: %w", err)
	}
	if r.json {
		return printJSON(io.out, models)
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tNAME\tBASE MODEL\tSTATUS\tDEPLOYMENT")
	for _, m := range models {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.Name, m.BaseModel, m.Status, orDash(m.DeploymentStatus))
	}
	return tw.Flush()
}
