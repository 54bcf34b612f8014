package tokenizer

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// The vocabulary and the merges are 151k entries each and most of
// tokenizer.json; encoding/json took most of the load time reading them
// through reflection. scanVocab and scanMerges read just these two shapes
// directly. Anything they do not expect makes them fail, and Parse then
// reads the field with encoding/json instead, whose errors say what is
// wrong.

// scanner reads JSON values from b.
type scanner struct {
	b   []byte
	i   int
	buf []byte
}

var errScan = errors.New("tokenizer: unexpected JSON")

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// expect consumes c after optional whitespace.
func (s *scanner) expect(c byte) error {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != c {
		return errScan
	}
	s.i++
	return nil
}

// peek returns the next byte after whitespace, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// str reads a JSON string. The result aliases s.buf or s.b and is valid
// until the next call.
func (s *scanner) str() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	ascii := true
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			if !ascii && !utf8.Valid(s.b[start:s.i-1]) {
				return s.decode(start - 1) // as encoding/json replaces bad bytes
			}
			return s.b[start : s.i-1], nil
		case c >= utf8.RuneSelf:
			ascii = false
		case c == '\\':
			return s.escaped(start - 1)
		case c < 0x20:
			return nil, errScan
		}
		s.i++
	}
	return nil, errScan
}

// escaped reads a string with escapes, starting at its opening quote, with
// encoding/json doing the unescaping.
func (s *scanner) escaped(quote int) ([]byte, error) {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '\\':
			s.i += 2
			continue
		case '"':
			s.i++
			return s.decode(quote)
		}
		s.i++
	}
	return nil, errScan
}

// decode unquotes the string from quote to s.i with encoding/json.
func (s *scanner) decode(quote int) ([]byte, error) {
	var v string
	if err := json.Unmarshal(s.b[quote:s.i], &v); err != nil {
		return nil, err
	}
	s.buf = append(s.buf[:0], v...)
	return s.buf, nil
}

// integer reads a non-negative JSON integer.
func (s *scanner) integer() (int, error) {
	s.ws()
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == start || s.i-start > 9 || (s.b[start] == '0' && s.i-start > 1) {
		return 0, errScan
	}
	return strconv.Atoi(string(s.b[start:s.i]))
}

// scanVocab reads {"token": id, ...}.
func scanVocab(b []byte) (map[string]int, error) {
	s := &scanner{b: b}
	vocab := make(map[string]int, 1<<17+1<<16)
	if err := s.expect('{'); err != nil {
		return nil, err
	}
	if s.peek() == '}' {
		return vocab, s.end()
	}
	for {
		k, err := s.str()
		if err != nil {
			return nil, err
		}
		key := string(k)
		if err := s.expect(':'); err != nil {
			return nil, err
		}
		id, err := s.integer()
		if err != nil {
			return nil, err
		}
		vocab[key] = id
		if s.peek() == '}' {
			return vocab, s.end()
		}
		if err := s.expect(','); err != nil {
			return nil, err
		}
	}
}

// end consumes the closing bracket and checks nothing follows.
func (s *scanner) end() error {
	s.i++
	s.ws()
	if s.i != len(s.b) {
		return errScan
	}
	return nil
}

// scanMerges reads [["a", "b"], ...] or ["a b", ...] and calls fn with
// each pair, whose bytes are valid only during the call.
func scanMerges(b []byte, fn func(a, b []byte) error) error {
	s := &scanner{b: b}
	if err := s.expect('['); err != nil {
		return err
	}
	if s.peek() == ']' {
		return s.end()
	}
	var left []byte
	for {
		var a, b []byte
		if s.peek() == '[' {
			s.i++
			x, err := s.str()
			if err != nil {
				return err
			}
			left = append(left[:0], x...)
			if err := s.expect(','); err != nil {
				return err
			}
			if b, err = s.str(); err != nil {
				return err
			}
			if err := s.expect(']'); err != nil {
				return err
			}
			a = left
		} else {
			x, err := s.str()
			if err != nil {
				return err
			}
			sp := indexByte(x, ' ')
			if sp < 0 {
				return errScan
			}
			a, b = x[:sp], x[sp+1:]
		}
		if err := fn(a, b); err != nil {
			return err
		}
		if s.peek() == ']' {
			return s.end()
		}
		if err := s.expect(','); err != nil {
			return err
		}
	}
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
