package api

import (
	"net/http"

	"attune"
)

// createKeyRequest is the body of POST /api-keys.
type createKeyRequest struct {
	Email     string  `json:"email"`
	Scope     string  `json:"scope"`
	Name      string  `json:"name"`
	RateLimit float64 `json:"rate_limit"`
}

// keyBody describes a key without its secret.
func keyBody(k attune.APIKey) map[string]any {
	return map[string]any{
		"id": k.ID, "email": k.Email, "prefix": k.Prefix, "scope": k.Scope, "name": k.Name,
		"rate_limit": k.RateLimit, "created_at": timestamp(k.CreatedAt), "revoked_at": timePtr(k.RevokedAt),
	}
}

// handleCreateKey answers POST /api-keys: the key is shown in this answer
// only; the store keeps its hash.
func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) error {
	var req createKeyRequest
	if err := decodeJSON(w, r, s.cfg.JSONBodyLimit, &req); err != nil {
		return err
	}
	if req.Email == "" {
		return required("email")
	}
	if req.Scope == "" {
		req.Scope = string(attune.ScopeUser)
	}
	if req.RateLimit < 0 {
		return invalidField("body", "rate_limit", "must not be negative", "value_error")
	}
	ctx := r.Context()
	key, k, err := attune.IssueAPIKey(ctx, s.deps.Store, req.Email, attune.Scope(req.Scope), req.Name)
	if err != nil {
		return err
	}
	if req.RateLimit > 0 {
		if err := s.deps.Store.SetAPIKeyRateLimit(ctx, k.ID, req.RateLimit); err != nil {
			return err
		}
		k.RateLimit = req.RateLimit
	}
	out := keyBody(k)
	out["key"] = key
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleListKeys answers GET /api-keys, optionally for one user's email.
func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) error {
	userID := ""
	if email := r.URL.Query().Get("email"); email != "" {
		u, err := s.deps.Store.UserByEmail(r.Context(), email)
		if err != nil {
			return err
		}
		userID = u.ID
	}
	ks, err := s.deps.Store.ListAPIKeys(r.Context(), userID)
	if err != nil {
		return err
	}
	items := make([]map[string]any, len(ks))
	for i, k := range ks {
		items[i] = keyBody(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": items, "total": len(items)})
	return nil
}

// handleRevokeKey answers DELETE /api-keys/{id}.
func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.deps.Store.RevokeAPIKey(r.Context(), id); err != nil {
		return err
	}
	s.authCache.forget(id)
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "message": "API key revoked"})
	return nil
}
