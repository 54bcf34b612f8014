package ingest

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunk is a piece of a document's text small enough to fit a model's
// context with room to spare, with where it came from.
type Chunk struct {
	DocumentID string   `json:"document_id"`
	Index      int      `json:"index"`              // position among the document's chunks, from 0
	Text       string   `json:"text"`               // Text == doc.Text[StartByte:EndByte]
	Title      string   `json:"title,omitempty"`    // the document's title
	Headings   []string `json:"headings,omitempty"` // enclosing headings, outermost first
	StartByte  int      `json:"start_byte"`
	EndByte    int      `json:"end_byte"`   // exclusive
	StartLine  int      `json:"start_line"` // from 1
	EndLine    int      `json:"end_line"`   // inclusive
	Tokens     int      `json:"tokens"`
}

// TokenCounter returns the number of tokens in s. Callers that hold the
// model's tokenizer pass its count; ApproxTokens stands in otherwise.
type TokenCounter func(s string) int

// ChunkOptions configures Split. Zero fields take the defaults.
type ChunkOptions struct {
	MaxTokens int          // most tokens in a chunk; default 256
	Overlap   int          // most tokens a chunk repeats from the one before; default MaxTokens/8
	Count     TokenCounter // default ApproxTokens
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.MaxTokens <= 0 {
		o.MaxTokens = 256
	}
	if o.Overlap <= 0 {
		o.Overlap = o.MaxTokens / 8
	}
	o.Overlap = min(o.Overlap, o.MaxTokens/2)
	if o.Count == nil {
		o.Count = ApproxTokens
	}
	return o
}

// ApproxTokens estimates the number of tokens of a byte-level BPE tokenizer
// such as Qwen2.5's without its vocabulary: a run of ASCII letters counts
// one token per four letters (rounded up), every digit, punctuation mark
// and symbol one token, every other letter (accented, CJK) one token.
// White space is free. It overestimates the real count (by 22 % on the
// dict-elements corpus, 41 % on the Debian FAQ), so chunks cut with it stay
// within the real budget; pass the tokenizer's count when it is at hand.
func ApproxTokens(s string) int {
	n, letters := 0, 0
	for _, r := range s {
		if r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			letters++
			continue
		}
		n += (letters + 3) / 4
		letters = 0
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n + (letters+3)/4
}

// unit is a span of the text that is never cut: a paragraph, a heading, a
// line of a long block, a sentence of a long line, or a window of words.
type unit struct {
	start, end int
	tokens     int
	heading    int    // level when the unit is a heading line, else 0
	title      string // the heading's text
}

// Split cuts a document's text into chunks of at most opts.MaxTokens
// tokens. A heading always starts a new chunk; within a section chunks end
// at paragraph boundaries where they can, at line, sentence or word
// boundaries where a paragraph is too long, and each chunk after the first
// of a section begins with up to opts.Overlap tokens from the end of the
// one before.
//
// Chunks carry doc.Title; when it is empty (a caller that kept only the
// text), the title is found again in the text: its first heading, or a
// short first line standing alone.
func Split(documentID string, doc *Document, opts ChunkOptions) []Chunk {
	opts = opts.withDefaults()
	text, title := doc.Text, doc.Title
	if title == "" {
		title = firstHeading(text)
	}
	if title == "" {
		title = plainTitle(text)
	}
	lines := lineStarts(text)

	var chunks []Chunk
	var path []unit
	emit := func(us []unit) {
		start, end := us[0].start, us[len(us)-1].end
		c := Chunk{
			DocumentID: documentID,
			Index:      len(chunks),
			Text:       text[start:end],
			Title:      title,
			StartByte:  start,
			EndByte:    end,
			StartLine:  lineOf(lines, start),
			EndLine:    lineOf(lines, end-1),
			Tokens:     opts.Count(text[start:end]),
		}
		for _, h := range path {
			c.Headings = append(c.Headings, h.title)
		}
		chunks = append(chunks, c)
	}

	for _, section := range sections(text, opts) {
		if h := section[0]; h.heading > 0 {
			for len(path) > 0 && path[len(path)-1].heading >= h.heading {
				path = path[:len(path)-1]
			}
			path = append(path, h)
		}
		for _, us := range pack(section, opts) {
			emit(us)
		}
	}
	return chunks
}

// pack groups a section's units into chunks, repeating trailing units of
// one chunk at the start of the next up to the overlap budget.
func pack(units []unit, opts ChunkOptions) [][]unit {
	var out [][]unit
	var cur []unit
	tokens, fresh := 0, 0 // tokens in cur; units in cur not yet emitted
	for _, u := range units {
		if tokens+u.tokens > opts.MaxTokens && fresh > 0 {
			out = append(out, cur)
			cur, tokens = overlapTail(cur, opts.Overlap, opts.MaxTokens-u.tokens)
			fresh = 0
		}
		cur = append(cur, u)
		tokens += u.tokens
		fresh++
	}
	if fresh > 0 {
		out = append(out, cur)
	}
	return out
}

// overlapTail returns the longest run of trailing units of us, none of them
// a heading, whose tokens fit both the overlap and the room left.
func overlapTail(us []unit, overlap, room int) ([]unit, int) {
	budget := min(overlap, room)
	tokens, i := 0, len(us)
	for i > 1 && us[i-1].heading == 0 && tokens+us[i-1].tokens <= budget {
		i--
		tokens += us[i].tokens
	}
	return append([]unit(nil), us[i:]...), tokens
}

