package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// meta is what a HEAD of the resolve route says about one file.
type meta struct {
	location string // where the bytes are; the resolve URL or a CDN's
	size     int64  // -1 when unknown
	sum      checksum
	commit   string // the commit the revision resolved to, if said
}

// checksum is the expected digest of a file: a sha256 for LFS files, a git
// blob sha1 for the rest, or none when the server sent neither.
type checksum struct {
	kind string // "sha256", "git-sha1" or ""
	hex  string
}

// parseETag reads a digest out of an ETag value: quotes and the weak
// marker are removed, and 64 hex digits are a sha256, 40 a git blob id.
func parseETag(etag string) checksum {
	etag = strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
	etag = strings.ToLower(etag)
	if _, err := hex.DecodeString(etag); err != nil {
		return checksum{}
	}
	switch len(etag) {
	case 64:
		return checksum{"sha256", etag}
	case 40:
		return checksum{"git-sha1", etag}
	}
	return checksum{}
}

// hasher returns a hash for the checksum's kind, primed for a file of
// size bytes, or nil when there is nothing to check.
func (c checksum) hasher(size int64) hash.Hash {
	switch c.kind {
	case "sha256":
		return sha256.New()
	case "git-sha1":
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", size)
		return h
	}
	return nil
}

// fetch brings one file of the repository into dir and returns the commit
// the server resolved the revision to ("" when it did not say).
func (p *Puller) fetch(ctx context.Context, repo, revision, name, dir string) (string, error) {
	if err := validFileName(name); err != nil {
		return "", fmt.Errorf("hub: file %q: %w", name, err)
	}
	resolve := p.Endpoint + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + name
	m, err := p.head(ctx, resolve)
	if err != nil {
		return "", fmt.Errorf("hub: %s %s: %w", repo, name, err)
	}
	dest := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", fmt.Errorf("hub: cannot create directory for %s: %w", name, err)
	}

	// A complete file from an earlier pull is kept when it still matches.
	if ok, err := complete(dest, m); err != nil || ok {
		if ok {
			p.report(name, m.size, m.size)
		}
		return m.commit, err
	}
	if err := p.download(ctx, name, dest+".partial", m); err != nil {
		return "", err
	}
	if err := verify(dest+".partial", m); err != nil {
		os.Remove(dest + ".partial")
		return "", fmt.Errorf("hub: %s: %w; the download was deleted, pull again to retry", name, err)
	}
	if err := os.Rename(dest+".partial", dest); err != nil {
		return "", fmt.Errorf("hub: cannot move %s into place: %w", name, err)
	}
	return m.commit, nil
}

// head asks the resolve route about a file without following the redirect
// to the bytes, since the Hub puts an LFS file's sha256 and size on the
// redirect itself. Redirects within the Hub (a renamed repository) are
// followed.
func (p *Puller) head(ctx context.Context, resolve string) (*meta, error) {
	hc := *p.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	target := resolve
	for hops := 0; hops < 5; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
		if err != nil {
			return nil, err
		}
		p.authorize(req)
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		m, next, err := p.readHead(resp)
		if err != nil || next == "" {
			return m, err
		}
		target = next
	}
	return nil, errors.New("too many redirects")
}

// readHead interprets one HEAD answer. It returns the file's metadata, or
// the next URL to ask when the answer is a redirect within the Hub.
func (p *Puller) readHead(resp *http.Response) (*meta, string, error) {
	h := resp.Header
	m := &meta{location: resp.Request.URL.String(), size: -1, commit: h.Get("X-Repo-Commit")}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, "", ErrNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, "", fmt.Errorf("the server refused access (%s); the repository may be gated or private: set HF_TOKEN", resp.Status)
	case resp.StatusCode/100 == 2:
		m.sum = parseETag(h.Get("ETag"))
		m.size = resp.ContentLength
		return m, "", nil
	case resp.StatusCode/100 != 3:
		return nil, "", fmt.Errorf("server answered %s", resp.Status)
	}

	loc, err := resp.Location()
	if err != nil {
		return nil, "", fmt.Errorf("redirect without a location: %w", err)
	}
	linked := h.Get("X-Linked-Etag")
	if linked == "" {
		// A redirect that carries no file metadata is the Hub moving
		// us within itself; ask again there.
		return nil, loc.String(), nil
	}
	m.location = loc.String()
	m.sum = parseETag(linked)
	if n, err := strconv.ParseInt(h.Get("X-Linked-Size"), 10, 64); err == nil {
		m.size = n
	}
	return m, "", nil
}

