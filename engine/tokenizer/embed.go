package tokenizer

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
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
