package train

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"attune/engine/tokenizer"
)

func loadTokenizer(t testing.TB) *tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.Load(filepath.Join("..", "..", "testdata", "reference", "qwen2-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestChatLabels checks the chat example of the reference: the ids of the
// rendered conversation and the labels that train only the assistant's
// answer, as the reference recorded them.
func TestChatLabels(t *testing.T) {
	var ref loraReference
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "reference", "qwen2-tiny", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	tok := loadTokenizer(t)
	jsonl := `{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}, {"role": "assistant", "content": "Paris."}]}`
	es, err := ReadJSONL(strings.NewReader(jsonl), tok)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := es[0].Tokens, ref.Inputs.InputIDs[0]; !slices.Equal(got, want) {
		t.Errorf("tokens\n got %v\nwant %v", got, want)
	}
	if got, want := es[0].Labels, ref.Inputs.Labels[0]; !slices.Equal(got, want) {
		t.Errorf("labels\n got %v\nwant %v", got, want)
	}
}

func TestReadJSONL(t *testing.T) {
	tok := loadTokenizer(t)
	eot, _ := tok.ID("<|endoftext|>")
	tests := []struct {
		name, in string
		wantErr  string // empty: no error
		wantLen  int    // tokens of the first example
		trained  int    // labelled tokens of the first example
	}{
		{name: "text", in: `{"text": "Go 1.26"}` + "\n\n", wantLen: len(tok.Encode("Go 1.26")) + 1, trained: len(tok.Encode("Go 1.26")) + 1},
		{name: "two turns", in: `{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}`,
			wantLen: -1, trained: 2 * 3},
		{name: "bad json", in: `{"text": 1}`, wantErr: "line 1"},
		{name: "unknown field", in: "\n" + `{"txt": "a"}`, wantErr: "line 2"},
		{name: "both", in: `{"text": "a", "messages": []}`, wantErr: "both"},
		{name: "no assistant", in: `{"messages": [{"role": "user", "content": "a"}]}`, wantErr: "no assistant"},
		{name: "bad role", in: `{"messages": [{"role": "tool", "content": "a"}]}`, wantErr: "role"},
		{name: "empty", in: "\n", wantErr: "no examples"},
	}
	for _, tt := range tests {
		es, err := ReadJSONL(strings.NewReader(tt.in), tok)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		e := es[0]
		if tt.wantLen >= 0 && len(e.Tokens) != tt.wantLen {
			t.Errorf("%s: %d tokens, want %d", tt.name, len(e.Tokens), tt.wantLen)
		}
		trained := 0
		for _, l := range e.Labels {
			if l != IgnoreLabel {
				trained++
			}
		}
		if trained != tt.trained {
			t.Errorf("%s: %d labelled tokens, want %d (labels %v)", tt.name, trained, tt.trained, e.Labels)
		}
		if tt.name == "text" && e.Tokens[len(e.Tokens)-1] != int32(eot) {
			t.Errorf("text does not end with <|endoftext|>")
		}
	}
}

func FuzzReadJSONL(f *testing.F) {
	tok := loadTokenizer(f)
	f.Add(`{"text": "hello"}`)
	f.Add(`{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		es, err := ReadJSONL(strings.NewReader(in), tok)
		if err != nil {
			return
		}
		for _, e := range es {
			if err := e.Validate(tok.Len()); err != nil {
				t.Fatalf("ReadJSONL accepted %q but produced an invalid example: %v", in, err)
			}
		}
	})
}
