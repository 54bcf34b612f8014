package tokenizer

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

const refDir = "../../testdata/reference/qwen2-tiny"

var (
	qwenOnce sync.Once
	qwenTok  *Tokenizer
	qwenErr  error
)

// qwen returns the Qwen2.5 tokenizer, loaded once for all tests.
func qwen(t testing.TB) *Tokenizer {
	t.Helper()
	qwenOnce.Do(func() { qwenTok, qwenErr = Load(refDir) })
	if qwenErr != nil {
		t.Fatal(qwenErr)
	}
	return qwenTok
}

type idCase struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

// checkCases encodes and decodes every case and reports differences.
// Decoding gives back the text as Encode normalised it (NFC).
func checkCases(t *testing.T, tok *Tokenizer, cases []idCase) {
	t.Helper()
	for i, c := range cases {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			t.Errorf("case %d: Encode(%q)\n got %v\nwant %v", i, c.Text, got, c.IDs)
			continue
		}
		text, err := tok.Decode(got)
		if err != nil {
			t.Errorf("case %d: Decode: %v", i, err)
		} else if want := normalizeLikeEncode(tok, c.Text); text != want {
			t.Errorf("case %d: Decode(Encode(%q)) = %q, want %q", i, c.Text, text, want)
		}
	}
}

func TestQwen2Cases(t *testing.T) {
	b, err := os.ReadFile("../../testdata/tokenizer/qwen2_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []idCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) != 578 {
		t.Fatalf("read %d cases, want 578", len(cases))
	}
	checkCases(t, qwen(t), cases)
}

// TestGGMLCases runs llama.cpp's Qwen2 vocabulary cases: inputs separated
// by "\n__ggml_vocab_test__\n" lines, one line of space-separated ids each.
func TestGGMLCases(t *testing.T) {
	inp, err := os.ReadFile("../../testdata/tokenizer/ggml-vocab-qwen2.gguf.inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile("../../testdata/tokenizer/ggml-vocab-qwen2.gguf.out")
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	texts = texts[:len(texts)-1] // the file ends with a separator
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(texts) != 46 || len(lines) != len(texts) {
		t.Fatalf("read %d inputs and %d outputs, want 46 each", len(texts), len(lines))
	}
	cases := make([]idCase, len(texts))
	for i := range texts {
		cases[i].Text = texts[i]
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("output line %d: %v", i, err)
			}
			cases[i].IDs = append(cases[i].IDs, id)
		}
	}
	checkCases(t, qwen(t), cases)
}

// referenceJSON is the part of reference.json about the tokenizer.
type referenceJSON struct {
	TokenizerCases struct {
		Cases []struct {
			idCase
			Chat *struct {
				Messages            []Message `json:"messages"`
				AddGenerationPrompt bool      `json:"add_generation_prompt"`
			} `json:"chat"`
		} `json:"cases"`
	} `json:"tokenizer_cases"`
	Greedy struct {
		PromptText string `json:"prompt_text"`
		PromptIDs  []int  `json:"prompt_ids"`
	} `json:"greedy"`
}

