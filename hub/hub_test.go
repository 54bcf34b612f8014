package hub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const tinyDir = "../testdata/reference/qwen2-tiny"

const commit = "0123456789abcdef0123456789abcdef01234567"

// fakeHub serves files the way the Hugging Face Hub does: small files
// straight from the resolve route with their git blob id as ETag, LFS
// files as a redirect carrying X-Linked-Etag (sha256) and X-Linked-Size to
// a CDN route that honours Range.
type fakeHub struct {
	t     *testing.T
	files map[string][]byte // repository file name -> bytes
	lfs   map[string]bool   // which files are LFS files

	mu        sync.Mutex
	wrongSum  map[string]string // file -> sha256 announced instead
	cutAfter  int64             // the next CDN GET stops after this many bytes
	ranges    []string          // Range headers of CDN GETs ("" when none)
	revisions []string          // revisions asked for on the resolve route
}

func newFakeHub(t *testing.T, files map[string][]byte, lfs ...string) (*fakeHub, string) {
	h := &fakeHub{t: t, files: files, lfs: map[string]bool{}, wrongSum: map[string]string{}}
	for _, f := range lfs {
		h.lfs[f] = true
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL
}

func tinyFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{}
	for _, name := range []string{"config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(tinyDir, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	return files
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if sum, ok := strings.CutPrefix(r.URL.Path, "/cdn/"); ok {
		h.serveCDN(w, r, sum)
		return
	}
	// /{owner}/{name}/resolve/{revision}/{file...}
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 5)
	if len(parts) != 5 || parts[0] != "acme" || parts[1] != "tiny" || parts[2] != "resolve" {
		http.Error(w, `{"error":"Repository not found"}`, http.StatusNotFound)
		return
	}
	h.mu.Lock()
	h.revisions = append(h.revisions, parts[3])
	wrong := h.wrongSum[parts[4]]
	h.mu.Unlock()
	body, ok := h.files[parts[4]]
	if !ok || (parts[3] != "main" && parts[3] != commit) {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if h.lfs[parts[4]] {
		sum := sha256Hex(body)
		w.Header().Set("X-Linked-Etag", `"`+orDefault(wrong, sum)+`"`)
		w.Header().Set("X-Linked-Size", fmt.Sprint(len(body)))
		w.Header().Set("ETag", `"`+orDefault(wrong, sum)+`"`)
		http.Redirect(w, r, "/cdn/"+sum, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+orDefault(wrong, gitBlobID(body))+`"`)
	http.ServeContent(w, r, parts[4], time.Time{}, bytes.NewReader(body))
}

// serveCDN serves an LFS file by its sha256, honouring Range, and cuts the
// answer short once when cutAfter is set.
func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request, sum string) {
	if r.Header.Get("Authorization") != "" {
		h.t.Errorf("the CDN was sent a token")
	}
	var body []byte
	for _, b := range h.files {
		if sha256Hex(b) == sum {
			body = b
		}
	}
	if r.Method == http.MethodGet {
		h.mu.Lock()
		h.ranges = append(h.ranges, r.Header.Get("Range"))
		cut := h.cutAfter
		h.cutAfter = 0
		h.mu.Unlock()
		if cut > 0 {
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.WriteHeader(http.StatusOK)
			w.Write(body[:cut])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // the connection drops mid-file
		}
	}
	http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(body))
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// checkSame fails unless dir holds exactly the bytes of files.
func checkSame(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes differ from the %d served", name, len(got), len(want))
		}
	}
	partials, _ := filepath.Glob(filepath.Join(dir, "*.partial"))
	if len(partials) > 0 {
		t.Errorf("partial files left: %v", partials)
	}
}

