package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"attune"
)

// Caller is the authenticated user behind a request.
type Caller struct {
	UserID string
	Email  string
	Admin  bool
	KeyID  string
	// RateLimit is the key's own requests per second; 0 means the
	// server's default.
	RateLimit float64
}

// Authenticator checks an API key. It answers a KindUnauthorized error for
// a key that is unknown or revoked.
type Authenticator func(ctx context.Context, key string) (Caller, error)

type ctxKey int

const ctxInfo ctxKey = 0

// reqInfo is what the outer middleware learns about a request from the
// route that answers it, for the access log and metrics.
// It also carries the authenticated caller, so that a request's context
// is derived once, not once for each thing learnt about it.
type reqInfo struct {
	id     string
	base   *slog.Logger
	route  string
	caller Caller
}

// attrs are the attributes every log line of the request carries.
func (info *reqInfo) attrs() []any {
	a := []any{slog.String("request_id", info.id)}
	if info.caller.UserID != "" {
		a = append(a, slog.String("user_id", info.caller.UserID))
	}
	return a
}

// logger returns the request's logger, which carries its request id and,
// once authenticated, its user id.
func logger(r *http.Request) *slog.Logger {
	info, ok := r.Context().Value(ctxInfo).(*reqInfo)
	if !ok {
		return slog.New(slog.DiscardHandler)
	}
	// Made on each call: only the rarer paths (errors, cancelled
	// streams) log beyond the access line, which is written without it.
	return info.base.With(info.attrs()...)
}

// callerOf returns the authenticated caller of a request.
func callerOf(r *http.Request) Caller {
	info, _ := r.Context().Value(ctxInfo).(*reqInfo)
	if info == nil {
		return Caller{}
	}
	return info.caller
}

// recorder remembers the status and size of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	n, err := rec.ResponseWriter.Write(p)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection, for flushing
// server-sent events.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// requestID returns the client's X-Request-ID when it is a sane token, or a
// new random id.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-ID"); id != "" && len(id) <= 128 && printable(id) {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func printable(s string) bool {
	for _, c := range s {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// observe is the outermost middleware: it gives the request an id and a
// logger that carries it, and after the answer writes the access log line
// and the request metrics.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		info := &reqInfo{id: requestID(r), base: s.log, route: "unmatched"}
		w.Header().Set("X-Request-ID", info.id)
		rec := &recorder{ResponseWriter: w}

		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), ctxInfo, info)))

		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		d := s.now().Sub(start)
		s.metrics.observeRequest(info.route, rec.status, d)
		if !s.log.Enabled(r.Context(), slog.LevelInfo) {
			return
		}
		attrs := []slog.Attr{slog.String("request_id", info.id)}
		if info.caller.UserID != "" {
			attrs = append(attrs, slog.String("user_id", info.caller.UserID))
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", append(attrs,
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", info.route),
			slog.Int("status", rec.status),
			slog.Int64("bytes", rec.bytes),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		)...)
	})
}

// wrap turns a route's handler into an http.Handler that checks the
// route's literal segments, authenticates, rate-limits and answers errors.
func (s *Server) wrap(rt route, checks map[string]string) http.Handler {
	key := rt.key()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, lit := range checks {
			if r.PathValue(name) != lit {
				writeError(w, r, attune.Errorf(attune.KindNotFound, "Not Found"), false)
				return
			}
		}
		// observe, which mount puts around every route, made info.
		info := r.Context().Value(ctxInfo).(*reqInfo)
		info.route = key
		if rt.access != accessPublic {
			c, err := s.authenticate(w, r, rt)
			if err != nil {
				writeError(w, r, err, rt.openai)
				return
			}
			info.caller = c
		}
		if err := rt.handle(w, r); err != nil {
			writeError(w, r, err, rt.openai)
		}
	})
}

// authenticate checks the request's bearer key, the route's access level
// and the key's rate limit.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, rt route) (Caller, error) {
	key, ok := bearer(r)
	if !ok {
		return Caller{}, attune.Errorf(attune.KindUnauthorized, "Not authenticated: send the header Authorization: Bearer <api key>")
	}
	c, err := s.auth(r.Context(), key)
	if err != nil {
		if attune.ErrorKind(err) == attune.KindInternal {
			return Caller{}, err
		}
		return Caller{}, attune.Errorf(attune.KindUnauthorized, "Invalid API key")
	}
	if rt.access == accessAdmin && !c.Admin {
		return Caller{}, attune.Errorf(attune.KindUnauthorized, "this route needs an admin key")
	}
	if ok, wait := s.limits.allow(c.KeyID, c.RateLimit, s.now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		return Caller{}, attune.Errorf(attune.KindRateLimited, "rate limit exceeded; retry after %d s", retryAfter(wait))
	}
	return c, nil
}

// bearer returns the key of an Authorization: Bearer header.
func bearer(r *http.Request) (string, bool) {
	scheme, key, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}

// since returns the time elapsed from t by the server's clock.
func (s *Server) since(t time.Time) time.Duration { return s.now().Sub(t) }
