package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHubModelID(t *testing.T) {
	tests := []struct{ repo, want string }{
		{"Qwen/Qwen2.5-0.5B-Instruct", "qwen-v2p5-0p5b-instruct"},
		{"Qwen/Qwen2.5-1.5B-Instruct", "qwen-v2p5-1p5b-instruct"},
		{"someone/My_Model v2", "my-model-v2"},
	}
	for _, tt := range tests {
		if got := hubModelID(tt.repo); got != tt.want {
			t.Errorf("hubModelID(%q) = %q, want %q", tt.repo, got, tt.want)
		}
	}
}

// testStdio returns streams for a command under test and its output.
func testStdio(env map[string]string, stdin string) (stdio, *bytes.Buffer, *bytes.Buffer) {
	var out, errw bytes.Buffer
	return stdio{
		in: strings.NewReader(stdin), out: &out, errw: &errw,
		getenv: func(k string) string { return env[k] },
	}, &out, &errw
}

func TestModelsPullCommand(t *testing.T) {
	// A plain file server under the resolve route stands in for the Hub;
	// the hub package's tests cover redirects, checksums and resuming.
	mux := http.NewServeMux()
	mux.Handle("/acme/tiny/resolve/main/", http.StripPrefix("/acme/tiny/resolve/main/",
		http.FileServer(http.Dir("../../testdata/reference/qwen2-tiny"))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	data := t.TempDir()
	io, out, _ := testStdio(map[string]string{"HF_ENDPOINT": srv.URL}, "")
	if err := modelsPull(context.Background(), []string{"acme/tiny", "--data-dir", data}, io); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(data, "downloads", "acme--tiny")
	for _, f := range []string{"config.json", "tokenizer.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s not downloaded: %v", f, err)
		}
	}
	for _, want := range []string{"downloaded 5 files", "model.safetensors 100%  9.8 MB",
		"registered base model tiny (", "context 512)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}

	// Pulling again downloads nothing and keeps the registration.
	out.Reset()
	if err := modelsPull(context.Background(), []string{"acme/tiny", "--data-dir", data}, io); err != nil {
		t.Fatal(err)
	}
	if want := "model tiny is already registered"; !strings.Contains(out.String(), want) {
		t.Errorf("second pull's output lacks %q:\n%s", want, out)
	}
}
