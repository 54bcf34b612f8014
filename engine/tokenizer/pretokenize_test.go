package tokenizer

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Go's regexp has no look-ahead and its \s is ASCII-only, so the oracle
// spells \s as the White_Space set and applies \s+(?!\S) afterwards: a run
// of spaces without a line break, followed by a non-space, gives up its
// last character when it has more than one.
const whiteSpace = `\t\n\v\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}`

var oracle = regexp.MustCompile(`^(?:(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^` +
	whiteSpace + `\p{L}\p{N}]+[\r\n]*|[` + whiteSpace + `]*[\r\n]+|[` + whiteSpace + `]+)`)

// oracleSplit cuts s as the Qwen2 pattern does, using regexp.
func oracleSplit(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		m := oracle.FindStringIndex(s[i:])
		if m == nil || m[1] == 0 {
			return append(out, "<no match at "+s[i:]+">")
		}
		w := s[i : i+m[1]]
		isSpace := strings.TrimLeft(w, "\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000") == ""
		lastAlt := isSpace && !strings.ContainsAny(w, "\r\n") // only \s+ matched
		if lastAlt && i+len(w) < len(s) && utf8.RuneCountInString(w) > 1 {
			_, last := utf8.DecodeLastRuneInString(w)
			w = w[:len(w)-last]
		}
		out = append(out, w)
		i += len(w)
	}
	return out
}

func mySplit(s string) []string {
	var out []string
	splitWords(s, func(w string) { out = append(out, w) })
	return out
}

func TestSplitWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"I'm  here's 'LL", []string{"I", "'m", " ", " here", "'s", " '", "LL"}},
		{"a  \n\n  b", []string{"a", "  \n\n", " ", " b"}},
		{"x   ", []string{"x", "   "}},
		{"12 3", []string{"1", "2", " ", "3"}},
		{"...!\n\nx", []string{"...!\n\n", "x"}},
		{"\tfoo", []string{"\tfoo"}},
		{"'ſ", []string{"'ſ"}},
	} {
		if got := mySplit(c.in); !slices.Equal(got, c.want) {
			t.Errorf("splitWords(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzSplitWords(f *testing.F) {
	for _, s := range []string{"Hello world", " \n\n  x", "'S'LL'ſ", "\xe4\xb8 a", "1½ ", "\u3000\u3000x", "a\r\n\t b", "!!\n?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := mySplit(s), oracleSplit(s)
		if !slices.Equal(got, want) {
			t.Errorf("splitWords(%q) = %q, regexp oracle %q", s, got, want)
		}
	})
}
