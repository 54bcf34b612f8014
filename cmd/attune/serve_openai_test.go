package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"attune/api"
)

// sdkDir is the node project that runs the official OpenAI SDK.
var sdkDir = filepath.Join("..", "..", "api", "testdata", "openai-sdk")

// TestOpenAISDK runs the official OpenAI SDK (npm package openai, the
// version package.json pins) against /v1 and /api/v3/inference: chat,
// streaming chat, completions and a missing model. It skips only when node
// is not installed; the package is installed once into the user's cache
// directory.
func TestOpenAISDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := installSDK(t)
	ts := startServer(t, api.Config{})

	cmd := exec.Command(node, filepath.Join(dir, "check.mjs"), ts.bob, serveBase, ts.url+"/v1", ts.url+"/api/v3/inference")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var res struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &res); jerr != nil || err != nil || !res.OK {
		t.Fatalf("the OpenAI SDK check failed (%v): %s", err, out)
	}
	t.Logf("%s", lines[len(lines)-1])
}

// installSDK copies the node project to a cache directory and installs
// its dependencies there unless they already are.
func installSDK(t *testing.T) string {
	t.Helper()
	pkg, err := os.ReadFile(filepath.Join(sdkDir, "package.json"))
	must(t, err)
	script, err := os.ReadFile(filepath.Join(sdkDir, "check.mjs"))
	must(t, err)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "attune", "openai-sdk")
	must(t, os.MkdirAll(dir, 0o755))
	old, _ := os.ReadFile(filepath.Join(dir, "package.json"))
	must(t, os.WriteFile(filepath.Join(dir, "check.mjs"), script, 0o644))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "openai")); err == nil && string(old) == string(pkg) {
		return dir
	}
	must(t, os.WriteFile(filepath.Join(dir, "package.json"), pkg, 0o644))
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatalf("node is installed but npm is not: %v", err)
	}
	cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install in %s: %v\n%s", dir, err, out)
	}
	return dir
}
