package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"attune/engine/tokenizer"
)

func TestParseIDs(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"9707 1879\n", []int{9707, 1879}, false},
		{"9707,1879", []int{9707, 1879}, false},
		{" 1, 2 ,3 ", []int{1, 2, 3}, false},
		{"[9707, 1879]", []int{9707, 1879}, false},
		{"", []int{}, false},
		{"12 x", nil, true},
		{"[1, \"a\"]", nil, true},
	} {
		got, err := parseIDs([]byte(c.in))
		if (err != nil) != c.err || (!c.err && !slices.Equal(got, c.want)) {
			t.Errorf("parseIDs(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
	}
}

func TestTokenizeOutput(t *testing.T) {
	tj, cj, err := tokenizer.Qwen25Files()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Parse(tj, cj)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		run  func(*bytes.Buffer) error
		want string
	}{
		{"ids", func(b *bytes.Buffer) error { return writeIDs(b, tok.Encode("Hello world")) }, "9707 1879\n"},
		{"json", func(b *bytes.Buffer) error { return encodeJSON(b, tok, []byte(`["Hello world", ""]`)) }, "[[9707,1879],[]]\n"},
		{"decode", func(b *bytes.Buffer) error { return decodeIDs(b, tok, []byte("9707, 1879")) }, "Hello world"},
		{"decode json", func(b *bytes.Buffer) error { return decodeJSON(b, tok, []byte(`[[9707,1879],[151645]]`)) }, "[\"Hello world\",\"<|im_end|>\"]\n"},
	} {
		var b bytes.Buffer
		if err := c.run(&b); err != nil {
			t.Errorf("%s: %v", c.name, err)
		} else if b.String() != c.want {
			t.Errorf("%s: printed %q, want %q", c.name, b.String(), c.want)
		}
	}
	var b bytes.Buffer
	if err := decodeIDs(&b, tok, []byte("999999")); err == nil || !strings.Contains(err.Error(), "999999") {
		t.Errorf("decoding an unknown id: err = %v, want one naming it", err)
	}
}
