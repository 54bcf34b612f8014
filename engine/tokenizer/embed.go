package tokenizer

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"
)

// The Qwen2.5 tokenizer files, gzip-compressed, so that a model directory
// can be written (attune models init) and tests can run without a
// downloaded checkpoint. They are copies of
// testdata/reference/qwen2-tiny/tokenizer.json and tokenizer_config.json.
var (
	//go:embed qwen25_tokenizer.json.gz
	qwen25TokenizerGz []byte

	//go:embed qwen25_tokenizer_config.json.gz
	qwen25ConfigGz []byte
)

// Qwen25Files returns the Qwen2.5 tokenizer.json and tokenizer_config.json
// (the Instruct config, with its chat template), decompressed from the
// copies embedded in the binary. Each call returns fresh slices.
func Qwen25Files() (tokenizerJSON, tokenizerConfigJSON []byte, err error) {
	tokenizerJSON, err = gunzip(qwen25TokenizerGz)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer: cannot unpack embedded tokenizer.json: %w", err)
	}
	tokenizerConfigJSON, err = gunzip(qwen25ConfigGz)
	if err != nil {
		return nil, nil, fmt.Errorf("tokenizer: cannot unpack embedded tokenizer_config.json: %w", err)
	}
	return tokenizerJSON, tokenizerConfigJSON, nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}

var qwen25 struct {
	once sync.Once
	tok  *Tokenizer
	err  error
}

// Qwen25 returns the Qwen2.5 tokenizer built from the embedded files,
// parsed on first use and shared afterwards (a Tokenizer is safe for
// concurrent use). It serves code that counts or cuts text in Qwen2.5
// tokens without a model directory at hand.
func Qwen25() (*Tokenizer, error) {
	qwen25.once.Do(func() {
		tj, cj, err := Qwen25Files()
		if err != nil {
			qwen25.err = err
			return
		}
		qwen25.tok, qwen25.err = Parse(tj, cj)
	})
	return qwen25.tok, qwen25.err
}
