package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"attune/engine/tokenizer"
)

func init() {
	register("tokenize", "turn text into token ids, or ids back into text", runTokenize)
}

func runTokenize(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tokenize", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: attune tokenize --model DIR [--json] [--decode] < INPUT

Reads all of standard input as one text and prints its token ids.
  --json    input is a JSON array of strings; prints a JSON array of id arrays
  --decode  input is ids (space- or comma-separated, or a JSON array) and the
            text is printed; with --json, a JSON array of id arrays in and a
            JSON array of strings out`)
		fs.PrintDefaults()
	}
	model := fs.String("model", "", "model `directory` holding tokenizer.json")
	asJSON := fs.Bool("json", false, "read and write JSON arrays")
	decode := fs.Bool("decode", false, "turn ids back into text")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" {
		return fmt.Errorf("tokenize: --model is required (a directory holding tokenizer.json)")
	}
	tok, err := tokenizer.Load(*model)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return fmt.Errorf("tokenize: cannot read standard input: %w", err)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	switch {
	case *decode && *asJSON:
		return decodeJSON(out, tok, in)
	case *decode:
		return decodeIDs(out, tok, in)
	case *asJSON:
		return encodeJSON(out, tok, in)
	}
	return writeIDs(out, tok.Encode(string(in)))
}

func writeIDs(w io.Writer, ids []int) error {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.Itoa(id)
	}
	_, err := fmt.Fprintln(w, strings.Join(parts, " "))
	return err
}

func encodeJSON(w io.Writer, tok *tokenizer.Tokenizer, in []byte) error {
	var texts []string
	if err := json.Unmarshal(in, &texts); err != nil {
		return fmt.Errorf("tokenize: --json input must be a JSON array of strings: %w", err)
	}
	all := make([][]int, len(texts))
	for i, s := range texts {
		all[i] = tok.Encode(s)
		if all[i] == nil {
			all[i] = []int{}
		}
	}
	return writeJSON(w, all)
}

// parseIDs reads ids written as a JSON array or separated by spaces or
// commas.
func parseIDs(in []byte) ([]int, error) {
	s := strings.TrimSpace(string(in))
	if strings.HasPrefix(s, "[") {
		var ids []int
		if err := json.Unmarshal([]byte(s), &ids); err != nil {
			return nil, fmt.Errorf("tokenize: ids must be a JSON array of integers: %w", err)
		}
		return ids, nil
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	ids := make([]int, len(fields))
	for i, f := range fields {
		id, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("tokenize: %q is not a token id", f)
		}
		ids[i] = id
	}
	return ids, nil
}

func decodeIDs(w io.Writer, tok *tokenizer.Tokenizer, in []byte) error {
	ids, err := parseIDs(in)
	if err != nil {
		return err
	}
	text, err := tok.Decode(ids)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, text)
	return err
}

func decodeJSON(w io.Writer, tok *tokenizer.Tokenizer, in []byte) error {
	var all [][]int
	if err := json.Unmarshal(in, &all); err != nil {
		return fmt.Errorf("tokenize: --decode --json input must be a JSON array of id arrays: %w", err)
	}
	texts := make([]string, len(all))
	for i, ids := range all {
		text, err := tok.Decode(ids)
		if err != nil {
			return fmt.Errorf("tokenize: array %d: %w", i, err)
		}
		texts[i] = text
	}
	return writeJSON(w, texts)
}

// writeJSON prints v as one line of JSON, leaving <, > and & as they are
// (special tokens are full of them).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
