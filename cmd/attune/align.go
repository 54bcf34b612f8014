package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"attune/client"
)

func init() {
	registerGroup("align", "create, watch and stop alignment projects on a server")
	registerSub("align", "create", "start aligning a base model to documents", cmdFunc(alignCreate))
	registerSub("align", "status", "show an alignment's status", cmdFunc(alignStatus))
	registerSub("align", "list", "list alignment projects", cmdFunc(alignList))
	registerSub("align", "stop", "stop a running alignment, keeping its last checkpoint", cmdFunc(alignStop))
}

// alignCreate starts an alignment and, with --wait, follows it to the end
// with a progress bar.
func alignCreate(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("align create", "align create --name NAME --base-model ID --docs ID,ID... [--benchmark ID] [--epochs N] [--wait]", io)
	r.addFlags(fs, io)
	req := client.AlignmentRequest{Hyperparameters: &client.Hyperparameters{}}
	hp := req.Hyperparameters
	fs.StringVar(&req.Name, "name", "", "alignment name")
	fs.StringVar(&req.BaseModel, "base-model", "", "base model id (see GET /models/base)")
	docs := fs.String("docs", "", "comma-separated document ids")
	fs.StringVar(&req.BenchmarkID, "benchmark", "", "benchmark to evaluate before and after")
	fs.StringVar(&req.Description, "description", "", "what the alignment is for")
	fs.IntVar(&hp.Epochs, "epochs", 0, "training epochs (server default 2)")
	fs.Float64Var(&hp.LearningRate, "learning-rate", 0, "learning rate (server default 1e-4)")
	fs.IntVar(&hp.LoRARank, "lora-rank", 0, "LoRA rank (server default 8)")
	fs.Float64Var(&hp.LoRAAlpha, "lora-alpha", 0, "LoRA alpha (server default 16)")
	fs.IntVar(&hp.BatchSize, "batch-size", 0, "batch size (server default 16)")
	fs.IntVar(&hp.MaxSeqLen, "max-seq-len", 0, "longest training sequence in tokens")
	seed := fs.Int64("seed", -1, "training seed (default: the server's)")
	wait := fs.Bool("wait", false, "follow the alignment to the end with a progress bar")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	req.DocumentIDs = splitList(*docs)
	if req.Name == "" || req.BaseModel == "" || len(req.DocumentIDs) == 0 {
		fs.Usage()
		return fmt.Errorf("align create: --name, --base-model and --docs are required")
	}
	if *seed >= 0 {
		hp.Seed = seed
	}
	if *hp == (client.Hyperparameters{}) {
		req.Hyperparameters = nil
	}
	c, err := r.client()
	if err != nil {
		return err
	}

	id, err := c.CreateAlignment(ctx, req)
	if err != nil {
		return fmt.Errorf("align create: %w", err)
	}
	if !*wait {
		if r.json {
			return printJSON(io.out, map[string]string{"alignment_id": id, "status": "PROCESSING"})
		}
		fmt.Fprintf(io.out, "%s PROCESSING\n", id)
		return nil
	}
	if !r.json {
		fmt.Fprintf(io.out, "alignment %s started\n", id)
	}
	st, err := followAlignment(ctx, c, id, io, r.json)
	if err != nil {
		return fmt.Errorf("align create: %w", err)
	}
	if r.json {
		return printJSON(io.out, st)
	}
	printAlignment(io.out, &st.Data)
	return nil
}

// followAlignment waits for an alignment to finish, drawing its progress
// unless quiet.
func followAlignment(ctx context.Context, c *client.Client, id string, io stdio, quiet bool) (*client.AlignmentStatus, error) {
	p := &alignProgress{w: io.out, now: time.Now}
	show := p.show
	if quiet {
		show = nil
	}
	st, err := c.WaitAlignment(ctx, id, show)
	if !quiet && st != nil {
		p.finish(st)
	}
	return st, err
}

// alignProgress draws an alignment's progress: one bar per pipeline stage,
// each showing the whole pipeline's percentage, with the training step,
// loss and ETA beside it.
type alignProgress struct {
	w     io.Writer
	now   func() time.Time
	bar   *progressBar
	stage string
	frac  float64
	extra string
}

// show draws one status answer. The server's terminal stage ("done") is
// left to finish.
func (p *alignProgress) show(st *client.AlignmentStatus) {
	stage := alignStage(&st.Data)
	if client.Finished(st.Status) || stage == "done" {
		return
	}
	if stage != p.stage {
		if p.bar != nil {
			p.bar.end(p.stage, p.frac, p.extra)
		}
		p.bar, p.stage = newProgressBar(p.w, "align"), stage
	}
	p.frac, p.extra = st.Data.Progress/100, p.detail(&st.Data)
	p.bar.update(stage, p.frac, p.extra)
}

