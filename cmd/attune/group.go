package main

import (
	"context"
	"fmt"
	"os"
	"sort"
)

// A group is a command with subcommands of its own ("attune models init",
// "attune bench infer"). Each subcommand registers itself from the init of
// its own file with registerSub, so that files do not need to know of each
// other.
var groups = map[string]map[string]command{}

// registerGroup adds a command that dispatches to its subcommands.
func registerGroup(name, summary string) {
	if groups[name] == nil {
		groups[name] = map[string]command{}
	}
	register(name, summary, func(ctx context.Context, args []string) error {
		return runGroup(ctx, name, args)
	})
}

// registerSub adds subcommand sub to group. Init order within a package
// follows file names, so whichever of registerGroup and registerSub runs
// first creates the group's map.
func registerSub(group, sub, summary string, run func(ctx context.Context, args []string) error) {
	if groups[group] == nil {
		groups[group] = map[string]command{}
	}
	if _, dup := groups[group][sub]; dup {
		panic("attune: subcommand registered twice: " + group + " " + sub)
	}
	groups[group][sub] = command{name: sub, summary: summary, run: run}
}

func runGroup(ctx context.Context, group string, args []string) error {
	subs := groups[group]
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		groupUsage(group)
		return nil
	}
	cmd, ok := subs[args[0]]
	if !ok {
		groupUsage(group)
		return fmt.Errorf("unknown command %q %q", group, args[0])
	}
	return cmd.run(ctx, args[1:])
}

func groupUsage(group string) {
	names := make([]string, 0, len(groups[group]))
	for n := range groups[group] {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: attune %s COMMAND [flags]\n\ncommands:\n", group)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, groups[group][n].summary)
	}
}

func init() {
	registerGroup("models", "manage base models: init, import, pull, list")
	registerGroup("bench", "measure the engine: infer, train")
}
