package tokenizer

import (
	"bytes"
	"os"
	"testing"
)

// TestQwen25FilesMatchReference proves the embedded copies are the files in
// testdata, byte for byte.
func TestQwen25FilesMatchReference(t *testing.T) {
	tok, cfg, err := Qwen25Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  []byte
	}{
		{"tokenizer.json", tok},
		{"tokenizer_config.json", cfg},
	} {
		want, err := os.ReadFile("../../testdata/reference/qwen2-tiny/" + c.name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.got, want) {
			t.Errorf("embedded %s differs from testdata (%d bytes, want %d)", c.name, len(c.got), len(want))
		}
	}
}

func TestQwen25(t *testing.T) {
	a, err := Qwen25()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Qwen25()
	if a != b {
		t.Error("Qwen25 parsed the files twice")
	}
	if got := a.Encode("Hello world"); len(got) != 2 || got[0] != 9707 || got[1] != 1879 {
		t.Errorf("Encode(\"Hello world\") = %v, want [9707 1879]", got)
	}
}
