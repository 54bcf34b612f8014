package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"attune"
)

// testIO returns a stdio writing into buffers, with no environment.
func testIO() (stdio, *bytes.Buffer, *bytes.Buffer) {
	var out, errw bytes.Buffer
	return stdio{in: strings.NewReader(""), out: &out, errw: &errw,
		getenv: func(string) string { return "" }}, &out, &errw
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	// create prints the key alone on stdout; only its hash is stored.
	io, out, _ := testIO()
	if err := keysCreate(ctx, []string{"--data-dir", dir, "--user", "Ops@Example.com", "--admin", "--rate-limit", "5"}, io); err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out.String())
	if !strings.HasPrefix(key, attune.APIKeyPrefix) || strings.Contains(key, "\n") {
		t.Fatalf("keys create printed %q, want one key", key)
	}
	s, err := openStore(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, k, err := attune.Authenticate(ctx, s, key)
	s.Close()
	if err != nil || u.Email != "ops@example.com" || k.Scope != attune.ScopeAdmin || k.RateLimit != 5 {
		t.Fatalf("Authenticate the new key: got %+v %+v %v", u, k, err)
	}

	// list shows the key's id and prefix, never the key.
	io, out, _ = testIO()
	if err := keysList(ctx, []string{"--data-dir", dir}, io); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, k.ID) || strings.Contains(got, key) || !strings.Contains(got, "5/s") {
		t.Errorf("keys list: got\n%s", got)
	}

	// limit changes the key's rate; a missing rate is an error.
	io, out, _ = testIO()
	if err := keysLimit(ctx, []string{k.ID, "--rate", "0.5", "--data-dir", dir}, io); err != nil {
		t.Fatal(err)
	}
	if err := keysLimit(ctx, []string{k.ID, "--data-dir", dir}, io); err == nil {
		t.Errorf("limit without --rate: no error")
	}
	s, _ = openStore(ctx, dir, nil)
	_, k2, err := attune.Authenticate(ctx, s, key)
	s.Close()
	if err != nil || k2.RateLimit != 0.5 {
		t.Errorf("after keys limit: rate %g, %v; want 0.5", k2.RateLimit, err)
	}

	// revoke makes the key useless; an unknown id is an error.
	io, _, _ = testIO()
	if err := keysRevoke(ctx, []string{k.ID, "--data-dir", dir}, io); err != nil {
		t.Fatal(err)
	}
	if err := keysRevoke(ctx, []string{"key_nope", "--data-dir", dir}, io); attune.ErrorKind(err) != attune.KindNotFound {
		t.Errorf("revoke unknown: got %v, want KindNotFound", err)
	}
	s, _ = openStore(ctx, dir, nil)
	defer s.Close()
	if _, _, err := attune.Authenticate(ctx, s, key); attune.ErrorKind(err) != attune.KindUnauthorized {
		t.Errorf("revoked key: got %v, want KindUnauthorized", err)
	}

	// Bad input names what is wrong.
	io, _, _ = testIO()
	if err := keysCreate(ctx, []string{"--data-dir", dir}, io); err == nil || !strings.Contains(err.Error(), "--user") {
		t.Errorf("create without --user: got %v", err)
	}
	if err := keysCreate(ctx, []string{"--data-dir", dir, "--user", "nobody"}, io); attune.ErrorKind(err) != attune.KindInvalid {
		t.Errorf("create with a bad email: got %v", err)
	}
}
