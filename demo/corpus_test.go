package demo

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEmbeddedMatchesTestdata keeps the embedded copy equal to the corpus
// in testdata, which is the one the rest of the project measures with.
func TestEmbeddedMatchesTestdata(t *testing.T) {
	c, err := Load(DefaultCorpus)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := Load(filepath.Join("..", "testdata", "corpora", DefaultCorpus))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Documents) != 111 || len(c.Documents) != len(disk.Documents) {
		t.Fatalf("%d embedded documents, %d on disk, want 111", len(c.Documents), len(disk.Documents))
	}
	for i := range c.Documents {
		if c.Documents[i].Name != disk.Documents[i].Name || !bytes.Equal(c.Documents[i].Body, disk.Documents[i].Body) {
			t.Errorf("document %d: embedded %s differs from testdata's %s", i, c.Documents[i].Name, disk.Documents[i].Name)
		}
	}
	if len(c.Benchmark) != 20 || c.Benchmark[0] != disk.Benchmark[0] {
		t.Errorf("benchmark: %d questions, first %+v; testdata's first %+v", len(c.Benchmark), c.Benchmark[0], disk.Benchmark[0])
	}
}

func TestLoadErrors(t *testing.T) {
	empty := t.TempDir()
	noBench := t.TempDir()
	os.MkdirAll(filepath.Join(noBench, "documents"), 0o755)
	os.WriteFile(filepath.Join(noBench, "documents", "a.txt"), []byte("a"), 0o644)
	tests := []struct{ name, want string }{
		{"no-such-corpus", `no corpus "no-such-corpus"`},
		{"../corpus", `no corpus "../corpus"`},
		{empty, "documents"},
		{noBench, "benchmark_small.json"},
	}
	for _, tt := range tests {
		if _, err := Load(tt.name); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
