package ingest

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// textFormat adapts an extractor of decoded text to raw bytes: it detects
// the encoding, rejects binary data and records the encoding used.
func textFormat(extract func(text string) (*Document, error)) func([]byte) (*Document, error) {
	return func(data []byte) (*Document, error) {
		text, encoding, err := decode(data)
		if err != nil {
			return nil, err
		}
		doc, err := extract(text)
		if err != nil {
			return nil, err
		}
		doc.Encoding = encoding
		return doc, nil
	}
}

// decode returns data as UTF-8 and the name of the encoding it was in. A
// byte order mark selects UTF-8 or UTF-16; without one, valid UTF-8 is
// taken as such and anything else as Windows-1252, the superset of Latin-1
// that Latin-1 labelled files almost always really are (0x80–0x9F are
// printable there and control codes in strict Latin-1).
func decode(data []byte) (string, string, error) {
	var text, encoding string
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		text, encoding = string(data[3:]), "utf-8"
		if !utf8.ValidString(text) {
			return "", "", unreadable(nil, "starts with a UTF-8 byte order mark but is not valid UTF-8")
		}
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		text, encoding = decodeUTF16(data[2:], false), "utf-16le"
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		text, encoding = decodeUTF16(data[2:], true), "utf-16be"
	default:
		if looksBinary(data) {
			return "", "", unreadable(nil, "looks like binary data, not text")
		}
		if utf8.Valid(data) {
			text, encoding = string(data), "utf-8"
		} else {
			b, err := charmap.Windows1252.NewDecoder().Bytes(data)
			if err != nil {
				return "", "", unreadable(err, "cannot be decoded as text")
			}
			text, encoding = string(b), "windows-1252"
		}
	}
	if looksBinary([]byte(text)) {
		return "", "", unreadable(nil, "looks like binary data, not text")
	}
	return stripControls(text), encoding, nil
}

// decodeUTF16 decodes UTF-16 of the given byte order; a dangling odd byte is
// dropped and unpaired surrogates become U+FFFD.
func decodeUTF16(b []byte, bigEndian bool) string {
	units := make([]uint16, len(b)/2)
	for i := range units {
		hi, lo := b[2*i+1], b[2*i]
		if bigEndian {
			hi, lo = lo, hi
		}
		units[i] = uint16(hi)<<8 | uint16(lo)
	}
	return string(utf16.Decode(units))
}

// looksBinary reports whether data reads as binary rather than text: it
// holds a NUL byte in its first 8 KiB, or more than 5% of those bytes are
// control codes other than tab, line feed, form feed, carriage return and
// escape.
func looksBinary(data []byte) bool {
	sample := data[:min(len(data), 8192)]
	controls := 0
	for _, c := range sample {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r' && c != 0x1b:
			controls++
		}
	}
	return controls*20 > len(sample)
}

// stripControls removes control characters other than tab and line feed,
// and turns form feeds and carriage returns into line feeds.
func stripControls(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n':
			return r
		case r == '\f' || r == '\r':
			return '\n'
		case r == utf8.RuneError || r == '\ufeff' || unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}

// extractPlain reads plain text; see plainTitle for its title.
func extractPlain(text string) (*Document, error) {
	return &Document{Text: text, Title: plainTitle(text)}, nil
}

// plainTitle returns the first line of text when it reads as a title: short,
// followed by a blank line (or nothing) and not ending like a sentence.
func plainTitle(text string) string {
	first, rest, _ := strings.Cut(strings.TrimLeft(tidy(text), "\n"), "\n")
	first = strings.TrimSpace(first)
	if first != "" && len(first) <= 80 && len(strings.Fields(first)) <= 10 &&
		(rest == "" || strings.HasPrefix(rest, "\n")) &&
		!strings.ContainsAny(first[len(first)-1:], ".,;:!?") {
		return first
	}
	return ""
}

// extractMarkdown reads Markdown, which is already in the package's
// vocabulary; setext headings become ATX headings.
func extractMarkdown(text string) (*Document, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	out := make([]string, 0, len(lines))
	fenced := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if !fenced && i+1 < len(lines) && strings.TrimSpace(line) != "" && !isListOrTable(line) {
			if level := setextLevel(lines[i+1]); level > 0 {
				out = append(out, strings.Repeat("#", level)+" "+strings.TrimSpace(line))
				i++
				continue
			}
		}
		out = append(out, line)
	}
	return &Document{Text: strings.Join(out, "\n")}, nil
}

// setextLevel returns 1 for a "===" underline, 2 for "---", 0 otherwise.
func setextLevel(line string) int {
	t := strings.TrimSpace(line)
	switch {
	case len(t) >= 3 && strings.Trim(t, "=") == "":
		return 1
	case len(t) >= 3 && strings.Trim(t, "-") == "":
		return 2
	}
	return 0
}

func isListOrTable(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "- ") || strings.HasPrefix(t, "* ") ||
		strings.HasPrefix(t, "|") || strings.HasPrefix(t, "#")
}