func TestPull(t *testing.T) {
	files := tinyFiles(t)
	h, endpoint := newFakeHub(t, files, "model.safetensors")
	dir := t.TempDir()
	p := New(endpoint)
	var last Progress
	p.OnProgress = func(pr Progress) {
		if pr.File == "model.safetensors" {
			last = pr
		}
	}

	got, err := p.Pull(context.Background(), "acme/tiny", "", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "[config.json tokenizer.json tokenizer_config.json generation_config.json model.safetensors]"
	if fmt.Sprint(got) != want {
		t.Errorf("files %v, want %s", got, want)
	}
	checkSame(t, dir, files)
	if n := int64(len(files["model.safetensors"])); last.Done != n || last.Total != n {
		t.Errorf("last progress %+v, want %d of %d", last, n, n)
	}

	// After the first file (a HEAD and a GET), every request names the
	// commit, not "main".
	for i, rev := range h.revisions {
		if want := map[bool]string{true: "main", false: commit}[i < 2]; rev != want {
			t.Errorf("request %d asked for revision %q, want %q", i, rev, want)
		}
	}

	// A second pull checks the files and downloads nothing.
	h.ranges = nil
	if _, err := p.Pull(context.Background(), "acme/tiny", "main", dir); err != nil {
		t.Fatal(err)
	}
	if len(h.ranges) != 0 {
		t.Errorf("second pull fetched the weights again (%d GETs)", len(h.ranges))
	}
}

func TestPullResumes(t *testing.T) {
	files := tinyFiles(t)
	h, endpoint := newFakeHub(t, files, "model.safetensors")
	dir := t.TempDir()
	const cut = 3 << 20
	h.cutAfter = cut

	_, err := New(endpoint).Pull(context.Background(), "acme/tiny", "main", dir)
	if err == nil || !strings.Contains(err.Error(), "run the pull again to resume") {
		t.Fatalf("interrupted pull: error %v, want one saying to pull again", err)
	}
	st, err := os.Stat(filepath.Join(dir, "model.safetensors.partial"))
	if err != nil || st.Size() != cut {
		t.Fatalf("partial file after the cut: %v, %v; want %d bytes", st, err, cut)
	}

	if _, err := New(endpoint).Pull(context.Background(), "acme/tiny", "main", dir); err != nil {
		t.Fatal(err)
	}
	if want := []string{"", fmt.Sprintf("bytes=%d-", cut)}; fmt.Sprint(h.ranges) != fmt.Sprint(want) {
		t.Errorf("CDN Range headers %q, want %q", h.ranges, want)
	}
	checkSame(t, dir, files)
}

func TestPullRefusesBadChecksum(t *testing.T) {
	tests := []struct {
		file string
		sum  string
	}{
		{"model.safetensors", sha256Hex([]byte("something else"))},
		{"tokenizer_config.json", gitBlobID([]byte("something else"))},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			h, endpoint := newFakeHub(t, tinyFiles(t), "model.safetensors")
			h.wrongSum[tt.file] = tt.sum
			dir := t.TempDir()
			_, err := New(endpoint).Pull(context.Background(), "acme/tiny", "main", dir)
			if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), tt.sum) {
				t.Fatalf("error %v, want a checksum mismatch naming %s", err, tt.sum)
			}
			for _, name := range []string{tt.file, tt.file + ".partial"} {
				if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s is on disk after a checksum mismatch", name)
				}
			}
		})
	}
}

func TestPullSharded(t *testing.T) {
	files := tinyFiles(t)
	delete(files, "model.safetensors")
	files["model.safetensors.index.json"] = []byte(`{"metadata":{},"weight_map":{
		"a": "model-00001-of-00002.safetensors",
		"b": "model-00002-of-00002.safetensors",
		"c": "model-00001-of-00002.safetensors"}}`)
	files["model-00001-of-00002.safetensors"] = bytes.Repeat([]byte{1}, 70000)
	files["model-00002-of-00002.safetensors"] = bytes.Repeat([]byte{2}, 50000)
	_, endpoint := newFakeHub(t, files, "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
	dir := t.TempDir()

	got, err := New(endpoint).Pull(context.Background(), "acme/tiny", "main", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(fmt.Sprint(got), "model.safetensors.index.json model-00001-of-00002.safetensors model-00002-of-00002.safetensors]") {
		t.Errorf("files %v", got)
	}
	checkSame(t, dir, files)
}

func TestPullErrors(t *testing.T) {
	noWeights := tinyFiles(t)
	delete(noWeights, "model.safetensors")
	noTokenizer := tinyFiles(t)
	delete(noTokenizer, "tokenizer.json")
	tests := []struct {
		name  string
		files map[string][]byte
		repo  string
		want  string
	}{
		{"no weights", noWeights, "acme/tiny", "has neither model.safetensors nor model.safetensors.index.json"},
		{"no tokenizer", noTokenizer, "acme/tiny", "tokenizer.json: hub: no such file"},
		{"unknown repo", tinyFiles(t), "acme/other", "acme/other config.json: hub: no such file"},
		{"bad repo", tinyFiles(t), "../etc", `repository "../etc" is not of the form OWNER/NAME`},
		{"bad repo 2", tinyFiles(t), "a/b/c", "not of the form OWNER/NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, endpoint := newFakeHub(t, tt.files, "model.safetensors")
			_, err := New(endpoint).Pull(context.Background(), tt.repo, "main", t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestParseETag(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	git := strings.Repeat("cd", 20)
	tests := []struct {
		in   string
		want checksum
	}{
		{`"` + sha + `"`, checksum{"sha256", sha}},
		{`W/"` + strings.ToUpper(git) + `"`, checksum{"git-sha1", git}},
		{git, checksum{"git-sha1", git}},
		{`"abc"`, checksum{}},
		{`"` + strings.Repeat("zz", 32) + `"`, checksum{}},
		{"", checksum{}},
	}
	for _, tt := range tests {
		if got := parseETag(tt.in); got != tt.want {
			t.Errorf("parseETag(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestValidFileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"model.safetensors", true},
		{"sub/model-00001.safetensors", true},
		{"../x", false},
		{"/etc/passwd", false},
		{"a/../../x", false},
		{"a\\b", false},
		{"", false},
		{"..", false},
	}
	for _, tt := range tests {
		if got := validFileName(tt.name) == nil; got != tt.ok {
			t.Errorf("validFileName(%q) ok = %v, want %v", tt.name, got, tt.ok)
		}
	}
}
