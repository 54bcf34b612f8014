package api

import (
	"context"
	"errors"
	"log/slog"

	"attune"
	"attune/runtime"
)

// Deps are the parts of attune the server answers from.
type Deps struct {
	Store   attune.Store
	Blobs   attune.Blobs
	Queue   attune.Queue
	Runtime *runtime.Runtime
	Logger  *slog.Logger
	// Metrics, when set, is where the server counts; New makes one
	// otherwise.
	Metrics *Metrics
}

// New returns a server answering from deps within cfg's limits.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Store == nil || deps.Blobs == nil || deps.Queue == nil || deps.Runtime == nil {
		return nil, errors.New("api: Store, Blobs, Queue and Runtime are all required")
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		deps:    deps,
		log:     deps.Logger,
		metrics: deps.Metrics,
		limits:  newLimiters(cfg.RateLimit),
		now:     cfg.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.metrics.QueueDepth == nil {
		s.metrics.QueueDepth = deps.Runtime.QueueDepth
	}
	s.authCache = newAuthCache(cfg.AuthCacheTTL, cfg.Now)
	s.auth = s.authCache.wrap(s.storeAuth)
	s.statusCache = newTTLCache[[]byte](cfg.StatusCacheTTL, cfg.Now)
	s.routes = s.table()
	s.handler = s.mount()
	return s, nil
}

// storeAuth authenticates a key, by its hash, against the store's hashed
// keys. An unknown or revoked key is KindUnauthorized.
func (s *Server) storeAuth(ctx context.Context, hash string) (Caller, error) {
	u, k, err := s.deps.Store.APIKeyByHash(ctx, hash)
	if attune.ErrorKind(err) == attune.KindNotFound || (err == nil && k.RevokedAt != nil) {
		return Caller{}, attune.Errorf(attune.KindUnauthorized, "the API key is not valid")
	}
	if err != nil {
		return Caller{}, err
	}
	return Caller{
		UserID:    u.ID,
		Email:     u.Email,
		Admin:     k.Scope == attune.ScopeAdmin,
		KeyID:     k.ID,
		RateLimit: k.RateLimit,
	}, nil
}