func TestReferenceChatCases(t *testing.T) {
	b, err := os.ReadFile(refDir + "/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref referenceJSON
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	tok := qwen(t)
	cases := []idCase{{ref.Greedy.PromptText, ref.Greedy.PromptIDs}}
	chats := 0
	for i, c := range ref.TokenizerCases.Cases {
		cases = append(cases, c.idCase)
		if c.Chat == nil {
			continue
		}
		chats++
		got, err := tok.ChatPrompt(c.Chat.Messages, c.Chat.AddGenerationPrompt)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got != c.Text {
			t.Errorf("case %d: ChatPrompt\n got %q\nwant %q", i, got, c.Text)
		}
		ids, err := tok.EncodeChat(c.Chat.Messages, c.Chat.AddGenerationPrompt)
		if err != nil || !slices.Equal(ids, c.IDs) {
			t.Errorf("case %d: EncodeChat = %v, %v; want %v", i, ids, err, c.IDs)
		}
	}
	if chats != 3 {
		t.Errorf("found %d chat cases, want 3", chats)
	}
	checkCases(t, tok, cases)
}

func TestChatFormat(t *testing.T) {
	tok := qwen(t)
	if got := tok.chat.defaultSystem; got != Qwen25DefaultSystem {
		t.Errorf("default system prompt read from the template = %q, want %q", got, Qwen25DefaultSystem)
	}
	if _, err := tok.ChatPrompt([]Message{{Role: "tool", Content: "x"}}, true); err == nil {
		t.Error("ChatPrompt accepted role tool")
	}
	if _, err := tok.ChatPrompt(nil, true); err == nil {
		t.Error("ChatPrompt accepted no messages")
	}
	bare, err := Parse(mustRead(t, refDir+"/tokenizer.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bare.ChatPrompt([]Message{{Role: "user", Content: "x"}}, true); err != ErrNoChatTemplate {
		t.Errorf("ChatPrompt without a config: err = %v, want ErrNoChatTemplate", err)
	}
	end, ok := tok.EndOfTurn()
	if !ok || end != 151645 {
		t.Errorf("EndOfTurn = %d, %v; want 151645", end, ok)
	}
	if got := tok.EOS(); !slices.Equal(got, []int{151645}) {
		t.Errorf("EOS = %v, want [151645]", got)
	}
	if got := tok.Pad(); got != 151643 {
		t.Errorf("Pad = %d, want 151643", got)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOldMergeForm(t *testing.T) {
	// Rewrite the merges as "a b" strings; the ids must not change.
	var f map[string]json.RawMessage
	if err := json.Unmarshal(mustRead(t, refDir+"/tokenizer.json"), &f); err != nil {
		t.Fatal(err)
	}
	var model map[string]json.RawMessage
	if err := json.Unmarshal(f["model"], &model); err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	if err := json.Unmarshal(model["merges"], &pairs); err != nil {
		t.Fatal(err)
	}
	joined := make([]string, len(pairs))
	for i, p := range pairs {
		joined[i] = p[0] + " " + p[1]
	}
	model["merges"], _ = json.Marshal(joined)
	f["model"], _ = json.Marshal(model)
	b, _ := json.Marshal(f)
	tok, err := Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	text := "I'm here, you're there; 1234 中文测试 naïve  \n\n spaces"
	if got, want := tok.Encode(text), qwen(t).Encode(text); !slices.Equal(got, want) {
		t.Errorf("old merge form: got %v, want %v", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	good := string(mustRead(t, refDir+"/tokenizer.json"))
	for _, c := range []struct{ name, old, new, want string }{
		{"model type", `"type": "BPE"`, `"type": "WordPiece"`, "want BPE"},
		{"normalizer", `"type": "NFC"`, `"type": "NFKC"`, "normalizer"},
		{"pattern", `|\\s+(?!\\S)|\\s+"`, `|\\s+"`, "not the Qwen2 pattern"},
		{"not json", `{`, `[`, "cannot parse"},
		{"sparse ids", `"!": 0,`, `"!": 999999999,`, "dense"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := strings.Replace(good, c.old, c.new, 1)
			if bad == good {
				t.Fatalf("the edit %q did not apply", c.old)
			}
			_, err := Parse([]byte(bad), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestDecodeUnknownID(t *testing.T) {
	tok := qwen(t)
	for _, id := range []int{-1, tok.Len(), 151900} {
		if _, err := tok.Decode([]int{id}); err == nil {
			t.Errorf("Decode(%d) succeeded", id)
		}
	}
	for _, c := range []struct {
		s    string
		want int
	}{{" Hello", 21927}, {"<|im_start|>", 151644}, {"\n", 198}} {
		if got, ok := tok.ID(c.s); !ok || got != c.want {
			t.Errorf("ID(%q) = %d, %v; want %d", c.s, got, ok, c.want)
		}
	}
	if _, ok := tok.ID("no such token here"); ok {
		t.Error("ID found a token that does not exist")
	}
	if got := tok.Len(); got != 151665 {
		t.Errorf("Len = %d, want 151665", got)
	}
}

func TestStreamDecoder(t *testing.T) {
	tok := qwen(t)
	for _, text := range []string{
		"emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇩🇪",
		"中文测试：今天天气很好。",
		"naïve café <|im_end|> done",
		"\xff\xfe invalid \xe4\xb8 cut",
	} {
		d := tok.NewStreamDecoder()
		var sb strings.Builder
		for _, id := range tok.Encode(text) {
			piece := d.Add(id)
			if utf8.ValidString(text) && !utf8.ValidString(piece) {
				t.Errorf("%q: piece %q is not valid UTF-8", text, piece)
			}
			sb.WriteString(piece)
		}
		sb.WriteString(d.Flush())
		if sb.String() != text {
			t.Errorf("streamed %q, want %q", sb.String(), text)
		}
	}
}

func TestIncompleteTail(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int
	}{
		{"abc", 0},
		{"a\xe4", 1},
		{"a\xe4\xb8", 2},
		{"a\xe4\xb8\xad", 0},
		{"\xf0\x9f\x98", 3},
		{"\xf0\x9f", 2},
		{"\xc0", 0},     // never valid
		{"\xe0\x80", 0}, // overlong, never valid
		{"\xed\xa0", 0}, // surrogate, never valid
		{"\xff", 0},     // not a lead byte
		{"\x80\x80", 0}, // stray continuations
		{"é\xc3", 1},
	} {
		if got := incompleteTail([]byte(c.in)); got != c.want {
			t.Errorf("incompleteTail(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}

// mergeReference is BPE at its plainest: while some adjacent pair has a
// rule, merge the lowest-ranked pair, leftmost first, rescanning every
// pair each time.
func mergeReference(m *bpe, sym []int32) []int32 {
	for {
		at := -1
		var best merge
		for i := 0; i+1 < len(sym); i++ {
			if mg, ok := m.merges[pairKey(sym[i], sym[i+1])]; ok && (at < 0 || mg.rank < best.rank) {
				best, at = mg, i
			}
		}
		if at < 0 {
			return sym
		}
		sym[at] = best.id
		sym = append(sym[:at+1], sym[at+2:]...)
	}
}

func TestMergeMatchesReference(t *testing.T) {
	tok := qwen(t)
	words := []string{
		"a", "ab", "hello", " internationalization", "aaaaaaa", "  ", "中文测试", "\xff\x00\xff",
		strings.Repeat("a", naiveLimit), strings.Repeat("ab", naiveLimit/2), strings.Repeat("=-", 20),
		strings.Repeat("a", 200), strings.Repeat(" ", 99), strings.Repeat("ab", 70),
		strings.Repeat("中文测试", 20), "internationalization" + strings.Repeat("ization", 10),
		strings.Repeat("=-", 40), strings.Repeat("\xff\x00", 30),
	}
	for _, w := range words {
		sym := func() []int32 {
			s := make([]int32, len(w))
			for i := range len(w) {
				s[i] = tok.bpe.byteID[w[i]]
			}
			return s
		}
		want := mergeReference(&tok.bpe, sym())
		if got := tok.bpe.mergeHeap(sym()); !slices.Equal(got, want) {
			t.Errorf("%q: mergeHeap %v, want %v", w, got, want)
		}
		if len(w) <= naiveLimit {
			if got := tok.bpe.mergeNaive(sym()); !slices.Equal(got, want) {
				t.Errorf("%q: mergeNaive %v, want %v", w, got, want)
			}
		}
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"Hello world", " \n\n  x", "<|im_start|>user\n", "'S'LL'ſ", "\xe4\xb8", "é́", "1½"} {
		f.Add(s)
	}
	tok := qwen(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		got, err := tok.Decode(ids)
		if err != nil {
			t.Fatal(err)
		}
		want := s
		if utf8.ValidString(s) {
			want = normalizeLikeEncode(tok, s)
		}
		if got != want && utf8.ValidString(s) {
			t.Errorf("Decode(Encode(%q)) = %q, want %q", s, got, want)
		}
		if !utf8.ValidString(s) && len(got) == 0 && len(s) > 0 {
			t.Errorf("Encode(%q) lost everything", s)
		}
	})
}

// normalizeLikeEncode is the text Encode sees: NFC between added tokens.
func normalizeLikeEncode(tok *Tokenizer, s string) string {
	var sb strings.Builder
	for len(s) > 0 {
		i, a := tok.nextAdded(s)
		sb.WriteString(normNFC(s[:i]))
		if a == nil {
			break
		}
		sb.WriteString(a.content)
		s = s[i+len(a.content):]
	}
	return sb.String()
}

func normNFC(s string) string { return norm.NFC.String(s) }

func FuzzMerge(f *testing.F) {
	for _, s := range []string{"hello", "aaaaaaaa", " \n\n", "中文", "\xff\xfe"} {
		f.Add(s)
	}
	tok := qwen(f)
	f.Fuzz(func(t *testing.T, w string) {
		if len(w) > 4*naiveLimit {
			return
		}
		sym := func() []int32 {
			s := make([]int32, len(w))
			for i := range len(w) {
				s[i] = tok.bpe.byteID[w[i]]
			}
			return s
		}
		want := mergeReference(&tok.bpe, sym())
		if got := tok.bpe.mergeHeap(sym()); !slices.Equal(got, want) {
			t.Errorf("%q: mergeHeap %v, want %v", w, got, want)
		}
		if len(w) <= naiveLimit {
			if got := tok.bpe.mergeNaive(sym()); !slices.Equal(got, want) {
				t.Errorf("%q: mergeNaive %v, want %v", w, got, want)
			}
		}
	})
}
