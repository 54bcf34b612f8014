package tokenizer

import "unicode/utf8"

// StreamDecoder turns ids into text one at a time, as a model generates
// them. A character can span tokens; the decoder holds back the bytes of an
// unfinished UTF-8 character until the token that completes it arrives, so
// every piece it returns ends on a character boundary. Bytes that can never
// become a valid character are passed on as they are. It is not safe for
// concurrent use.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte
}

// NewStreamDecoder returns a decoder with nothing held back.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Add decodes one more id and returns the text now complete, possibly "".
// Ids the tokenizer does not define (a model's padding rows) add nothing.
func (d *StreamDecoder) Add(id int) string {
	b, _ := d.t.TokenBytes(id)
	d.pending = append(d.pending, b...)
	n := len(d.pending) - incompleteTail(d.pending)
	out := string(d.pending[:n])
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return out
}

// Flush returns whatever is held back, complete or not, and empties the
// decoder.
func (d *StreamDecoder) Flush() string {
	out := string(d.pending)
	d.pending = d.pending[:0]
	return out
}

// incompleteTail returns how many bytes at the end of b are the start of a
// UTF-8 character that more bytes could still complete.
func incompleteTail(b []byte) int {
	// A character is at most 4 bytes; look back at most 3 for its lead byte.
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0 // ASCII: nothing pending
		}
		if c >= 0xC0 { // a lead byte
			if need := leadLen(c); need > k && validPrefix(b[len(b)-k:]) {
				return k
			}
			return 0
		}
	}
	return 0
}

// leadLen returns the length of the character a lead byte starts.
func leadLen(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	}
	return 2
}

// validPrefix reports whether p can be completed to a valid character, by
// completing it with the smallest continuation bytes that could follow.
func validPrefix(p []byte) bool {
	need := leadLen(p[0])
	for _, pad := range []byte{0x80, 0x90, 0xA0, 0xBF} {
		full := append(append([]byte(nil), p...), make([]byte, need-len(p))...)
		for i := len(p); i < need; i++ {
			full[i] = pad
		}
		if r, n := utf8.DecodeRune(full); r != utf8.RuneError && n == need {
			return true
		}
	}
	return false
}
