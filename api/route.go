package api

import (
	"net/http"
	"strconv"
	"strings"
)

// access says who may call a route.
type access uint8

const (
	accessUser   access = iota // any valid key
	accessPublic               // no key needed
	accessAdmin                // a key of an admin user
)

// handlerFunc answers a request or returns the error to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// A route is one entry of the route table. The table drives both the mux
// and the OpenAPI document, so that they cannot drift apart.
type route struct {
	method  string
	path    string // as documented, with {name} wildcards
	summary string
	tag     string
	access  access
	openai  bool // errors also carry OpenAI's error object
	handle  handlerFunc

	// body is a value of the request body's type, for the OpenAPI
	// document; nil when the route takes no JSON body.
	body any
	// multipart names the form fields of a multipart body.
	multipart []string
	// query names the query parameters the route reads.
	query []string
	// aliasOf is the documented path this route repeats, if any.
	aliasOf string
	// loose registers the route with its literal segments after the first
	// wildcard turned into wildcards; see muxPattern.
	loose bool
}

// key returns the route's "METHOD /path" name, used as its metrics label
// and OpenAPI operation.
func (rt route) key() string { return rt.method + " " + rt.path }

// pathParams lists the names of the route's path wildcards.
func (rt route) pathParams() []string {
	var names []string
	for _, seg := range strings.Split(rt.path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.Trim(seg, "{}"))
		}
	}
	return names
}

// muxPattern returns the ServeMux pattern for the route and the literal
// segments the handler must check itself. NuGen's paths contain pairs
// that ServeMux rejects as ambiguous, such as /benchmark/status/{id} and
// /benchmark/{id}/data (both match /benchmark/status/data). For those, a
// literal segment after a wildcard becomes a wildcard in the pattern,
// which makes the route less specific than its rival, and the route checks
// the literal on each request.
func (rt route) muxPattern() (string, map[string]string) {
	if !rt.loose {
		return rt.method + " " + rt.path, nil
	}
	segs := strings.Split(rt.path, "/")
	checks := map[string]string{}
	wild := false
	for i, seg := range segs {
		switch {
		case strings.HasPrefix(seg, "{"):
			wild = true
		case wild && seg != "":
			name := "_seg" + strconv.Itoa(i)
			checks[name] = seg
			segs[i] = "{" + name + "}"
		}
	}
	return rt.method + " " + strings.Join(segs, "/"), checks
}
