package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// qwen2Pattern is the Qwen2 pre-tokenizer pattern as tokenizer.json spells
// it. Go's regexp has no look-ahead, so splitWords implements it by hand;
// Parse refuses a tokenizer.json whose pattern is any other.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// class is what the pattern distinguishes about a character.
type class uint8

const (
	classOther  class = iota // none of the below: punctuation, symbols, marks
	classLetter              // \p{L}
	classNumber              // \p{N}
	classSpace               // \s, Unicode White_Space
)

// asciiClass holds the class of every ASCII byte.
var asciiClass [utf8.RuneSelf]class

func init() {
	for b := range utf8.RuneSelf {
		asciiClass[b] = classOfRune(rune(b))
	}
}

func classOfRune(r rune) class {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r): // the White_Space property, as \s is
		return classSpace
	}
	return classOther
}

// at decodes the character at s[i:] and its class. A byte that is not valid
// UTF-8 counts as one character of class other. At the end of s it returns
// size 0.
func at(s string, i int) (r rune, size int, c class) {
	if i >= len(s) {
		return 0, 0, classOther
	}
	if b := s[i]; b < utf8.RuneSelf {
		return rune(b), 1, asciiClass[b]
	}
	r, size = utf8.DecodeRuneInString(s[i:])
	return r, size, classOfRune(r)
}

// splitWords cuts s into the pieces the Qwen2 pattern matches, in order, and
// calls fn with each. Every character of s lands in exactly one piece. The
// alternatives are tried in the pattern's order at each position, with the
// backtracking the regex engine would do written out.
func splitWords(s string, fn func(word string)) {
	for i := 0; i < len(s); {
		n := matchAt(s, i)
		fn(s[i : i+n])
		i += n
	}
}

// matchAt returns the length of the pattern's match at s[i:], which is never
// empty.
func matchAt(s string, i int) int {
	r, n, c := at(s, i)

	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r == '\'' {
		if m := contraction(s[i+1:]); m > 0 {
			return 1 + m
		}
	}

	// [^\r\n\p{L}\p{N}]?\p{L}+
	if c == classLetter {
		return letters(s, i) - i
	}
	if c != classNumber && r != '\r' && r != '\n' {
		if _, _, c2 := at(s, i+n); c2 == classLetter {
			return letters(s, i+n) - i
		}
	}

	// \p{N}
	if c == classNumber {
		return n
	}

	// ' ?[^\s\p{L}\p{N}]+[\r\n]*'
	j := i
	if r == ' ' {
		j += n
	}
	if k := others(s, j); k > j {
		for k < len(s) && (s[k] == '\r' || s[k] == '\n') {
			k++
		}
		return k - i
	}

	// Only whitespace is left: \s*[\r\n]+ | \s+(?!\S) | \s+
	return spaces(s, i)
}

// letters returns the end of the run of letters starting at s[i:].
func letters(s string, i int) int {
	for {
		_, n, c := at(s, i)
		if n == 0 || c != classLetter {
			return i
		}
		i += n
	}
}

// others returns the end of the run of characters of class other starting
// at s[i:].
func others(s string, i int) int {
	for {
		_, n, c := at(s, i)
		if n == 0 || c != classOther {
			return i
		}
		i += n
	}
}

// spaces matches the three whitespace alternatives at s[i:], where s[i] is
// whitespace. With a line break in the run, \s*[\r\n]+ takes the run up to
// and including its last break. Otherwise \s+(?!\S) takes the whole run at
// the end of s, or all of it but its last character when a non-space
// follows; a single space before a non-space falls to \s+.
func spaces(s string, i int) int {
	end, lastBreak, lastStart := i, -1, i
	for {
		r, n, c := at(s, end)
		if n == 0 || c != classSpace {
			break
		}
		if r == '\r' || r == '\n' {
			lastBreak = end
		}
		lastStart = end
		end += n
	}
	switch {
	case lastBreak >= 0:
		return lastBreak + 1 - i
	case end == len(s) || lastStart == i:
		return end - i
	default:
		return lastStart - i
	}
}

// contraction returns the length of the contraction suffix ('s, 't, 're,
// 've, 'm, 'll, 'd, in any case) that s starts with after the apostrophe,
// or 0. Case folding is Unicode's, under which 'ſ' (U+017F) is an 's'.
func contraction(s string) int {
	if len(s) == 0 {
		return 0
	}
	if len(s) >= 2 && s[0] == 0xC5 && s[1] == 0xBF { // ſ
		return 2
	}
	switch lower(s[0]) {
	case 's', 't', 'm', 'd':
		return 1
	case 'r', 'v':
		if len(s) >= 2 && lower(s[1]) == 'e' {
			return 2
		}
	case 'l':
		if len(s) >= 2 && lower(s[1]) == 'l' {
			return 2
		}
	}
	return 0
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
