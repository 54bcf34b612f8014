package main

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"
	"time"

	"attune"
)

func init() {
	registerGroup("keys", "manage API keys: create, list, revoke")
	registerSub("keys", "create", "create an API key for a user and print it once",
		func(ctx context.Context, args []string) error { return keysCreate(ctx, args, osStdio()) })
	registerSub("keys", "list", "list API keys (never the keys themselves)",
		func(ctx context.Context, args []string) error { return keysList(ctx, args, osStdio()) })
	registerSub("keys", "revoke", "revoke an API key by its id",
		func(ctx context.Context, args []string) error { return keysRevoke(ctx, args, osStdio()) })
	registerSub("keys", "limit", "set an API key's requests per second",
		func(ctx context.Context, args []string) error { return keysLimit(ctx, args, osStdio()) })
}

// keysCreate issues a key. The key is printed on its own line on stdout, so
// that scripts can capture it; the advice goes to stderr.
func keysCreate(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("keys create", "keys create --user EMAIL [--admin] [--name NAME] [--rate-limit N] [--data-dir DIR]", io)
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	email := fs.String("user", "", "the email of the user who owns the key; created if new")
	admin := fs.Bool("admin", false, "give the key the admin scope (it can manage keys)")
	name := fs.String("name", "", "a label to tell keys apart")
	rate := fs.Float64("rate-limit", 0, "requests per second allowed to the key; 0 is the server's default")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	if *email == "" {
		fs.Usage()
		return fmt.Errorf("keys create: --user is required")
	}
	s, err := openStore(ctx, *dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("keys create: %w", err)
	}
	defer s.Close()

	scope := attune.ScopeUser
	if *admin {
		scope = attune.ScopeAdmin
	}
	key, k, err := attune.IssueAPIKey(ctx, s, *email, scope, *name)
	if err == nil && *rate != 0 {
		err = s.SetAPIKeyRateLimit(ctx, k.ID, *rate)
	}
	if err != nil {
		return fmt.Errorf("keys create: %w", err)
	}
	fmt.Fprintln(io.out, key)
	fmt.Fprintf(io.errw, "created key %s (%s scope) for %s.\n"+
		"This is the only time the key is shown: store it now. Revoke it with\n"+
		"  attune keys revoke %s --data-dir %s\n", k.ID, k.Scope, k.Email, k.ID, *dataDir)
	return nil
}

// keysList prints every key, or one user's, without the keys themselves.
func keysList(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("keys list", "keys list [--user EMAIL] [--json] [--data-dir DIR]", io)
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	email := fs.String("user", "", "list only this user's keys")
	asJSON := fs.Bool("json", false, "print JSON, for scripts")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 0); err != nil {
		return err
	}
	s, err := openStore(ctx, *dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	defer s.Close()

	userID := ""
	if *email != "" {
		u, err := s.UserByEmail(ctx, *email)
		if err != nil {
			return fmt.Errorf("keys list: %w", err)
		}
		userID = u.ID
	}
	keys, err := s.ListAPIKeys(ctx, userID)
	if err != nil {
		return fmt.Errorf("keys list: %w", err)
	}
	if *asJSON {
		return printJSON(io.out, keyRows(keys))
	}
	tw := tabwriter.NewWriter(io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tSCOPE\tPREFIX\tNAME\tRATE\tCREATED\tREVOKED")
	for _, r := range keyRows(keys) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", r.ID, r.User, r.Scope,
			r.Prefix, r.Name, r.Rate, r.Created, r.Revoked)
	}
	return tw.Flush()
}

// keyRow is one key as the list shows it.
type keyRow struct {
	ID      string `json:"id"`
	User    string `json:"user"`
	Scope   string `json:"scope"`
	Prefix  string `json:"prefix"`
	Name    string `json:"name"`
	Rate    string `json:"rate_limit"`
	Created string `json:"created_at"`
	Revoked string `json:"revoked_at,omitempty"`
}

func keyRows(keys []attune.APIKey) []keyRow {
	rows := []keyRow{}
	for _, k := range keys {
		r := keyRow{ID: k.ID, User: k.Email, Scope: string(k.Scope), Prefix: k.Prefix,
			Name: k.Name, Rate: "default", Created: k.CreatedAt.Format(time.RFC3339)}
		if k.RateLimit > 0 {
			r.Rate = fmt.Sprintf("%g/s", k.RateLimit)
		}
		if k.RevokedAt != nil {
			r.Revoked = k.RevokedAt.Format(time.RFC3339)
		}
		rows = append(rows, r)
	}
	return rows
}

// keysRevoke revokes a key by id.
func keysRevoke(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("keys revoke", "keys revoke KEY_ID [--data-dir DIR]", io)
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	s, err := openStore(ctx, *dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("keys revoke: %w", err)
	}
	defer s.Close()
	if err := s.RevokeAPIKey(ctx, pos[0]); err != nil {
		return fmt.Errorf("keys revoke: %w", err)
	}
	fmt.Fprintf(io.out, "revoked %s; requests with it now answer 401\n", pos[0])
	return nil
}

// keysLimit sets a key's rate limit.
func keysLimit(ctx context.Context, args []string, io stdio) error {
	fs := newFlags("keys limit", "keys limit KEY_ID --rate N [--data-dir DIR]", io)
	dataDir := fs.String("data-dir", dataDirDefault(io), "attune data directory (env ATTUNE_DATA_DIR)")
	rate := fs.Float64("rate", -1, "requests per second allowed to the key; 0 is the server's default")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs(fs, pos, 1); err != nil {
		return err
	}
	if *rate < 0 {
		fs.Usage()
		return fmt.Errorf("keys limit: --rate is required and must not be negative")
	}
	s, err := openStore(ctx, *dataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("keys limit: %w", err)
	}
	defer s.Close()
	if err := s.SetAPIKeyRateLimit(ctx, pos[0], *rate); err != nil {
		return fmt.Errorf("keys limit: %w", err)
	}
	if *rate == 0 {
		fmt.Fprintf(io.out, "%s now has the server's default rate limit\n", pos[0])
	} else {
		fmt.Fprintf(io.out, "%s may now make %g requests per second\n", pos[0], *rate)
	}
	return nil
}
