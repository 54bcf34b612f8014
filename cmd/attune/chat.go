package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"attune/client"
)

func init() {
	register("chat", "chat with a model on a server, streaming its answers", cmdFunc(chat))
}

// chat talks with a model: one question with --message, or a conversation
// read line by line from standard input, each answer streamed as it is
// generated.
func chat(ctx context.Context, args []string, io stdio) error {
	var r remote
	fs := newFlags("chat", "chat MODEL [--message TEXT] [--system TEXT] [--max-tokens N] [--temperature T]", io)
	r.addFlags(fs, io)
	message := fs.String("message", "", "ask this one question and exit")
	system := fs.String("system", "", "system prompt")
	maxTokens := fs.Int("max-tokens", 256, "longest answer in tokens")
	temperature := fs.Float64("temperature", 0, "sampling temperature; 0 is greedy")
	c, pos, err := r.parse(fs, args, 1)
	if err != nil {
		return err
	}
	s := &chatSession{c: c, io: io, req: client.ChatRequest{
		Model: pos[0], MaxTokens: *maxTokens, Temperature: temperature,
	}}
	if *system != "" {
		s.req.Messages = append(s.req.Messages, client.Message{Role: "system", Content: *system})
	}
	if *message != "" {
		if r.json {
			return s.askJSON(ctx, *message)
		}
		return s.ask(ctx, *message)
	}
	return s.loop(ctx)
}

// chatSession is one conversation: the request so far, history included.
type chatSession struct {
	c   *client.Client
	io  stdio
	req client.ChatRequest
}

// loop reads questions from standard input until it ends or "/exit", and
// answers each with the whole conversation as context.
func (s *chatSession) loop(ctx context.Context) error {
	tty := isTerminal(s.io.out)
	if tty {
		fmt.Fprintf(s.io.out, "chatting with %s; an empty line or /exit ends the chat\n", s.req.Model)
	}
	in := bufio.NewScanner(s.io.in)
	in.Buffer(make([]byte, 64<<10), 1<<20)
	for {
		if tty {
			fmt.Fprint(s.io.out, "> ")
		}
		if !in.Scan() {
			return in.Err()
		}
		line := strings.TrimSpace(in.Text())
		if line == "/exit" || (line == "" && tty) {
			return nil
		}
		if line == "" {
			continue
		}
		if err := s.ask(ctx, line); err != nil {
			return err
		}
	}
}

// ask streams the answer to one question and adds both to the history.
func (s *chatSession) ask(ctx context.Context, question string) error {
	s.req.Messages = append(s.req.Messages, client.Message{Role: "user", Content: question})
	stream, err := s.c.ChatStream(ctx, s.req)
	if err != nil {
		s.req.Messages = s.req.Messages[:len(s.req.Messages)-1]
		return fmt.Errorf("chat: %w", err)
	}
	defer stream.Close()
	var answer strings.Builder
	for stream.Next() {
		chunk := stream.Chunk()
		text := chunk.Text()
		answer.WriteString(text)
		io.WriteString(s.io.out, text)
	}
	fmt.Fprintln(s.io.out)
	if err := stream.Err(); err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	s.req.Messages = append(s.req.Messages, client.Message{Role: "assistant", Content: answer.String()})
	fmt.Fprintln(s.io.errw, answerStats(stream.Usage(), stream.Timing(), stream.Confidence()))
	return nil
}

// askJSON asks one question without streaming and prints the whole answer
// object.
func (s *chatSession) askJSON(ctx context.Context, question string) error {
	s.req.Messages = append(s.req.Messages, client.Message{Role: "user", Content: question})
	resp, err := s.c.Chat(ctx, s.req)
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	return printJSON(s.io.out, resp)
}

// answerStats describes an answer's cost in one line: tokens, speed and the
// model's confidence.
func answerStats(u *client.Usage, t *client.Timing, conf *float64) string {
	var parts []string
	if u != nil {
		parts = append(parts, fmt.Sprintf("%d tokens", u.CompletionTokens))
	}
	if t != nil {
		parts = append(parts, fmt.Sprintf("%.1f tokens/s", t.ThroughputTokensPerSecond),
			fmt.Sprintf("first token %.0f ms", t.TTFTSeconds*1000))
	}
	if conf != nil {
		parts = append(parts, fmt.Sprintf("confidence %.2f", *conf))
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