// sections splits text into runs of units, each run starting at a heading
// (except perhaps the first).
func sections(text string, opts ChunkOptions) [][]unit {
	var out [][]unit
	var cur []unit
	for _, b := range blocks(text) {
		if b.heading > 0 && len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
		b.tokens = opts.Count(text[b.start:b.end])
		if b.tokens <= opts.MaxTokens {
			cur = append(cur, b)
			continue
		}
		cur = append(cur, splitUnit(text, b, opts)...)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// blocks returns the paragraphs of text: runs of non-blank lines, with
// every heading line a block of its own.
func blocks(text string) []unit {
	var out []unit
	start := -1
	closeBlock := func(end int) {
		if start >= 0 {
			out = append(out, unit{start: start, end: end})
			start = -1
		}
	}
	for pos := 0; pos < len(text); {
		end := strings.IndexByte(text[pos:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += pos
		}
		line := text[pos:end]
		switch level, title := headingOf(line); {
		case strings.TrimSpace(line) == "":
			closeBlock(pos)
		case level > 0:
			closeBlock(pos)
			out = append(out, unit{start: pos, end: end, heading: level, title: title})
		case start < 0:
			start = pos
		}
		pos = end + 1
	}
	closeBlock(len(text))
	for i := range out { // a block ends at its last non-blank character
		out[i].end = out[i].start + len(strings.TrimRight(text[out[i].start:out[i].end], "\n \t"))
	}
	return out
}

// splitUnit cuts a unit longer than the budget into lines, then sentences,
// then windows of words, each within the budget.
func splitUnit(text string, u unit, opts ChunkOptions) []unit {
	for _, cut := range []func(string) []int{lineCuts, sentenceCuts} {
		parts := cutAt(text, u, cut(text[u.start:u.end]), opts)
		if len(parts) > 1 {
			var out []unit
			for _, p := range parts {
				if p.tokens > opts.MaxTokens {
					out = append(out, splitUnit(text, p, opts)...)
				} else {
					out = append(out, p)
				}
			}
			return out
		}
	}
	return wordWindows(text, u, opts)
}

// cutAt splits u at the given offsets (relative to u.start), dropping empty
// parts and trimming white space.
func cutAt(text string, u unit, cuts []int, opts ChunkOptions) []unit {
	var out []unit
	prev := 0
	for _, c := range append(cuts, u.end-u.start) {
		s, e := u.start+prev, u.start+c
		prev = c
		for s < e && isSpaceByte(text[s]) {
			s++
		}
		for e > s && isSpaceByte(text[e-1]) {
			e--
		}
		if s < e {
			out = append(out, unit{start: s, end: e, tokens: opts.Count(text[s:e])})
		}
	}
	return out
}

// lineCuts returns the offsets just after each line break of s.
func lineCuts(s string) []int {
	var cuts []int
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			cuts = append(cuts, i+1)
		}
	}
	return cuts
}

// sentenceCuts returns the offsets just after each '.', '!' or '?' that is
// followed by white space.
func sentenceCuts(s string) []int {
	var cuts []int
	for i := 0; i+1 < len(s); i++ {
		if (s[i] == '.' || s[i] == '!' || s[i] == '?') && isSpaceByte(s[i+1]) {
			cuts = append(cuts, i+1)
		}
	}
	return cuts
}

// wordWindows cuts u into runs of whole words within the budget; a single
// word over the budget is cut between characters.
func wordWindows(text string, u unit, opts ChunkOptions) []unit {
	var out []unit
	s := u.start
	for s < u.end {
		// Candidate ends: word ends, or rune ends when the first word alone
		// is over the budget. A token is rarely over 16 bytes, so no window
		// reaches further than that many bytes per token.
		reach := min(u.end, s+16*opts.MaxTokens+16)
		ends := boundaries(text, s, reach, true)
		if len(ends) == 0 || opts.Count(text[s:ends[0]]) > opts.MaxTokens {
			ends = boundaries(text, s, reach, false)
		}
		e := ends[0]
		if i := sort.Search(len(ends), func(i int) bool {
			return opts.Count(text[s:ends[i]]) > opts.MaxTokens
		}); i > 0 {
			e = ends[i-1]
		}
		out = append(out, unit{start: s, end: e, tokens: opts.Count(text[s:e])})
		s = e
		for s < u.end && isSpaceByte(text[s]) {
			s++
		}
	}
	return out
}

// boundaries returns the offsets in (s, limit] where a word (words true) or
// a rune ends; limit itself is always one.
func boundaries(text string, s, limit int, words bool) []int {
	var ends []int
	for i := s; i < limit; {
		_, size := utf8.DecodeRuneInString(text[i:limit])
		i += size
		if !words || i == limit || isSpaceByte(text[i]) && !isSpaceByte(text[i-1]) {
			ends = append(ends, i)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != limit {
		ends = append(ends, limit)
	}
	return ends
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// lineStarts returns the byte offset at which each line begins.
func lineStarts(text string) []int {
	starts := []int{0}
	for i := 0; i < len(text); i++ {
		if text[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// lineOf returns the 1-based line holding byte offset pos.
func lineOf(starts []int, pos int) int {
	return sort.Search(len(starts), func(i int) bool { return starts[i] > pos })
}
