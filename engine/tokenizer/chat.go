package tokenizer

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"` // "system", "user" or "assistant"
	Content string `json:"content"`
}

// The ChatML markers of the Qwen2 family.
const (
	imStart = "<|im_start|>"
	imEnd   = "<|im_end|>"
)

// Qwen25DefaultSystem is the system prompt the Qwen2.5 chat template puts
// first when a conversation has none.
const Qwen25DefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

// chatFormat is what the package knows of a tokenizer's chat template.
type chatFormat struct {
	chatML        bool   // the template lays turns out in ChatML
	defaultSystem string // "" when the template adds no system turn
}

// defaultSystemRe finds the system turn a Qwen2-family template writes when
// the conversation has none, as a Jinja string literal:
// {{- '<|im_start|>system\nYou are ...<|im_end|>\n' }}.
var defaultSystemRe = regexp.MustCompile(`'<\|im_start\|>system\\n((?:[^'\\]|\\.)*)<\|im_end\|>\\n'`)

// parseChatTemplate recognises a ChatML template and its default system
// prompt. It does not run Jinja: the Qwen2 and Qwen2.5 templates render
// messages without tools the way ChatPrompt does, and the tests hold it to
// the reference renderings.
func parseChatTemplate(template string) chatFormat {
	if !strings.Contains(template, imStart) || !strings.Contains(template, imEnd) {
		return chatFormat{}
	}
	f := chatFormat{chatML: true}
	if m := defaultSystemRe.FindStringSubmatch(template); m != nil {
		f.defaultSystem = unescapeJinja(m[1])
	}
	return f
}

// unescapeJinja undoes the backslash escapes of a Jinja string literal.
func unescapeJinja(s string) string {
	r := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\'`, "'", `\"`, `"`, `\\`, `\`)
	return r.Replace(s)
}

// ErrNoChatTemplate is returned by ChatPrompt when the tokenizer config has
// no ChatML chat template.
var ErrNoChatTemplate = errors.New("tokenizer: the model has no ChatML chat template")

// ChatPrompt renders a conversation the way the model's chat template does
// for messages without tools: the default system prompt first when the
// first message is not a system message, then each message as
// "<|im_start|>ROLE\nCONTENT<|im_end|>\n", then, when generationPrompt is
// set, "<|im_start|>assistant\n" for the model to continue. Like the
// template, it copies content verbatim, so marker text inside a message
// becomes a marker token when encoded.
func (t *Tokenizer) ChatPrompt(msgs []Message, generationPrompt bool) (string, error) {
	if !t.chat.chatML {
		return "", ErrNoChatTemplate
	}
	if len(msgs) == 0 {
		return "", errors.New("tokenizer: chat has no messages")
	}
	var sb strings.Builder
	if msgs[0].Role != "system" && t.chat.defaultSystem != "" {
		writeTurn(&sb, "system", t.chat.defaultSystem)
	}
	for i, m := range msgs {
		switch m.Role {
		case "system", "user", "assistant":
			writeTurn(&sb, m.Role, m.Content)
		default:
			return "", fmt.Errorf("tokenizer: message %d has role %q, want system, user or assistant", i, m.Role)
		}
	}
	if generationPrompt {
		sb.WriteString(imStart + "assistant\n")
	}
	return sb.String(), nil
}

func writeTurn(sb *strings.Builder, role, content string) {
	sb.WriteString(imStart)
	sb.WriteString(role)
	sb.WriteString("\n")
	sb.WriteString(content)
	sb.WriteString(imEnd + "\n")
}

// EncodeChat renders a conversation with ChatPrompt and encodes it.
func (t *Tokenizer) EncodeChat(msgs []Message, generationPrompt bool) ([]int, error) {
	text, err := t.ChatPrompt(msgs, generationPrompt)
	if err != nil {
		return nil, err
	}
	return t.Encode(text), nil
}

// EndOfTurn returns the id of <|im_end|>, which ends a ChatML turn.
func (t *Tokenizer) EndOfTurn() (int, bool) { return t.ID(imEnd) }
