package tokenizer

import (
	"path/filepath"
	"testing"
)

// corpus reads the Debian FAQ documents as one text.
func corpus(b *testing.B) string {
	files, err := filepath.Glob("../../testdata/corpora/debian-faq/documents/*.md")
	if err != nil || len(files) == 0 {
		b.Fatalf("no corpus: %v", err)
	}
	var text []byte
	for _, f := range files {
		text = append(text, mustRead(b, f)...)
	}
	return string(text)
}

// BenchmarkEncode reports tokens/s encoding the Debian FAQ, with the word
// cache warm after the first iteration.
func BenchmarkEncode(b *testing.B) {
	tok := qwen(b)
	text := corpus(b)
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		n += len(tok.Encode(text))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkEncodeCold is BenchmarkEncode with an empty word cache each time.
func BenchmarkEncodeCold(b *testing.B) {
	tok := qwen(b)
	text := corpus(b)
	b.SetBytes(int64(len(text)))
	n := 0
	for b.Loop() {
		tok.bpe.cache.reset()
		n += len(tok.Encode(text))
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkDecode(b *testing.B) {
	tok := qwen(b)
	ids := tok.Encode(corpus(b))
	n := 0
	for b.Loop() {
		if _, err := tok.Decode(ids); err != nil {
			b.Fatal(err)
		}
		n += len(ids)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkLoad(b *testing.B) {
	tj := mustRead(b, refDir+"/tokenizer.json")
	cj := mustRead(b, refDir+"/tokenizer_config.json")
	for b.Loop() {
		if _, err := Parse(tj, cj); err != nil {
			b.Fatal(err)
		}
	}
}
