// Package hub downloads model repositories from the Hugging Face Hub, or
// from any server that answers the Hub's resolve route
// ({endpoint}/{repo}/resolve/{revision}/{file}).
//
// Downloads resume: bytes land in FILE.partial, and a second Pull asks only
// for the rest with an HTTP Range request. Every file is checked before it
// is renamed into place: large (LFS) files against the sha256 the Hub sends
// in X-Linked-Etag, small ones against their git blob id in ETag. A file
// whose bytes do not match is deleted and the pull fails.
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// DefaultEndpoint is the public Hugging Face Hub.
const DefaultEndpoint = "https://huggingface.co"

// Progress reports bytes received for one file. Total is -1 when the server
// did not say.
type Progress struct {
	File  string
	Done  int64
	Total int64
}

// Puller downloads repositories. The zero value is not usable; fill
// Endpoint (or use New).
type Puller struct {
	// Endpoint is the Hub's root URL, without a trailing slash.
	Endpoint string

	// Token, when set, is sent as a bearer token (gated and private
	// repositories need one).
	Token string

	// HTTP sends the requests. Its redirect policy is replaced per request
	// where the Hub's metadata needs the unfollowed answer.
	HTTP *http.Client

	// OnProgress, when set, is called as bytes arrive and once when each
	// file is complete.
	OnProgress func(Progress)
}

// New returns a Puller for endpoint ("" for DefaultEndpoint).
func New(endpoint string) *Puller {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	return &Puller{Endpoint: strings.TrimRight(endpoint, "/"), HTTP: &http.Client{}}
}

// ErrNotFound is returned for a repository file the server does not have.
var ErrNotFound = errors.New("hub: no such file")

// requiredFiles are the files a Qwen2 model directory cannot do without;
// optionalFiles are taken when present.
var (
	requiredFiles = []string{"config.json", "tokenizer.json", "tokenizer_config.json"}
	optionalFiles = []string{"generation_config.json"}
)

const (
	singleWeights = "model.safetensors"
	shardIndex    = "model.safetensors.index.json"
)

// Pull downloads the model files of repo at revision into dir and returns
// the names of the files it holds afterwards. Files already complete in dir
// are checked and kept; partial ones are resumed.
func (p *Puller) Pull(ctx context.Context, repo, revision, dir string) ([]string, error) {
	if err := validRepo(repo); err != nil {
		return nil, err
	}
	if revision == "" {
		revision = "main"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hub: cannot create %s: %w", dir, err)
	}

	// The first file pins the revision to a commit, so that every file
	// comes from the same snapshot even if the branch moves meanwhile.
	var got []string
	for _, name := range requiredFiles {
		commit, err := p.fetch(ctx, repo, revision, name, dir)
		if err != nil {
			return got, err
		}
		if commit != "" {
			revision = commit
		}
		got = append(got, name)
	}
	for _, name := range optionalFiles {
		if _, err := p.fetch(ctx, repo, revision, name, dir); err == nil {
			got = append(got, name)
		} else if !errors.Is(err, ErrNotFound) {
			return got, err
		}
	}

	weights, err := p.fetchWeights(ctx, repo, revision, dir)
	return append(got, weights...), err
}

// fetchWeights downloads model.safetensors, or the shard index and every
// shard it names.
func (p *Puller) fetchWeights(ctx context.Context, repo, revision, dir string) ([]string, error) {
	_, err := p.fetch(ctx, repo, revision, singleWeights, dir)
	if err == nil {
		return []string{singleWeights}, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if _, err := p.fetch(ctx, repo, revision, shardIndex, dir); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("hub: %s has neither %s nor %s; only safetensors weights can be pulled", repo, singleWeights, shardIndex)
		}
		return nil, err
	}
	shards, err := readShardIndex(filepath.Join(dir, shardIndex))
	if err != nil {
		return nil, err
	}
	got := []string{shardIndex}
	for _, s := range shards {
		if _, err := p.fetch(ctx, repo, revision, s, dir); err != nil {
			return got, err
		}
		got = append(got, s)
	}
	return got, nil
}

// readShardIndex returns the shard file names an index names, each once,
// in the order first met.
func readShardIndex(file string) ([]string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("hub: cannot read shard index: %w", err)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return nil, fmt.Errorf("hub: bad shard index %s: %w", file, err)
	}
	seen := map[string]bool{}
	var shards []string
	for _, k := range sortedKeys(index.WeightMap) {
		s := index.WeightMap[k]
		if seen[s] {
			continue
		}
		if err := validFileName(s); err != nil {
			return nil, fmt.Errorf("hub: shard index names %q: %w", s, err)
		}
		seen[s] = true
		shards = append(shards, s)
	}
	if len(shards) == 0 {
		return nil, fmt.Errorf("hub: shard index %s names no shards", file)
	}
	return shards, nil
}

// validRepo checks that repo is "owner/name" with no path tricks.
func validRepo(repo string) error {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") ||
		owner == "." || owner == ".." || name == "." || name == ".." {
		return fmt.Errorf("hub: repository %q is not of the form OWNER/NAME", repo)
	}
	return nil
}

// validFileName refuses names that would land outside the target
// directory.
func validFileName(name string) error {
	if name == "" || path.IsAbs(name) || strings.Contains(name, "\\") ||
		path.Clean(name) != name || strings.HasPrefix(name, "../") || name == ".." {
		return errors.New("not a plain file name inside the repository")
	}
	return nil
}
