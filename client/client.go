// Package client is a typed Go client for attune's HTTP API, which is
// NuGen's Domain Alignment API: documents, benchmarks, alignment projects,
// models and their deployment, evaluations, and OpenAI-compatible chat.
//
// A Client is made from a base URL and an API key:
//
//	c := client.New("http://127.0.0.1:8080", key)
//	ids, err := c.UploadFiles(ctx, nil, "notes.md")
//
// Every method that fails because of the server's answer returns an *Error
// carrying the HTTP status and the server's detail. The package reads no
// environment variables and no flags; cmd/attune does that.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// APIPrefix is the path under which attune serves NuGen's routes. New adds
// it to a base URL that has no path of its own.
const APIPrefix = "/api/v3"

// Client talks to one attune server with one API key. Its fields may be
// changed before first use; a Client is safe for concurrent use after that.
type Client struct {
	// BaseURL is the root of the API routes, such as
	// "http://127.0.0.1:8080/api/v3", without a trailing slash.
	BaseURL string

	// Key is the API key sent as a bearer token.
	Key string

	// HTTP is the client that sends requests. It has no overall timeout,
	// since streaming chat may run for long; use contexts for deadlines.
	HTTP *http.Client

	// PollInterval is how long the Wait methods pause between status
	// requests.
	PollInterval time.Duration
}

// New returns a Client for the server at baseURL using key. A base URL
// without a path ("http://host:8080") gets APIPrefix appended; one with a
// path is used as it is, so NuGen's own base URL form works too.
func New(baseURL, key string) *Client {
	base := strings.TrimRight(baseURL, "/")
	if u, err := url.Parse(base); err == nil && (u.Path == "" || u.Path == "/") {
		base += APIPrefix
	}
	return &Client{
		BaseURL:      base,
		Key:          key,
		HTTP:         &http.Client{},
		PollInterval: 500 * time.Millisecond,
	}
}

// Error is a failed request: the HTTP status and the server's detail.
type Error struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int

	// Detail is the server's detail in words: the string detail, the
	// "message" of a structured one, or the validation errors joined.
	Detail string

	// Raw is the detail exactly as the server sent it (a JSON string,
	// object or array), or nil when the body was not attune's error shape.
	Raw json.RawMessage
}

// Error returns the detail and the status, on one line: line breaks in
// the server's detail become spaces.
func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", strings.Join(strings.Fields(e.Detail), " "), e.StatusCode)
}

// Field returns the named field of a structured detail as text, or "" when
// the detail has no such field. A 409 for a duplicate document names the
// existing one in Field("document_id").
func (e *Error) Field(name string) string {
	var obj map[string]any
	if json.Unmarshal(e.Raw, &obj) != nil {
		return ""
	}
	switch v := obj[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// StatusCode returns the HTTP status of err when it is an *Error, and 0
// otherwise.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// decodeError builds an *Error from an answer whose status is not 2xx.
func decodeError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &Error{StatusCode: resp.StatusCode}
	var shape struct {
		Detail json.RawMessage `json:"detail"`
		Error  struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &shape) == nil && len(shape.Detail) > 0 && string(shape.Detail) != "null" {
		e.Raw = shape.Detail
		e.Detail = detailText(shape.Detail)
	} else if shape.Error.Message != "" {
		e.Detail = shape.Error.Message
	}
	if e.Detail == "" {
		e.Detail = plainDetail(resp, body)
	}
	return e
}

// detailText turns a NuGen detail (a string, an object with a message, or a
// list of validation errors) into one line of words.
func detailText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &list) == nil {
		parts := make([]string, 0, len(list))
		for _, v := range list {
			parts = append(parts, locText(v.Loc)+v.Msg)
		}
		return strings.Join(parts, "; ")
	}
	var obj map[string]any
	if json.Unmarshal(raw, &obj) == nil {
		return objectText(obj)
	}
	return string(raw)
}

// locText renders a validation location such as ["body","name"] as
// "body.name: ".
func locText(loc []any) string {
	if len(loc) == 0 {
		return ""
	}
	parts := make([]string, len(loc))
	for i, p := range loc {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ".") + ": "
}

// objectText renders a structured detail: its message, then its other
// fields in a stable order.
func objectText(obj map[string]any) string {
	msg, _ := obj["message"].(string)
	var extra []string
	for _, k := range sortedKeys(obj) {
		if k == "message" {
			continue
		}
		extra = append(extra, fmt.Sprintf("%s: %v", k, obj[k]))
	}
	switch {
	case msg == "":
		return strings.Join(extra, ", ")
	case len(extra) == 0:
		return msg
	default:
		return msg + " (" + strings.Join(extra, ", ") + ")"
	}
}

// plainDetail describes an error answer that is not attune's JSON shape,
// such as a proxy's HTML page.
func plainDetail(resp *http.Response, body []byte) string {
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	if text == "" || strings.HasPrefix(text, "<") {
		return "server answered " + resp.Status
	}
	return text
}

// url returns the full URL of path (which starts with "/") and query.
func (c *Client) url(path string, query url.Values) string {
	u := c.BaseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

// newRequest builds a request with the key and, when body is not nil, its
// content type.
func (c *Client) newRequest(ctx context.Context, method, u string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: cannot build request: %w", err)
	}
	if c.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.Key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// send sends req and returns the answer when its status is 2xx, or an
// *Error built from it.
func (c *Client) send(req *http.Request) (*http.Response, error) {
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp, nil
}

// do sends a JSON request (in may be nil) and decodes the JSON answer into
// out (which may be nil).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("client: cannot encode request: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	req, err := c.newRequest(ctx, method, c.url(path, query), body, contentType)
	if err != nil {
		return err
	}
	return c.sendDecode(req, out)
}

// sendDecode sends req and decodes its JSON answer into out.
func (c *Client) sendDecode(req *http.Request, out any) error {
	resp, err := c.send(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: cannot read answer to %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// ListOptions pages through a list. Zero values leave the server's defaults
// (limit 10, offset 0).
type ListOptions struct {
	Limit  int
	Offset int
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	return q
}

// Page is the paging part of a list answer.
type Page struct {
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// wait calls poll every PollInterval until it reports done, it fails, or
// ctx ends.
func (c *Client) wait(ctx context.Context, poll func() (done bool, err error)) error {
	interval := c.PollInterval
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := poll()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// pathID escapes an id for use as one path segment.
func pathID(id string) string { return url.PathEscape(id) }
