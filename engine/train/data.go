package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"attune"
	"attune/engine/tokenizer"
)

// Training data is JSONL, one example a line, in either of two forms:
//
//	{"text": "…"}                                   document text: every token trains
//	{"messages": [{"role": "user", "content": "…"},
//	              {"role": "assistant", "content": "…"}]}
//	                                                 a conversation in the Qwen2.5 chat
//	                                                 layout: only the assistant's turns
//	                                                 (their content and <|im_end|>\n) train
//
// Document text ends with <|endoftext|>, which trains too, so the model
// learns where a document stops.

// line is one JSONL record.
type line struct {
	Text     *string             `json:"text"`
	Messages []tokenizer.Message `json:"messages"`
}

// ReadJSONL reads training examples from r, tokenising them with tok. A
// malformed line is a KindInvalid error naming its line number.
func ReadJSONL(r io.Reader, tok *tokenizer.Tokenizer) ([]Example, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var out []Example
	for n := 1; sc.Scan(); n++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		e, err := parseLine(b, tok)
		if err != nil {
			return nil, attune.Invalidf("data", "line %d: %v", n, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("train: cannot read data: %w", err)
	}
	if len(out) == 0 {
		return nil, attune.Invalidf("data", "no examples: want JSON lines with \"text\" or \"messages\"")
	}
	return out, nil
}

// parseLine turns one JSONL record into an example.
func parseLine(b []byte, tok *tokenizer.Tokenizer) (Example, error) {
	var l line
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return Example{}, fmt.Errorf("not a JSON object with \"text\" or \"messages\": %v", err)
	}
	switch {
	case l.Text != nil && l.Messages != nil:
		return Example{}, fmt.Errorf("has both \"text\" and \"messages\"; want one")
	case l.Text != nil:
		return TextExample(tok, *l.Text)
	case l.Messages != nil:
		return ChatExample(tok, l.Messages)
	}
	return Example{}, fmt.Errorf("has neither \"text\" nor \"messages\"")
}

// TextExample tokenises document text followed by <|endoftext|>, every
// token labelled.
func TextExample(tok *tokenizer.Tokenizer, text string) (Example, error) {
	if text == "" {
		return Example{}, fmt.Errorf("empty text")
	}
	ids := tok.Encode(text)
	if eot, ok := tok.ID("<|endoftext|>"); ok {
		ids = append(ids, eot)
	}
	e := Example{Tokens: toInt32(ids)}
	e.Labels = slices.Clone(e.Tokens)
	return e, nil
}

// ChatExample tokenises a conversation with the model's chat template and
// labels only the assistant turns: each one's content, <|im_end|> and the
// newline after it. Everything else (system and user turns, the
// "<|im_start|>assistant\n" header) is IgnoreLabel.
func ChatExample(tok *tokenizer.Tokenizer, msgs []tokenizer.Message) (Example, error) {
	hasAssistant := false
	for i, m := range msgs {
		switch m.Role {
		case "assistant":
			hasAssistant = true
		case "system", "user":
		default:
			return Example{}, fmt.Errorf("message %d has role %q; want system, user or assistant", i, m.Role)
		}
	}
	if !hasAssistant {
		return Example{}, fmt.Errorf("no assistant message to learn from")
	}
	ids, err := tok.EncodeChat(msgs, false)
	if err != nil {
		return Example{}, err
	}
	e := Example{Tokens: toInt32(ids), Labels: make([]int32, len(ids))}
	for i := range e.Labels {
		e.Labels[i] = IgnoreLabel
	}

	// The tokens of assistant turn i are those between the conversation up
	// to its header and the conversation up to its end. Special tokens cut
	// the text before BPE, so these prefixes tokenise as prefixes of ids.
	for i, m := range msgs {
		if m.Role != "assistant" {
			continue
		}
		head, err := tok.EncodeChat(msgs[:i], true)
		if err != nil {
			return Example{}, err
		}
		upto, err := tok.EncodeChat(msgs[:i+1], false)
		if err != nil {
			return Example{}, err
		}
		if len(upto) > len(ids) || !slices.Equal(upto, ids[:len(upto)]) || len(head) > len(upto) {
			return Example{}, fmt.Errorf("message %d does not tokenise on its own as within the conversation", i)
		}
		for p := len(head); p < len(upto); p++ {
			e.Labels[p] = e.Tokens[p]
		}
	}
	return e, nil
}

func toInt32(ids []int) []int32 {
	out := make([]int32, len(ids))
	for i, v := range ids {
		out[i] = int32(v)
	}
	return out
}
