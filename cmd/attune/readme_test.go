package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeCommands checks every attune command line in the README's
// shell blocks against the binary: the command (and subcommand) exists and
// every flag it passes is one the command defines. The README's workflow
// itself is run by TestDemo and TestClientCommands.
func TestReadmeCommands(t *testing.T) {
	lines := readmeCommands(t, "../../README.md")
	if len(lines) < 10 {
		t.Fatalf("found %d attune command lines in the README; the parser is broken", len(lines))
	}
	for _, line := range lines {
		fields := strings.Fields(line)[1:]
		if len(fields) == 0 {
			continue
		}
		args := fields[:1]
		if groups[fields[0]] != nil && len(fields) > 1 {
			args = fields[:2]
		}
		usage, err := usageOf(t, args)
		if err != nil {
			t.Errorf("README: %q: %v", line, err)
			continue
		}
		for _, f := range fields {
			name, _, _ := strings.Cut(f, "=")
			if strings.HasPrefix(name, "--") && !strings.Contains(usage, "  -"+name[2:]) {
				t.Errorf("README: %q: attune %s has no flag %s", line, strings.Join(args, " "), name)
			}
		}
	}
}

// readmeCommands returns the lines of the README's sh blocks that run
// attune, with continuation lines joined and comments removed.
func readmeCommands(t *testing.T, path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inSh, cont := false, ""
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	start := regexp.MustCompile(`^(\$ )?(bin/|\./)?attune\b`)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```sh"):
			inSh = true
			continue
		case strings.HasPrefix(line, "```"):
			inSh = false
			continue
		case !inSh:
			continue
		}
		line, _, _ = strings.Cut(line, "#")
		line = cont + strings.TrimSpace(line)
		if strings.HasSuffix(line, "\\") {
			cont = strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cont = ""
		for _, part := range strings.Split(line, "|") {
			part = strings.TrimSpace(part)
			if start.MatchString(part) {
				out = append(out, strings.TrimPrefix(strings.TrimPrefix(part, "$ "), "bin/"))
			}
		}
	}
	return out
}

// usageOf runs a command with -h and returns the usage it prints, which
// lists its flags.
func usageOf(t *testing.T, args []string) (string, error) {
	cmd, ok := commands[args[0]]
	if !ok {
		return "", errors.New("no such command")
	}
	if len(args) == 2 {
		if _, ok := groups[args[0]][args[1]]; !ok {
			return "", errors.New("no such subcommand")
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	err = cmd.run(context.Background(), append(args[1:], "-h"))
	os.Stderr = saved
	w.Close()
	usage := <-done
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return usage, err
	}
	return usage, nil
}
