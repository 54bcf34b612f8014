package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func init() {
	registerSub("models", "list", "list the base models of a data directory",
		func(ctx context.Context, args []string) error { return modelsList(ctx, args, osStdio()) })
}

// modelsList prints the base models registered in a data directory.
func modelsList(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("models list", "models list [--json] [--data-dir DIR]", io)
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	asJSON := fs.Bool("json", false, "print JSON, for scripts")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	s, err := openStore(ctx, *dataDir, nil)
	if err != nil {
		return fmt.Errorf("models list: %w", err)
	}
	defer s.Close()
	models, err := s.ListBaseModels(ctx)
	if err != nil {
		return fmt.Errorf("models list: %w", err)
	}

	if *asJSON {
		type row struct {
			ID             string `json:"id"`
			Description    string `json:"description"`
			Path           string `json:"path"`
			Parameters     int64  `json:"parameters"`
			ContextLength  int    `json:"context_length"`
			AlignmentReady bool   `json:"alignment_ready"`
		}
		rows := []row{}
		for _, m := range models {
			rows = append(rows, row{m.ID, m.Description, m.Path, m.Parameters, m.ContextLength, m.AlignmentReady})
		}
		return printJSON(io.out, rows)
	}
	if len(models) == 0 {
		fmt.Fprintf(io.errw, "no base models in %s; add one with attune models import DIR --id ID\n", *dataDir)
		return nil
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPARAMETERS\tCONTEXT\tALIGNABLE\tPATH")
	for _, m := range models {
		fmt.Fprintf(tw, "%s\t%.1fM\t%d\t%v\t%s\n", m.ID, float64(m.Parameters)/1e6,
			m.ContextLength, m.AlignmentReady, m.Path)
	}
	return tw.Flush()
}
