package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"attune"
)

var usersTable = newTable("users", "id", "email", "created_at")

var keysTable = newTable("api_keys", "id", "user_id", "prefix", "hash", "scope",
	"name", "rate_limit", "created_at", "revoked_at")

func scanUser(sc scanner) (attune.User, error) {
	var u attune.User
	err := sc.Scan(&u.ID, &u.Email, timeCol{&u.CreatedAt})
	return u, err
}

// EnsureUser returns the user with the given email, creating it if needed.
func (s *Store) EnsureUser(ctx context.Context, email string) (attune.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var u attune.User
	err := s.inTx(ctx, func(s *Store) error {
		var err error
		u, err = s.UserByEmail(ctx, email)
		if attune.ErrorKind(err) != attune.KindNotFound {
			return err
		}
		u = attune.User{ID: attune.NewID(attune.PrefixUser), Email: email, CreatedAt: s.stamp()}
		_, err = s.q.ExecContext(ctx, usersTable.insert, u.ID, u.Email, encTime(u.CreatedAt))
		if err != nil {
			return fmt.Errorf("store: cannot create user %s: %w", email, err)
		}
		return nil
	})
	return u, err
}

// UserByEmail returns the user with the given email.
func (s *Store) UserByEmail(ctx context.Context, email string) (attune.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	row := s.q.QueryRowContext(ctx, usersTable.selectFrom("WHERE email = ?"), email)
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFound("user", email)
	}
	if err != nil {
		return u, fmt.Errorf("store: cannot read user %s: %w", email, err)
	}
	return u, nil
}

func keyArgs(k *attune.APIKey) []any {
	return []any{k.ID, k.UserID, k.Prefix, k.Hash, string(k.Scope), k.Name,
		k.RateLimit, encTime(k.CreatedAt), encTimePtr(k.RevokedAt)}
}

// keyCols selects a key's columns and its user's email, from api_keys
// joined with users as u.
const keyCols = `k.id, k.user_id, k.prefix, k.hash, k.scope, k.name,
	k.rate_limit, k.created_at, k.revoked_at, u.email, u.created_at`

func scanKey(sc scanner) (attune.User, attune.APIKey, error) {
	var k attune.APIKey
	var u attune.User
	err := sc.Scan(&k.ID, &k.UserID, &k.Prefix, &k.Hash, &k.Scope, &k.Name,
		&k.RateLimit, timeCol{&k.CreatedAt}, nullTimeCol{&k.RevokedAt},
		&u.Email, timeCol{&u.CreatedAt})
	u.ID, k.Email = k.UserID, u.Email
	return u, k, err
}

// CreateAPIKey stores k.
func (s *Store) CreateAPIKey(ctx context.Context, k *attune.APIKey) error {
	if k.Scope != attune.ScopeUser && k.Scope != attune.ScopeAdmin {
		return attune.Invalidf("scope", "scope must be %q or %q, got %q", attune.ScopeUser, attune.ScopeAdmin, k.Scope)
	}
	if k.RateLimit < 0 {
		return attune.Invalidf("rate_limit", "rate_limit must not be negative, got %g", k.RateLimit)
	}
	k.CreatedAt = s.stamp()
	_, err := s.q.ExecContext(ctx, keysTable.insert, keyArgs(k)...)
	switch {
	case isForeignKey(err):
		return notFound("user", k.UserID)
	case isUnique(err):
		return attune.Errorf(attune.KindConflict, "an API key with this id or hash already exists")
	case err != nil:
		return fmt.Errorf("store: cannot create key: %w", err)
	}
	return nil
}

// APIKeyByHash returns the key with the given hash and its user.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (attune.User, attune.APIKey, error) {
	row := s.q.QueryRowContext(ctx, "SELECT "+keyCols+
		" FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.hash = ?", hash)
	u, k, err := scanKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return u, k, attune.Errorf(attune.KindNotFound, "no such API key")
	}
	if err != nil {
		return u, k, fmt.Errorf("store: cannot read key: %w", err)
	}
	return u, k, nil
}

// ListAPIKeys returns a user's keys, or everyone's for an empty userID,
// oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]attune.APIKey, error) {
	rows, err := s.q.QueryContext(ctx, "SELECT "+keyCols+
		" FROM api_keys k JOIN users u ON u.id = k.user_id"+
		" WHERE ? = '' OR k.user_id = ? ORDER BY k.id", userID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: cannot list keys: %w", err)
	}
	defer rows.Close()
	var keys []attune.APIKey
	for rows.Next() {
		_, k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("store: cannot list keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeAPIKey revokes a key; revoking twice keeps the first time.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	res, err := s.q.ExecContext(ctx,
		"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
		encTime(s.stamp()), id)
	return s.checkOne(res, err, "API key", id)
}

// SetAPIKeyRateLimit sets a key's requests per second.
func (s *Store) SetAPIKeyRateLimit(ctx context.Context, id string, perSecond float64) error {
	if perSecond < 0 {
		return attune.Invalidf("rate_limit", "rate_limit must not be negative, got %g", perSecond)
	}
	res, err := s.q.ExecContext(ctx, "UPDATE api_keys SET rate_limit = ? WHERE id = ?", perSecond, id)
	return s.checkOne(res, err, "API key", id)
}

// checkOne turns the result of a statement that must touch one row into an
// error: the statement's own, or KindNotFound when no row matched.
func (s *Store) checkOne(res sql.Result, err error, what, id string) error {
	if err != nil {
		return fmt.Errorf("store: cannot change %s %s: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: cannot change %s %s: %w", what, id, err)
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}
