package api

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// sse writes server-sent events, one JSON value a frame, flushing each so
// the client sees tokens as they come.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

// startSSE sends the event-stream headers.
func startSSE(w http.ResponseWriter) *sse {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	s.flush()
	return s
}

// send writes one data frame holding v as JSON. After a write error, sends
// do nothing and err reports it.
func (s *sse) send(v any) {
	if s.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		s.err = fmt.Errorf("api: cannot encode event: %w", err)
		return
	}
	s.raw(b)
}

// done writes the closing [DONE] frame.
func (s *sse) done() { s.raw([]byte("[DONE]")) }

func (s *sse) raw(data []byte) {
	if s.err != nil {
		return
	}
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", data); err != nil {
		s.err = err
		return
	}
	s.flush()
}

func (s *sse) flush() {
	if err := s.rc.Flush(); err != nil && s.err == nil {
		s.err = err
	}
}
