package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"attune/client"
)

// stdio is where a command reads and writes, and the environment it reads;
// tests give commands their own.
type stdio struct {
	in     io.Reader
	out    io.Writer
	errw   io.Writer
	getenv func(string) string
}

// osStdio is the process's own standard streams and environment.
func osStdio() stdio {
	return stdio{in: os.Stdin, out: os.Stdout, errw: os.Stderr, getenv: os.Getenv}
}

// defaultURL is where the client commands look for a server when neither
// --url nor ATTUNE_URL says.
const defaultURL = "http://127.0.0.1:8080"

// remote holds the flags every client command shares: the server, the key,
// and whether to answer in JSON.
type remote struct {
	url  string
	key  string
	json bool
}

// addFlags registers --url, --key and --json on fs, with defaults from the
// environment.
func (r *remote) addFlags(fs *flag.FlagSet, io stdio) {
	url := io.getenv("ATTUNE_URL")
	if url == "" {
		url = defaultURL
	}
	fs.StringVar(&r.url, "url", url, "attune server URL (env ATTUNE_URL)")
	fs.StringVar(&r.key, "key", io.getenv("ATTUNE_KEY"), "API key (env ATTUNE_KEY)")
	fs.BoolVar(&r.json, "json", false, "print the answer as JSON, for scripts")
}

// client returns a client for the server, or an error saying how to give a
// key when there is none.
func (r *remote) client() (*client.Client, error) {
	if r.key == "" {
		return nil, errors.New("no API key: pass --key or set ATTUNE_KEY (attune keys create makes one)")
	}
	return client.New(r.url, r.key), nil
}

// parse parses a client command's flags, checks that it got n positional
// arguments, and returns a client for the server with them.
func (r *remote) parse(fs *flag.FlagSet, args []string, n int) (*client.Client, []string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := wantArgs(fs, pos, n); err != nil {
		return nil, nil, err
	}
	c, err := r.client()
	return c, pos, err
}

// pageFlags registers --limit and --offset on fs, for the list commands.
func pageFlags(fs *flag.FlagSet) *client.ListOptions {
	var o client.ListOptions
	fs.IntVar(&o.Limit, "limit", 100, "how many to list (1..100)")
	fs.IntVar(&o.Offset, "offset", 0, "how many to skip")
	return &o
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		rest := fs.Args()
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newFlags returns a flag set for a command that reports errors instead of
// exiting, with usage text written to io's error stream.
func newFlags(name, usage string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.errw)
	fs.Usage = func() {
		fmt.Fprintf(io.errw, "usage: attune %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// printJSON writes v indented, for --json.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// splitList splits a comma-separated flag value, dropping empty parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// wantArgs checks the number of positional arguments.
func wantArgs(fs *flag.FlagSet, pos []string, n int) error {
	if len(pos) != n {
		fs.Usage()
		return fmt.Errorf("%s: want %d argument(s), got %d", fs.Name(), n, len(pos))
	}
	return nil
}
