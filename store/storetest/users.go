package storetest

import (
	"context"
	"testing"

	"attune"

	"github.com/google/go-cmp/cmp"
)

func testUsers(t *testing.T, s attune.Store) {
	ctx := context.Background()
	u := user(t, s, "Ada@Example.com")
	if u.Email != "ada@example.com" || u.ID == "" || !u.CreatedAt.Equal(Clock) {
		t.Fatalf("EnsureUser: got %+v, want lower-case email, an id and the clock's time", u)
	}
	again := user(t, s, "ada@example.com ")
	if again.ID != u.ID {
		t.Errorf("EnsureUser twice: got ids %s and %s, want the same", u.ID, again.ID)
	}
	got, err := s.UserByEmail(ctx, "ADA@example.com")
	must(t, err, "UserByEmail")
	if diff := cmp.Diff(u, got, opts); diff != "" {
		t.Errorf("UserByEmail (-want +got):\n%s", diff)
	}
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantKind(t, err, attune.KindNotFound, "UserByEmail of an unknown email")
}

func testAPIKeys(t *testing.T, s attune.Store) {
	ctx := context.Background()
	key, k, err := attune.IssueAPIKey(ctx, s, "ops@example.com", attune.ScopeAdmin, "laptop")
	must(t, err, "IssueAPIKey")
	if k.Hash != attune.HashAPIKey(key) || k.Hash == key {
		t.Fatalf("IssueAPIKey: stored hash %q is not the key's hash", k.Hash)
	}

	u, got, err := attune.Authenticate(ctx, s, key)
	must(t, err, "Authenticate")
	if u.Email != "ops@example.com" || got.ID != k.ID || got.Scope != attune.ScopeAdmin {
		t.Errorf("Authenticate: got user %+v key %+v", u, got)
	}
	for _, bad := range []string{"", "atk_wrong", key + "x"} {
		_, _, err := attune.Authenticate(ctx, s, bad)
		wantKind(t, err, attune.KindUnauthorized, "Authenticate("+bad+")")
	}

	// A second user's key, then listing per user and for everyone.
	_, k2, err := attune.IssueAPIKey(ctx, s, "dev@example.com", attune.ScopeUser, "")
	must(t, err, "IssueAPIKey")
	mine, err := s.ListAPIKeys(ctx, k.UserID)
	must(t, err, "ListAPIKeys")
	all, err := s.ListAPIKeys(ctx, "")
	must(t, err, "ListAPIKeys all")
	if len(mine) != 1 || mine[0].ID != k.ID || len(all) != 2 || all[1].ID != k2.ID {
		t.Errorf("ListAPIKeys: got %d keys for one user and %d in all, want 1 and 2", len(mine), len(all))
	}

	// Rate limits and revocation.
	must(t, s.SetAPIKeyRateLimit(ctx, k.ID, 2.5), "SetAPIKeyRateLimit")
	_, got, err = attune.Authenticate(ctx, s, key)
	must(t, err, "Authenticate")
	if got.RateLimit != 2.5 {
		t.Errorf("rate limit: got %g, want 2.5", got.RateLimit)
	}
	wantKind(t, s.SetAPIKeyRateLimit(ctx, k.ID, -1), attune.KindInvalid, "negative rate limit")
	must(t, s.RevokeAPIKey(ctx, k.ID), "RevokeAPIKey")
	must(t, s.RevokeAPIKey(ctx, k.ID), "RevokeAPIKey twice")
	_, _, err = attune.Authenticate(ctx, s, key)
	wantKind(t, err, attune.KindUnauthorized, "Authenticate with a revoked key")
	wantKind(t, s.RevokeAPIKey(ctx, "key_unknown"), attune.KindNotFound, "RevokeAPIKey unknown")

	// A key for a user that does not exist.
	bad := attune.APIKey{ID: attune.NewID(attune.PrefixKey), UserID: "user_none", Hash: "h", Scope: attune.ScopeUser}
	wantKind(t, s.CreateAPIKey(ctx, &bad), attune.KindNotFound, "CreateAPIKey for an unknown user")
}
