package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer encodes text to token ids and decodes ids back, following a
// Hugging Face byte-level BPE tokenizer.json of the Qwen2 family. It is
// read-only once built and safe for concurrent use.
type Tokenizer struct {
	bpe      bpe
	tokens   []string       // id -> raw bytes of the token; "" for unused ids
	known    []bool         // id -> the tokenizer defines this id
	ids      map[string]int // byte-level spelling -> id, vocabulary only
	addedIDs map[string]int // content -> id of added tokens

	// Added tokens, matched in the raw text before anything else.
	added      []addedToken // longest first
	addedFirst [256]bool    // bytes an added token can start with
	special    map[int]bool

	chat chatFormat
	eos  []int
	pad  int
}

type addedToken struct {
	content string
	id      int
}

// Load reads tokenizer.json and, when present, tokenizer_config.json from a
// model directory.
func Load(dir string) (*Tokenizer, error) {
	tj, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: cannot load %s: %w", dir, err)
	}
	cj, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tokenizer: cannot load %s: %w", dir, err)
	}
	return Parse(tj, cj)
}

// tokenizerFile is the part of tokenizer.json the tokenizer uses.
type tokenizerFile struct {
	AddedTokens []struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		Special    bool   `json:"special"`
		Normalized bool   `json:"normalized"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		SingleWord bool   `json:"single_word"`
	} `json:"added_tokens"`
	Normalizer   *component `json:"normalizer"`
	PreTokenizer *component `json:"pre_tokenizer"`
	Decoder      *component `json:"decoder"`
	Model        struct {
		Type         string          `json:"type"`
		Vocab        json.RawMessage `json:"vocab"`
		Merges       json.RawMessage `json:"merges"`
		ByteFallback bool            `json:"byte_fallback"`
	} `json:"model"`
}

// component is a normalizer, pre-tokenizer or decoder entry.
type component struct {
	Type          string      `json:"type"`
	Pretokenizers []component `json:"pretokenizers"`
	Pattern       struct {
		Regex string `json:"Regex"`
	} `json:"pattern"`
	Behavior string `json:"behavior"`
	Invert   bool   `json:"invert"`
	UseRegex bool   `json:"use_regex"`
}

// Parse builds a tokenizer from the contents of tokenizer.json and
// tokenizer_config.json (config may be nil: no chat template, no eos). It
// refuses a tokenizer.json that is not the Qwen2 kind of byte-level BPE,
// saying what differs.
func Parse(tokenizerJSON, configJSON []byte) (*Tokenizer, error) {
	var f tokenizerFile
	if err := json.Unmarshal(tokenizerJSON, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: cannot parse tokenizer.json: %w", err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer.json: %w", err)
	}
	vocab, err := scanVocab(f.Model.Vocab)
	if err != nil {
		vocab = nil
		if err := json.Unmarshal(f.Model.Vocab, &vocab); err != nil {
			return nil, fmt.Errorf("tokenizer: cannot parse the vocab: %w", err)
		}
	}
	t := &Tokenizer{ids: vocab, addedIDs: map[string]int{}, special: map[int]bool{}}
	if err := t.setVocab(vocab); err != nil {
		return nil, err
	}
	if err := t.setMerges(f.Model.Merges, vocab); err != nil {
		return nil, err
	}
	if err := t.setAdded(&f); err != nil {
		return nil, err
	}
	if err := t.setConfig(configJSON); err != nil {
		return nil, err
	}
	return t, nil
}

// check refuses pipelines this package does not implement.
func (f *tokenizerFile) check() error {
	if f.Model.Type != "BPE" {
		return fmt.Errorf("model type %q, want BPE", f.Model.Type)
	}
	if f.Model.ByteFallback {
		return errors.New("byte_fallback BPE is not supported")
	}
	if n := f.Normalizer; n != nil && n.Type != "NFC" {
		return fmt.Errorf("normalizer %q, want NFC or none", n.Type)
	}
	if d := f.Decoder; d == nil || d.Type != "ByteLevel" {
		return errors.New("decoder is not ByteLevel")
	}
	p := f.PreTokenizer
	if p == nil || p.Type != "Sequence" || len(p.Pretokenizers) != 2 {
		return errors.New("pre_tokenizer is not the Qwen2 Split+ByteLevel sequence")
	}
	split, bl := p.Pretokenizers[0], p.Pretokenizers[1]
	if split.Type != "Split" || split.Behavior != "Isolated" || split.Invert {
		return errors.New("pre_tokenizer's first step is not an isolating Split")
	}
	if split.Pattern.Regex != qwen2Pattern {
		return fmt.Errorf("pre_tokenizer pattern %q is not the Qwen2 pattern", split.Pattern.Regex)
	}
	if bl.Type != "ByteLevel" || bl.UseRegex {
		return errors.New("pre_tokenizer's second step is not ByteLevel without its own regex")
	}
	return nil
}

// maxSparse bounds the gaps the id space may have, so that a corrupt
// tokenizer.json cannot make the id tables huge.
const maxSparse = 1 << 16

// setVocab records every token's bytes and the token of every single byte.
func (t *Tokenizer) setVocab(vocab map[string]int) error {
	maxID := -1
	for _, id := range vocab {
		maxID = max(maxID, id)
	}
	if maxID >= 2*len(vocab)+maxSparse {
		return fmt.Errorf("tokenizer: vocab has %d entries but ids up to %d; ids must be about dense", len(vocab), maxID)
	}
	t.tokens = make([]string, maxID+1)
	t.known = make([]bool, maxID+1)
	for s, id := range vocab {
		if id < 0 {
			return fmt.Errorf("tokenizer: vocab entry %q has negative id %d", s, id)
		}
		b, ok := unmapBytes(s)
		if !ok {
			return fmt.Errorf("tokenizer: vocab entry %q (id %d) is not byte-level text", s, id)
		}
		t.tokens[id], t.known[id] = string(b), true
	}
	for c := range 256 {
		id, ok := vocab[string(byteRune[c])]
		if !ok {
			return fmt.Errorf("tokenizer: vocab has no token for byte 0x%02x", c)
		}
		t.bpe.byteID[c] = int32(id)
	}
	return nil
}

// setMerges reads the merge rules in either form tokenizer.json uses:
// ["a b", ...] or [["a", "b"], ...]. Tokens are looked up by their
// byte-level spelling in vocab.
func (t *Tokenizer) setMerges(raw json.RawMessage, vocab map[string]int) error {
	t.bpe.merges = make(map[uint64]merge, len(vocab))
	rank := 0
	var buf []byte
	var lookupErr error
	add := func(a, b []byte) error {
		buf = append(append(buf[:0], a...), b...)
		ia, okA := vocab[string(a)]
		ib, okB := vocab[string(b)]
		iab, okAB := vocab[string(buf)]
		if !okA || !okB || !okAB {
			lookupErr = fmt.Errorf("tokenizer: merge %d (%q %q) names a token that is not in the vocab", rank, a, b)
			return lookupErr
		}
		key := pairKey(int32(ia), int32(ib))
		if _, dup := t.bpe.merges[key]; !dup {
			t.bpe.merges[key] = merge{rank: int32(rank), id: int32(iab)}
		}
		rank++
		return nil
	}
	err := scanMerges(raw, add)
	if err == nil || lookupErr != nil {
		return err
	}

	// Not the shape the scanner reads: start again with encoding/json.
	clear(t.bpe.merges)
	rank = 0
	pairs, err := decodeMerges(raw)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		if err := add([]byte(p[0]), []byte(p[1])); err != nil {
			return err
		}
	}
	return nil
}

// decodeMerges reads the merges with encoding/json.
func decodeMerges(raw json.RawMessage) ([][2]string, error) {
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var joined []string
	if err := json.Unmarshal(raw, &joined); err != nil {
		return nil, fmt.Errorf("tokenizer: cannot parse merges: %w", err)
	}
	pairs = make([][2]string, len(joined))
	for i, s := range joined {
		a, b, ok := strings.Cut(s, " ")
		if !ok {
			return nil, fmt.Errorf("tokenizer: merge %d %q is not two tokens", i, s)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}

// setAdded records the added tokens. Only the options Qwen2 uses are
// supported: matched on the raw text, no stripping, not single-word.
func (t *Tokenizer) setAdded(f *tokenizerFile) error {
	for _, a := range f.AddedTokens {
		if a.Content == "" || a.ID < 0 || a.ID >= len(t.tokens)+maxSparse {
			return fmt.Errorf("tokenizer: added token %d %q is invalid", a.ID, a.Content)
		}
		if a.Normalized || a.LStrip || a.RStrip || a.SingleWord {
			return fmt.Errorf("tokenizer: added token %q uses unsupported options (normalized, lstrip, rstrip or single_word)", a.Content)
		}
		for a.ID >= len(t.tokens) {
			t.tokens = append(t.tokens, "")
			t.known = append(t.known, false)
		}
		t.tokens[a.ID], t.known[a.ID] = a.Content, true
		t.addedIDs[a.Content] = a.ID
		t.special[a.ID] = a.Special
		t.added = append(t.added, addedToken{content: a.Content, id: a.ID})
		t.addedFirst[a.Content[0]] = true
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].content) > len(t.added[j].content) })
	return nil
}

// tokenizerConfig is the part of tokenizer_config.json the tokenizer uses.
type tokenizerConfig struct {
	ChatTemplate json.RawMessage `json:"chat_template"`
	EOSToken     json.RawMessage `json:"eos_token"`
	PadToken     json.RawMessage `json:"pad_token"`
}

// setConfig reads the eos and pad tokens and the chat format.
func (t *Tokenizer) setConfig(configJSON []byte) error {
	t.pad = -1
	if len(configJSON) == 0 {
		return nil
	}
	var c tokenizerConfig
	if err := json.Unmarshal(configJSON, &c); err != nil {
		return fmt.Errorf("tokenizer: cannot parse tokenizer_config.json: %w", err)
	}
	if id, ok, err := t.configToken(c.EOSToken); err != nil {
		return fmt.Errorf("tokenizer: eos_token: %w", err)
	} else if ok {
		t.eos = []int{id}
	}
	if id, ok, err := t.configToken(c.PadToken); err != nil {
		return fmt.Errorf("tokenizer: pad_token: %w", err)
	} else if ok {
		t.pad = id
	}
	var template string
	if len(c.ChatTemplate) > 0 && json.Unmarshal(c.ChatTemplate, &template) != nil {
		// A list of named templates; ChatML is recognised from "default".
		var named []struct{ Name, Template string }
		if err := json.Unmarshal(c.ChatTemplate, &named); err != nil {
			return fmt.Errorf("tokenizer: cannot parse chat_template: %w", err)
		}
		for _, n := range named {
			if n.Name == "default" {
				template = n.Template
			}
		}
	}
	t.chat = parseChatTemplate(template)
	return nil
}

// configToken resolves a token named in tokenizer_config.json, either as a
// string or as an object with "content". It reports false for null.
func (t *Tokenizer) configToken(raw json.RawMessage) (int, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var obj struct{ Content string }
		if err := json.Unmarshal(raw, &obj); err != nil {
			return 0, false, err
		}
		s = obj.Content
	}
	id, ok := t.ID(s)
	if !ok {
		return 0, false, fmt.Errorf("token %q is not in the vocabulary", s)
	}
	return id, true, nil
}

// Encode returns the token ids of text. Added tokens (<|im_start|>,
// <|endoftext|>, ...) are recognised anywhere in the text; the rest is NFC
// normalised, cut by the pre-tokenizer pattern and encoded by BPE. No BOS or
// EOS is added.
func (t *Tokenizer) Encode(text string) []int {
	ids := make([]int, 0, len(text)/3+1)
	for len(text) > 0 {
		i, tok := t.nextAdded(text)
		ids = t.encodePlain(ids, text[:i])
		if tok == nil {
			break
		}
		ids = append(ids, tok.id)
		text = text[i+len(tok.content):]
	}
	return ids
}

// nextAdded finds the leftmost added token in s, the longest one where
// several start at the same place. It returns len(s), nil when there is
// none.
func (t *Tokenizer) nextAdded(s string) (int, *addedToken) {
	for i := 0; i < len(s); i++ {
		if !t.addedFirst[s[i]] {
			continue
		}
		for k := range t.added {
			if strings.HasPrefix(s[i:], t.added[k].content) {
				return i, &t.added[k]
			}
		}
	}
	return len(s), nil
}

// encodePlain appends the ids of text that holds no added token.
func (t *Tokenizer) encodePlain(ids []int, text string) []int {
	if text == "" {
		return ids
	}
	text = norm.NFC.String(text)
	splitWords(text, func(w string) { ids = t.bpe.encode(ids, w) })
	return ids
}

// Decode returns the text of ids, byte for byte what they stand for,
// special tokens included. The result is not valid UTF-8 if the ids end (or
// are cut) inside a character. It fails on an id the tokenizer does not
// define.
func (t *Tokenizer) Decode(ids []int) (string, error) {
	var sb strings.Builder
	for _, id := range ids {
		b, ok := t.TokenBytes(id)
		if !ok {
			return "", fmt.Errorf("tokenizer: id %d is not in the vocabulary (size %d)", id, len(t.tokens))
		}
		sb.WriteString(b)
	}
	return sb.String(), nil
}

// TokenBytes returns the raw bytes id stands for, reporting false for an id
// the tokenizer does not define.
func (t *Tokenizer) TokenBytes(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) || !t.known[id] {
		return "", false
	}
	return t.tokens[id], true
}

// ID returns the id of the token whose text is exactly s (a vocabulary
// entry or an added token such as "<|im_end|>").
func (t *Tokenizer) ID(s string) (int, bool) {
	if id, ok := t.addedIDs[s]; ok {
		return id, true
	}
	id, ok := t.ids[mapBytes([]byte(s))]
	return id, ok
}

// IsSpecial reports whether id is a special added token (<|endoftext|>,
// <|im_start|>, ...), the kind a reader is not shown.
func (t *Tokenizer) IsSpecial(id int) bool { return t.special[id] }

// Len returns one more than the largest id the tokenizer defines. A model's
// vocabulary may be larger (Qwen2.5 pads it to 151936).
func (t *Tokenizer) Len() int { return len(t.tokens) }

// EOS returns the ids of tokenizer_config.json's eos_token (none if the
// config was absent). generation_config.json may name more.
func (t *Tokenizer) EOS() []int { return append([]int(nil), t.eos...) }

// Pad returns the id of tokenizer_config.json's pad_token, or -1.
func (t *Tokenizer) Pad() int { return t.pad }
