// Package demo holds what `attune demo` needs to run offline: a small
// domain corpus with its gold question/answer benchmark, embedded in the
// binary, and a reader for corpora laid out the same way on disk.
//
// A corpus directory holds documents/ (the files to upload) and
// benchmark_small.json (a JSON array of {"question", "answer"} pairs about
// those documents).
package demo

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
)

//go:embed corpus
var embedded embed.FS

// DefaultCorpus is the corpus the demo uses when none is named: 110 short
// descriptions of the chemical elements with 20 exact-answer questions.
const DefaultCorpus = "dict-elements"

// Document is one file of a corpus.
type Document struct {
	Name string
	Body []byte
}

// QA is one benchmark question with its reference answer.
type QA struct {
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// Corpus is a set of documents and a benchmark about them.
type Corpus struct {
	Name      string
	Documents []Document // sorted by name
	Benchmark []QA
}

// Names returns the names of the embedded corpora.
func Names() []string {
	entries, _ := embedded.ReadDir("corpus")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// Load returns the embedded corpus called name, or, when name is a
// directory on disk, the corpus in it.
func Load(name string) (*Corpus, error) {
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return read(os.DirFS(name), path.Base(name))
	}
	sub, err := fs.Sub(embedded, "corpus/"+name)
	if err != nil || !fs.ValidPath(name) {
		return nil, fmt.Errorf("demo: no corpus %q; the embedded ones are %v, or name a directory", name, Names())
	}
	if _, err := fs.Stat(sub, "documents"); err != nil {
		return nil, fmt.Errorf("demo: no corpus %q; the embedded ones are %v, or name a directory", name, Names())
	}
	return read(sub, name)
}

// read reads a corpus from fsys.
func read(fsys fs.FS, name string) (*Corpus, error) {
	c := &Corpus{Name: name}
	entries, err := fs.ReadDir(fsys, "documents")
	if err != nil {
		return nil, fmt.Errorf("demo: corpus %s: %w", name, err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := fs.ReadFile(fsys, "documents/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("demo: corpus %s: %w", name, err)
		}
		c.Documents = append(c.Documents, Document{Name: e.Name(), Body: b})
	}
	sort.Slice(c.Documents, func(i, j int) bool { return c.Documents[i].Name < c.Documents[j].Name })
	if len(c.Documents) == 0 {
		return nil, fmt.Errorf("demo: corpus %s has no documents", name)
	}

	b, err := fs.ReadFile(fsys, "benchmark_small.json")
	if err != nil {
		return nil, fmt.Errorf("demo: corpus %s: %w", name, err)
	}
	if err := json.Unmarshal(b, &c.Benchmark); err != nil {
		return nil, fmt.Errorf("demo: corpus %s: benchmark_small.json: %w", name, err)
	}
	if len(c.Benchmark) == 0 {
		return nil, fmt.Errorf("demo: corpus %s: benchmark_small.json holds no questions", name)
	}
	return c, nil
}
