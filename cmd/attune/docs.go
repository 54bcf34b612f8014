package main

import (
	"context"
	"fmt"
	"path/filepath"
	"text/tabwriter"
)

func init() {
	registerGroup("docs", "upload and list documents on a server")
	registerSub("docs", "upload", "upload files and wait until they are stored", cmdFunc(docsUpload))
	registerSub("docs", "list", "list the documents on the server", cmdFunc(docsList))
}

// cmdFunc adapts a command written against stdio to register's signature.
func cmdFunc(f func(context.Context, []string, stdio) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error { return f(ctx, args, osStdio()) }
}

// uploadResult is one uploaded file, as --json prints it.
type uploadResult struct {
	File       string `json:"file"`
	TaskID     string `json:"task_id"`
	DocumentID string `json:"document_id,omitempty"`
	Status     string `json:"status"`
}

// docsUpload uploads files, waits for each to be stored, and prints their
// document ids.
func docsUpload(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("docs upload", "docs upload FILE... [--category NAME] [--no-wait] [--url URL] [--key KEY] [--json]", io)
	r.addFlags(fs, io)
	category := fs.String("category", "", "comma-separated categories for every file")
	noWait := fs.Bool("no-wait", false, "print the upload task ids without waiting")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		fs.Usage()
		return fmt.Errorf("docs upload: name at least one file")
	}
	c, err := r.client()
	if err != nil {
		return err
	}

	tasks, err := c.UploadFiles(ctx, splitList(*category), files...)
	if err != nil {
		return fmt.Errorf("docs upload: %w", err)
	}
	results := make([]uploadResult, len(tasks))
	for i, task := range tasks {
		results[i] = uploadResult{File: filepath.Base(files[i]), TaskID: task, Status: "PROCESSING"}
		if *noWait {
			continue
		}
		doc, err := c.WaitDocument(ctx, task)
		if err != nil {
			return fmt.Errorf("docs upload: %s: %w", files[i], err)
		}
		results[i].DocumentID, results[i].Status = doc, "READY"
	}
	if r.json {
		return printJSON(io.out, results)
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tDOCUMENT\tSTATUS")
	for _, res := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", res.File, orDash(res.DocumentID, res.TaskID), res.Status)
	}
	return tw.Flush()
}

// docsList prints one page of the caller's documents.
func docsList(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("docs list", "docs list [--limit N] [--offset N]", io)
	r.addFlags(fs, io)
	page := pageFlags(fs)
	c, _, err := r.parse(fs, args, 0)
	if err != nil {
		return err
	}
	list, err := c.ListDocuments(ctx, *page)
	if err != nil {
		return fmt.Errorf("docs list: %w", err)
	}
	if r.json {
		return printJSON(io.out, list)
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DOCUMENT\tFILE\tSIZE\tSTATUS")
	for _, d := range list.Documents {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.ID, d.Filename, formatBytes(d.Size), d.Status)
	}
	tw.Flush()
	fmt.Fprintf(io.out, "%d of %d\n", len(list.Documents), list.Total)
	return nil
}

// orDash returns the first non-empty value, or "-".
func orDash(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return "-"
}