// authorize adds the token to requests for the Hub itself; the bytes'
// CDN gets no token.
func (p *Puller) authorize(req *http.Request) {
	if p.Token == "" {
		return
	}
	if e, err := url.Parse(p.Endpoint); err == nil && e.Host == req.URL.Host {
		req.Header.Set("Authorization", "Bearer "+p.Token)
	}
}

// complete reports whether dest already holds the file m describes. A file
// of the wrong size or digest is removed so that it is fetched again.
func complete(dest string, m *meta) (bool, error) {
	st, err := os.Stat(dest)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("hub: %w", err)
	}
	if m.size >= 0 && st.Size() == m.size && verify(dest, m) == nil {
		return true, nil
	}
	return false, os.Remove(dest)
}

// download appends the missing bytes of a file to partial, asking only for
// what is missing.
func (p *Puller) download(ctx context.Context, name, partial string, m *meta) error {
	f, err := os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if m.size >= 0 && have > m.size {
		have = 0 // longer than the file: not a prefix of it
	}
	if m.size >= 0 && have == m.size {
		p.report(name, have, m.size)
		return nil
	}

	resp, err := p.get(ctx, m.location, have)
	if err != nil {
		return fmt.Errorf("hub: %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		have = 0 // the server sent the whole file
	}
	if err := f.Truncate(have); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	w := &progressWriter{w: f, done: have, total: m.size, name: name, report: p.report}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("hub: download of %s stopped after %d bytes (run the pull again to resume): %w", name, w.done, err)
	}
	return nil
}

// get requests the bytes of a file from offset on.
func (p *Puller) get(ctx context.Context, location string, offset int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, location, nil)
	if err != nil {
		return nil, err
	}
	p.authorize(req)
	req.Header.Set("Accept-Encoding", "identity")
	if offset > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", offset))
	}
	resp, err := p.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp, nil
	case resp.StatusCode == http.StatusPartialContent && offset > 0 && rangeStart(resp) == offset:
		return resp, nil
	}
	resp.Body.Close()
	return nil, fmt.Errorf("server answered %s to a request for bytes from %d", resp.Status, offset)
}

// rangeStart returns the first byte a 206 answer holds, or -1.
func rangeStart(resp *http.Response) int64 {
	cr := strings.TrimPrefix(resp.Header.Get("Content-Range"), "bytes ")
	start, _, ok := strings.Cut(cr, "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// verify checks a downloaded file's size and digest against m.
func verify(file string, m *meta) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if m.size >= 0 && st.Size() != m.size {
		return fmt.Errorf("size mismatch: the server announced %d bytes, %d arrived", m.size, st.Size())
	}
	h := m.sum.hasher(st.Size())
	if h == nil {
		return nil
	}
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.sum.hex {
		return fmt.Errorf("checksum mismatch: the server announced %s %s, the bytes have %s", m.sum.kind, m.sum.hex, got)
	}
	return nil
}

// progressWriter counts bytes written and reports them.
type progressWriter struct {
	w           io.Writer
	done, total int64
	name        string
	report      func(name string, done, total int64)
}

func (w *progressWriter) Write(b []byte) (int, error) {
	n, err := w.w.Write(b)
	w.done += int64(n)
	w.report(w.name, w.done, w.total)
	return n, err
}

func (p *Puller) report(name string, done, total int64) {
	if p.OnProgress != nil {
		p.OnProgress(Progress{File: name, Done: done, Total: total})
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
