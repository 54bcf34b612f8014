package attune

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// User is a person or program that owns resources. Every document,
// benchmark, alignment, model and evaluation belongs to exactly one user,
// and no user can see another's.
type User struct {
	ID        string // user_<ulid>
	Email     string // unique, lower case
	CreatedAt time.Time
}

// Scope is what an API key may do.
type Scope string

// The key scopes. An admin key can also manage users' keys.
const (
	ScopeUser  Scope = "user"
	ScopeAdmin Scope = "admin"
)

// APIKey is a credential of a user. Only the SHA-256 of the key is stored:
// keys are 32 random bytes, too many to guess, so a fast hash is enough and
// a slow password hash would only slow every request.
type APIKey struct {
	ID     string // key_<ulid>
	UserID string
	Email  string // the user's email, filled on reads for listing
	Prefix string // the key's first characters, to tell keys apart in lists
	Hash   string // hex SHA-256 of the whole key
	Scope  Scope
	Name   string // a label chosen by whoever created it
	// RateLimit is the key's allowed requests per second; 0 means the
	// server's default.
	RateLimit float64
	CreatedAt time.Time
	RevokedAt *time.Time
}

// APIKeyPrefix starts every key attune issues, so that a leaked key is easy
// to recognise.
const APIKeyPrefix = "atk_"

// NewAPIKey returns a fresh random key and its hash. The key is shown to its
// owner once and never stored.
func NewAPIKey() (key, hash string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("attune: cannot make a key: %w", err)
	}
	key = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return key, HashAPIKey(key), nil
}

// HashAPIKey returns the hex SHA-256 of key, the form keys are stored and
// looked up in.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// IssueAPIKey creates a key for the user with the given email, creating the
// user if there is none, and returns the key (shown once) and its record.
func IssueAPIKey(ctx context.Context, s Store, email string, scope Scope, name string) (string, APIKey, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if !strings.Contains(email, "@") {
		return "", APIKey{}, Invalidf("email", "%q is not an email address", email)
	}
	if scope != ScopeUser && scope != ScopeAdmin {
		return "", APIKey{}, Invalidf("scope", "scope must be %q or %q, got %q", ScopeUser, ScopeAdmin, scope)
	}
	key, hash, err := NewAPIKey()
	if err != nil {
		return "", APIKey{}, err
	}
	k := APIKey{
		ID: NewID(PrefixKey), Prefix: key[:len(APIKeyPrefix)+6],
		Hash: hash, Scope: scope, Name: name, Email: email,
	}
	err = s.InTx(ctx, func(s Store) error {
		u, err := s.EnsureUser(ctx, email)
		if err != nil {
			return err
		}
		k.UserID = u.ID
		return s.CreateAPIKey(ctx, &k)
	})
	if err != nil {
		return "", APIKey{}, err
	}
	return key, k, nil
}

// Authenticate returns the user and key that key belongs to. A missing,
// unknown or revoked key is a KindUnauthorized Error that does not say
// which.
func Authenticate(ctx context.Context, s Store, key string) (User, APIKey, error) {
	if key == "" {
		return User{}, APIKey{}, Errorf(KindUnauthorized, "an API key is required: send it as \"Authorization: Bearer KEY\"")
	}
	u, k, err := s.APIKeyByHash(ctx, HashAPIKey(key))
	if ErrorKind(err) == KindNotFound || (err == nil && k.RevokedAt != nil) {
		return User{}, APIKey{}, Errorf(KindUnauthorized, "the API key is not valid")
	}
	if err != nil {
		return User{}, APIKey{}, err
	}
	return u, k, nil
}