// finish ends the last bar and prints the alignment's final state on a
// line of its own.
func (p *alignProgress) finish(st *client.AlignmentStatus) {
	if p.bar != nil {
		p.bar.end(p.stage, p.frac, p.extra)
	}
	detail := ""
	if t := st.Data.Training; t != nil && t.Step > 0 {
		detail = fmt.Sprintf("%d steps, final loss %.4f", t.Step, t.Loss)
	}
	if st.Data.Error != "" {
		detail = st.Data.Error
	}
	newProgressBar(p.w, "align").done(strings.ToLower(st.Status), detail)
}

// detail is the text after the bar: step, loss and time left.
func (p *alignProgress) detail(a *client.Alignment) string {
	var parts []string
	if t := a.Training; t != nil && t.Step > 0 && alignStage(a) == "training" {
		parts = append(parts, fmt.Sprintf("step %d/%d", t.Step, t.TotalSteps),
			fmt.Sprintf("loss %.4f", t.Loss))
	}
	if !a.EstimatedCompletion.IsZero() {
		parts = append(parts, "ETA "+formatETA(a.EstimatedCompletion.Sub(p.now())))
	}
	return strings.Join(parts, "  ")
}

// alignStage names the stage an alignment is in: the server's own stage
// name when it sends one, else its status word.
func alignStage(a *client.Alignment) string {
	if a.Stage != "" {
		return a.Stage
	}
	return strings.ToLower(a.Status)
}

// alignStatus prints an alignment's status, once or until it finishes.
func alignStatus(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("align status", "align status ID [--wait] [--json]", io)
	r.addFlags(fs, io)
	wait := fs.Bool("wait", false, "follow the alignment to the end with a progress bar")
	c, pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	var st *client.AlignmentStatus
	if *wait {
		st, err = followAlignment(ctx, c, pos[0], io, r.json)
	} else {
		st, err = c.AlignmentStatus(ctx, pos[0])
	}
	if err != nil {
		return fmt.Errorf("align status: %w", err)
	}
	if r.json {
		return printJSON(io.out, st)
	}
	printAlignment(io.out, &st.Data)
	return nil
}

// printAlignment writes an alignment's state for a person.
func printAlignment(w io.Writer, a *client.Alignment) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "alignment\t%s (%s)\n", a.AlignmentID, a.AlignmentName)
	fmt.Fprintf(tw, "status\t%s, %.0f%%\n", a.Status, a.Progress)
	fmt.Fprintf(tw, "base model\t%s\n", a.BaseModel)
	fmt.Fprintf(tw, "documents\t%d\n", a.DocumentCount)
	if a.ModelID != "" {
		fmt.Fprintf(tw, "model\t%s\n", a.ModelID)
	}
	if a.EvaluationID != "" {
		fmt.Fprintf(tw, "evaluation\t%s\n", a.EvaluationID)
	}
	if a.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", a.Error)
	}
	if m := a.PerformanceMetrics; m != nil {
		fmt.Fprintf(tw, "accuracy\t%.2f → %.2f\n", m.AccuracyBefore, m.AccuracyAfter)
		fmt.Fprintf(tw, "domain violations\t%g → %g\n", m.DomainViolationsBefore, m.DomainViolationsAfter)
		fmt.Fprintf(tw, "uncertainty\t%.2f → %.2f\n", m.UncertaintyBefore, m.UncertaintyAfter)
	}
	tw.Flush()
}

// alignList prints the caller's alignment projects.
func alignList(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("align list", "align list [--limit N] [--offset N]", io)
	r.addFlags(fs, io)
	page := pageFlags(fs)
	c, _, err := r.parse(fs, args, 0)
	if err != nil {
		return err
	}
	list, err := c.ListAlignments(ctx, *page)
	if err != nil {
		return fmt.Errorf("align list: %w", err)
	}
	if r.json {
		return printJSON(io.out, list)
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ALIGNMENT\tNAME\tBASE MODEL\tSTATUS\tPROGRESS\tMODEL")
	for _, a := range list.AlignmentProjects {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.0f%%\t%s\n", a.AlignmentID, a.AlignmentName,
			a.BaseModel, a.Status, a.Progress, orDash(a.ModelID))
	}
	return tw.Flush()
}

// alignStop stops a running alignment.
func alignStop(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("align stop", "align stop ID", io)
	r.addFlags(fs, io)
	c, pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if err := c.StopAlignment(ctx, pos[0]); err != nil {
		return fmt.Errorf("align stop: %w", err)
	}
	if r.json {
		return printJSON(io.out, map[string]string{"alignment_id": pos[0], "status": "STOPPED"})
	}
	fmt.Fprintf(io.out, "%s STOPPED\n", pos[0])
	return nil
}
