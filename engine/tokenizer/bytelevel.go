package tokenizer

import "unicode/utf8"

// Byte-level BPE vocabularies spell every byte as a printable character so
// that tokens are valid text: bytes that are printable Latin-1 stand for
// themselves and the rest (controls, space, 0x7F-0xA0, 0xAD) are moved, in
// order, to U+0100 onwards. The tokenizer works on raw bytes internally and
// uses this table only to read the vocabulary and merges.

// byteRune maps a byte to the character that spells it in the vocabulary.
var byteRune [256]rune

// runeByte maps such a character back to its byte plus one; 0 marks a
// character that spells no byte. The characters all lie below U+0144.
var runeByte [0x144]uint16

func init() {
	next := rune(256)
	for b := 0; b < 256; b++ {
		if printableLatin1(b) {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = next
			next++
		}
		runeByte[byteRune[b]] = uint16(b) + 1
	}
}

// printableLatin1 reports whether b stands for itself: '!'..'~', '¡'..'¬'
// and '®'..'ÿ'.
func printableLatin1(b int) bool {
	return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
}

// unmapBytes turns a vocabulary spelling back into the bytes it stands for.
// It reports false if s contains a character that spells no byte.
func unmapBytes(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r >= rune(len(runeByte)) || runeByte[r] == 0 {
			return nil, false
		}
		out = append(out, byte(runeByte[r]-1))
	}
	return out, true
}

// mapBytes spells raw bytes the way the vocabulary does.
func mapBytes(b []byte) string {
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = utf8.AppendRune(out, byteRune[c])
	}
	return string(out)
}
