// Package api serves attune over HTTP: NuGen's Domain Alignment routes
// under /api/v3 (with the plural aliases of NuGen's newer revision), the
// OpenAI-compatible inference routes under /api/v3/inference and /v1, the
// key administration routes, and the operational ones (/healthz, /metrics,
// /openapi.json).
//
// One route table drives the mux and the OpenAPI document. Handlers
// return errors; one function (statusOf) turns attune's error kinds into
// status codes, and every error answer has NuGen's {"detail": ...} shape,
// with OpenAI's error object beside it on the inference routes.
package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Config holds the server's limits. The zero value of a field means its
// default.
type Config struct {
	// JSONBodyLimit caps a JSON request body, in bytes (default 1 MiB).
	JSONBodyLimit int64
	// UploadFileLimit caps one uploaded file, in bytes (default 100 MB,
	// NuGen's limit).
	UploadFileLimit int64
	// UploadBodyLimit caps a whole multipart upload, in bytes (default
	// 512 MiB).
	UploadBodyLimit int64
	// RateLimit is the per-key request budget; zero means unlimited.
	RateLimit RateLimit
	// AuthCacheTTL is how long a checked key is trusted before the store
	// is asked again (default 5 s; negative turns the cache off). A key
	// revoked through the API stops working at once; one revoked by
	// another process, within this time.
	AuthCacheTTL time.Duration
	// StatusCacheTTL is how old an alignment's status may be when served
	// (default 250 ms; negative turns the cache off). Clients poll the
	// status route; the cache makes many of them cost a few store reads a
	// second. Changes made through the API show at once.
	StatusCacheTTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults for Config.
const (
	DefaultJSONBodyLimit   = 1 << 20
	DefaultUploadFileLimit = 100_000_000
	DefaultUploadBodyLimit = 512 << 20
	DefaultAuthCacheTTL    = 5 * time.Second
	DefaultStatusCacheTTL  = 250 * time.Millisecond
)

// withDefaults fills the zero fields of c.
func (c Config) withDefaults() Config {
	if c.JSONBodyLimit == 0 {
		c.JSONBodyLimit = DefaultJSONBodyLimit
	}
	if c.UploadFileLimit == 0 {
		c.UploadFileLimit = DefaultUploadFileLimit
	}
	if c.UploadBodyLimit == 0 {
		c.UploadBodyLimit = DefaultUploadBodyLimit
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AuthCacheTTL == 0 {
		c.AuthCacheTTL = DefaultAuthCacheTTL
	}
	if c.StatusCacheTTL == 0 {
		c.StatusCacheTTL = DefaultStatusCacheTTL
	}
	return c
}

// Validate reports the first field of c that is out of range.
func (c Config) Validate() error {
	switch {
	case c.JSONBodyLimit < 0:
		return fmt.Errorf("api: JSONBodyLimit must not be negative")
	case c.UploadFileLimit < 0:
		return fmt.Errorf("api: UploadFileLimit must not be negative")
	case c.UploadBodyLimit < 0:
		return fmt.Errorf("api: UploadBodyLimit must not be negative")
	case c.RateLimit.PerSecond < 0:
		return fmt.Errorf("api: RateLimit.PerSecond must not be negative")
	case c.RateLimit.PerSecond > 0 && c.RateLimit.Burst < 1:
		return fmt.Errorf("api: RateLimit.Burst must be at least 1 when limiting")
	}
	return nil
}

// Server is attune's HTTP handler. Build it with New.
type Server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	auth Authenticator
	// authCache is the cache behind auth, which key revocation clears.
	authCache *authCache
	// statusCache holds alignment views for the polled status routes.
	statusCache *ttlCache[[]byte]
	metrics     *Metrics
	limits      *limiters
	now         func() time.Time
	routes      []route
	handler     http.Handler
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the server's metrics, so that other parts of the
// process can count into them.
func (s *Server) Metrics() *Metrics { return s.metrics }

// mount registers every route of the table on a new mux, and a fallback
// that answers unknown paths with a JSON 404.
func (s *Server) mount() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		pattern, checks := rt.muxPattern()
		mux.Handle(pattern, s.wrap(rt, checks))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found: no route " + r.Method + " " + r.URL.Path})
	})
	return s.observe(mux)
}
