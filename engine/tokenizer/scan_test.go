package tokenizer

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// TestScanMatchesJSON holds the scanners to encoding/json on the real
// files and on odd inputs.
func TestScanMatchesJSON(t *testing.T) {
	var f struct {
		Model struct {
			Vocab  json.RawMessage `json:"vocab"`
			Merges json.RawMessage `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(mustRead(t, refDir+"/tokenizer.json"), &f); err != nil {
		t.Fatal(err)
	}
	checkVocab(t, f.Model.Vocab)
	checkMerges(t, f.Model.Merges)
	for _, v := range []string{`{}`, ` { "a\"b" : 1 , "\u00e9\\" :22, "x":3 } `, `{"é": 0}`} {
		checkVocab(t, json.RawMessage(v))
	}
	for _, m := range []string{`[]`, `["a b", "\u0120 c"]`, ` [ [ "a" , "b\"" ] , ["\\", "x"] ] `} {
		checkMerges(t, json.RawMessage(m))
	}
	for _, bad := range []string{`{"a": 1,}`, `{"a": -1}`, `{"a": 1.5}`, `{"a" 1}`, `{"a": 1} x`, `["ab"]`, `[["a"]]`, `[["a","b"],]`, `{"a": 1`} {
		_, errV := scanVocab([]byte(bad))
		errM := scanMerges([]byte(bad), func(a, b []byte) error { return nil })
		if errV == nil && errM == nil {
			t.Errorf("%s: both scanners accepted it", bad)
		}
	}
}

func checkVocab(t *testing.T, raw json.RawMessage) {
	t.Helper()
	got, err := scanVocab(raw)
	if err != nil {
		t.Fatalf("scanVocab(%.40s): %v", raw, err)
	}
	var want map[string]int
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("scanVocab(%.40s) differs from encoding/json: %d entries, want %d", raw, len(got), len(want))
	}
}

func checkMerges(t *testing.T, raw json.RawMessage) {
	t.Helper()
	var got [][2]string
	err := scanMerges(raw, func(a, b []byte) error {
		got = append(got, [2]string{string(a), string(b)})
		return nil
	})
	if err != nil {
		t.Fatalf("scanMerges(%.40s): %v", raw, err)
	}
	want, err := decodeMerges(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("scanMerges(%.40s) differs from encoding/json: %d pairs, want %d", raw, len(got), len(want))
	}
}

func FuzzScanVocab(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": 1, "b\"": 2}`, `{"\u0120x": 3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := scanVocab(b)
		if err != nil {
			return
		}
		var want map[string]int
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("scanVocab accepted %q, which encoding/json refuses: %v", b, err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("scanVocab(%q) = %v, want %v", b, got, want)
		}
	})
}
