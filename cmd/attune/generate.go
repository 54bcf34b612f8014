package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"attune/engine/generate"
	"attune/engine/lora"
	"attune/engine/tokenizer"
)

func init() {
	register("generate", "complete a prompt with a local model, streaming the text", runGenerate)
}

// stringList is a flag that may be given several times.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runGenerate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: attune generate --model DIR --prompt TEXT [flags]

Completes the prompt and prints the text as it is generated. Sampling
settings not given come from the model's generation_config.json;
--temperature 0 decodes greedily.`)
		fs.PrintDefaults()
	}
	model := fs.String("model", "", "model `directory` (Hugging Face layout)")
	prompt := fs.String("prompt", "", "the prompt `text`; read from standard input when empty")
	chat := fs.Bool("chat", false, "send the prompt as a user message in the model's chat format")
	system := fs.String("system", "", "system prompt for --chat (default: the chat template's)")
	maxTokens := fs.Int("max-tokens", 256, "the most tokens to generate")
	temperature := fs.Float64("temperature", 0, "sampling temperature; 0 is greedy")
	topP := fs.Float64("top-p", 0, "nucleus sampling mass, in (0, 1]")
	topK := fs.Int("top-k", 0, "sample among the K most likely tokens")
	penalty := fs.Float64("repetition-penalty", 0, "above 1 makes tokens already seen less likely; 1 turns it off")
	seed := fs.Uint64("seed", 0, "random seed; 0 picks one")
	adapter := fs.String("adapter", "", "LoRA adapter `directory` (PEFT layout) to apply")
	stats := fs.Bool("stats", false, "print token counts, speed and confidence to standard error")
	q8 := fs.Bool("q8", false, "fast mode: round weights and activations to int8 inside the matrix products (about 1% off the exact logits)")
	var stops stringList
	fs.Var(&stops, "stop", "stop `string` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("generate: --model is required")
	}
	text, err := promptText(*prompt)
	if err != nil {
		return err
	}

	e, err := generate.Open(*model, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	defer e.Close()
	if *q8 {
		e.Model().QuantizeQ8()
	}

	// Settings: the model's defaults, then the flags given.
	p := e.Defaults()
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["temperature"] {
		p.Temperature = *temperature
	}
	if set["top-p"] {
		p.TopP = *topP
	}
	if set["top-k"] {
		p.TopK = *topK
	}
	if set["repetition-penalty"] {
		p.RepetitionPenalty = *penalty
	}
	p.MaxTokens, p.Seed, p.Stop = *maxTokens, *seed, stops
	if *adapter != "" {
		a, err := lora.Load(*adapter, e.Model().Config)
		if err != nil {
			return err
		}
		p.Adapter = a
	}

	ids, err := promptIDs(e.Tokenizer(), text, *chat, *system)
	if err != nil {
		return err
	}
	answers, err := e.Generate(ctx, generate.Request{
		Prompt:  ids,
		Params:  p,
		OnToken: func(_ int, delta string) { os.Stdout.WriteString(delta) },
	})
	fmt.Println()
	if err != nil {
		return err
	}
	if *stats {
		a := answers[0]
		fmt.Fprintf(os.Stderr, "prompt %d tokens, completion %d tokens, finish %s, confidence %.3f, first token after %s\n",
			a.PromptTokens, a.CompletionTokens, a.FinishReason, a.Confidence, a.TimeToFirstToken.Round(1e6))
	}
	return nil
}

// promptText returns the --prompt text, or standard input when it is empty.
func promptText(flagText string) (string, error) {
	if flagText != "" {
		return flagText, nil
	}
	b, err := io.ReadAll(os.Stdin)
	if err != nil {
		return "", fmt.Errorf("generate: cannot read the prompt from standard input: %w", err)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("generate: no prompt: give --prompt or pipe it in")
	}
	return string(b), nil
}

// promptIDs encodes the prompt, as a chat turn when chat is set.
func promptIDs(tok *tokenizer.Tokenizer, text string, chat bool, system string) ([]int, error) {
	if !chat {
		return tok.Encode(text), nil
	}
	var msgs []tokenizer.Message
	if system != "" {
		msgs = append(msgs, tokenizer.Message{Role: "system", Content: system})
	}
	msgs = append(msgs, tokenizer.Message{Role: "user", Content: text})
	return tok.EncodeChat(msgs, true)
}
