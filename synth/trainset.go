package synth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"attune/ingest"
)

// Example is one training example in the JSONL formats trainers read:
// either {"text": …} or {"messages": [{"role", "content"}, …]}.
type Example struct {
	Text     string    `json:"text,omitempty"`
	Messages []Message `json:"messages,omitempty"`
}

// TrainingOptions configures BuildTrainingSet. Zero fields take defaults.
type TrainingOptions struct {
	Phrasings int     // chat examples per pair, at most; default 5
	HoldOut   float64 // share of examples set aside for early stopping, 0..0.5; default 0
	Seed      uint64  // orders the examples and picks the held-out slice
	System    string  // system message of chat examples; none when empty

	// MaxTokens, with Count, is the token budget of a text example (the
	// one the chunks were cut to). A chunk is prefixed with its heading
	// path only when the prefix fits the budget; zero means no limit.
	MaxTokens int
	Count     ingest.TokenCounter
}

// Mixture reports what a training set holds, for the alignment's record.
type Mixture struct {
	TextExamples int          `json:"text_examples"` // chunks as {"text"}
	ChatExamples int          `json:"chat_examples"` // pair phrasings as {"messages"}
	Pairs        int          `json:"pairs"`         // pairs used
	PairsByKind  map[Kind]int `json:"pairs_by_kind"`
	HeldOut      int          `json:"held_out"` // examples in the held-out slice
	Bytes        int          `json:"bytes"`    // text in all examples

	// BenchmarkOverlap counts what was changed so that no example holds a
	// benchmark question verbatim: chunk lines rewritten or dropped, chat
	// phrasings dropped.
	RewrittenLines  int `json:"rewritten_lines"`
	DroppedLines    int `json:"dropped_lines"`
	DroppedChunks   int `json:"dropped_chunks"`
	DroppedPhrasing int `json:"dropped_phrasings"`
}

// TrainingSet is the examples of one alignment.
type TrainingSet struct {
	Train   []Example
	HoldOut []Example
	Mixture Mixture
}

// BuildTrainingSet makes a training set of the chunks as text examples and
// the pairs as chat examples, several phrasings each. No example contains
// a benchmark question verbatim (compared after normalisation): a chunk
// line that holds one is rephrased or dropped, and so is a phrasing.
func BuildTrainingSet(chunks []ingest.Chunk, pairs []Pair, benchmark []string, opts TrainingOptions) *TrainingSet {
	if opts.Phrasings <= 0 {
		opts.Phrasings = 5
	}
	opts.HoldOut = min(max(opts.HoldOut, 0), 0.5)
	guard := newOverlapGuard(benchmark)
	ts := &TrainingSet{Mixture: Mixture{PairsByKind: map[Kind]int{}}}
	m := &ts.Mixture

	var all []Example
	for _, c := range chunks {
		text, ok := guard.cleanText(chunkText(c, opts), m)
		if !ok {
			m.DroppedChunks++
			continue
		}
		all = append(all, Example{Text: text})
		m.TextExamples++
	}
	for _, p := range pairs {
		// An answer may quote another benchmark question (a cross
		// reference); reword it there as in the chunks.
		p.Answer, _ = guard.cleanText(p.Answer, &Mixture{})
		used, kept := false, 0
		for _, qa := range phrasings(p) {
			if kept == opts.Phrasings {
				break
			}
			if guard.contains(qa[0]) || guard.contains(qa[1]) {
				m.DroppedPhrasing++
				continue
			}
			kept++
			var msgs []Message
			if opts.System != "" {
				msgs = append(msgs, Message{Role: "system", Content: opts.System})
			}
			msgs = append(msgs, Message{Role: "user", Content: qa[0]}, Message{Role: "assistant", Content: qa[1]})
			all = append(all, Example{Messages: msgs})
			m.ChatExamples++
			used = true
		}
		if used {
			m.Pairs++
			m.PairsByKind[p.Kind]++
		}
	}

	rng := rand.New(rand.NewPCG(opts.Seed, 0x5eed))
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	held := int(opts.HoldOut * float64(len(all)))
	ts.HoldOut, ts.Train = all[:held], all[held:]
	m.HeldOut = held
	for _, e := range all {
		m.Bytes += len(e.Text)
		for _, msg := range e.Messages {
			m.Bytes += len(msg.Content)
		}
	}
	return ts
}

// chunkText is a chunk as a text example: its heading path first when the
// chunk does not start at its heading and the budget allows, so that every
// example says what it is about.
func chunkText(c ingest.Chunk, opts TrainingOptions) string {
	if strings.HasPrefix(c.Text, "#") {
		return c.Text
	}
	path := c.Headings
	if len(path) == 0 && c.Title != "" && !strings.HasPrefix(c.Text, c.Title) {
		path = []string{c.Title}
	}
	if len(path) == 0 {
		return c.Text
	}
	text := strings.Join(path, " > ") + "\n\n" + c.Text
	if opts.MaxTokens > 0 && opts.Count != nil && opts.Count(text) > opts.MaxTokens {
		return c.Text
	}
	return text
}

// overlapGuard finds benchmark questions inside texts. Questions are
// indexed by their first two words, so that a text is scanned once
// whatever the size of the benchmark.
type overlapGuard struct {
	questions []string         // normalised, padded with spaces
	words     [][]string       // the words of each question
	byStart   map[string][]int // first one or two words → questions
}

func newOverlapGuard(benchmark []string) *overlapGuard {
	g := &overlapGuard{byStart: map[string][]int{}}
	for _, q := range benchmark {
		n := normalize(q)
		if n == "" {
			continue
		}
		w := strings.Fields(n)
		key := w[0]
		if len(w) > 1 {
			key += " " + w[1]
		}
		g.byStart[key] = append(g.byStart[key], len(g.questions))
		g.questions = append(g.questions, " "+n+" ")
		g.words = append(g.words, w)
	}
	return g
}

// contains reports whether s holds a benchmark question verbatim.
func (g *overlapGuard) contains(s string) bool {
	w := strings.Fields(normalize(s))
	for i := range w {
		if g.startsAt(w, i, w[i]) {
			return true
		}
		if i+1 < len(w) && g.startsAt(w, i, w[i]+" "+w[i+1]) {
			return true
		}
	}
	return false
}

// startsAt reports whether a question indexed under key occurs in w at i.
func (g *overlapGuard) startsAt(w []string, i int, key string) bool {
	for _, k := range g.byStart[key] {
		q := g.words[k]
		if i+len(q) <= len(w) && slices.Equal(w[i:i+len(q)], q) {
			return true
		}
	}
	return false
}

// cleanText rewords every benchmark question inside text (see reword);
// it reports false when the text still holds one and must be dropped.
func (g *overlapGuard) cleanText(text string, m *Mixture) (string, bool) {
	if !g.contains(text) {
		return text, true
	}
	lines := strings.Split(text, "\n")
	out := lines[:0]
	for _, l := range lines {
		for tries := 0; g.contains(l) && tries < 8; tries++ {
			l = g.rewordFirst(l)
		}
		if g.contains(l) {
			m.DroppedLines++
			continue
		}
		if l != lines[len(out)] {
			m.RewrittenLines++
		}
		out = append(out, l)
	}
	text = strings.Join(out, "\n")
	return text, !g.contains(text) && strings.TrimSpace(text) != ""
}

// rewordFirst finds the first benchmark question in line and replaces its
// words there with a rewording.
func (g *overlapGuard) rewordFirst(line string) string {
	norm, offsets := normalizeWithOffsets(line)
	padded := " " + norm + " "
	for _, q := range g.questions {
		at := strings.Index(padded, q)
		if at < 0 {
			continue
		}
		// In norm the question spans [at, at+len(q)-2); map it back.
		start, end := offsets[at], offsets[at+len(q)-3]
		_, size := utf8.DecodeRuneInString(line[end:])
		end += size
		if end < len(line) && line[end] == '?' {
			end++
		}
		original := line[start:end]
		return line[:start] + reword(original) + line[end:]
	}
	return line
}

// normalizeWithOffsets is normalize that also returns, for each byte of the
// result, the offset in s of the character it came from.
func normalizeWithOffsets(s string) (string, []int) {
	var b strings.Builder
	var offsets []int
	space := true
	for i, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			l := string(unicode.ToLower(r))
			b.WriteString(l)
			for range len(l) {
				offsets = append(offsets, i)
			}
			space = false
		case !space:
			b.WriteByte(' ')
			offsets = append(offsets, i)
			space = true
		}
	}
	out := b.String()
	trimmed := strings.TrimRight(out, " ")
	return trimmed, offsets[:len(trimmed)]
}

var headingPrefix = regexp.MustCompile(`^(#{1,6} )?((?:\d+(?:\.\d+)*\.?\s+)?)(.*)$`)

// splitHeading splits a line into its heading marks, section number and
// text.
func splitHeading(line string) (marks, number, text string) {
	m := headingPrefix.FindStringSubmatch(line)
	return m[1], m[2], m[3]
}

// Question rewrites that keep the meaning but not the words in order.
var rephrasings = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`^What (is|are) (.+)\?$`), "Tell me what $2 $1."},
	{regexp.MustCompile(`^Which (.+?) (has|have|is|are) (.+)\?$`), "Name the $1 that $2 $3."},
	{regexp.MustCompile(`^How (?:do|can|should) (?:I|you|one|we) (.+)\?$`), "Explain how to $1."},
	{regexp.MustCompile(`^How (does|do|is|are) (.+)\?$`), "Explain how $2 $1."},
	{regexp.MustCompile(`^Why (?:is|are|does|do|did|was|were) (.+)\?$`), "Give the reason for this: $1?"},
	{regexp.MustCompile(`^Where (?:can|do|does|should) (?:I|you|one|we) (.+)\?$`), "Say where to $1."},
	{regexp.MustCompile(`^Fill in the blank: (.+)$`), "Complete this sentence: $1"},
}

// rephrase returns q reworded by the first rule that fits, or "".
func rephrase(q string) string {
	for _, r := range rephrasings {
		if r.re.MatchString(q) {
			return r.re.ReplaceAllString(q, r.with)
		}
	}
	return ""
}

var (
	whWords = map[string]bool{"what": true, "which": true, "how": true, "why": true, "where": true, "when": true, "who": true, "whom": true, "whose": true,
		"what's": true, "how's": true, "where's": true, "who's": true, "what’s": true}
	auxWords  = map[string]bool{"is": true, "are": true, "was": true, "were": true, "can": true, "could": true, "do": true, "does": true, "did": true, "should": true, "will": true, "would": true, "may": true, "has": true, "have": true, "must": true, "shall": true}
	pronounsQ = map[string]bool{"i": true, "you": true, "we": true, "it": true, "they": true, "one": true, "there": true, "he": true, "she": true, "this": true, "that": true}
	articles  = map[string]bool{"the": true, "a": true, "an": true, "my": true, "your": true, "our": true, "this": true, "these": true, "its": true}
)

// insertFiller rewords a question by inserting an adverb that keeps its
// meaning, at its first question word: "exactly" after a wh-word ("What
// exactly is …", "I have two machines; how exactly can I …"), "really"
// after the subject of a yes/no question ("Is Debian really free?"). It
// returns "" when the question has neither.
func insertFiller(q string) string {
	w := strings.Fields(q)
	for k := 0; k+2 < len(w); k++ {
		word := strings.ToLower(trimPunct(w[k]))
		at, filler := 0, ""
		switch {
		case word == "which" || word == "whose":
			// A noun follows ("Which element has …"): no adverb fits
			// there, nor after the verb that follows the noun.
			return ""
		case whWords[word]:
			at, filler = k+1, "exactly"
		case auxWords[word] && articles[strings.ToLower(w[k+1])] && k+3 < len(w):
			at, filler = k+3, "really"
		case auxWords[word]:
			at, filler = k+2, "really"
		default:
			continue
		}
		out := append(append(append([]string{}, w[:at]...), filler), w[at:]...)
		return strings.Join(out, " ")
	}
	return ""
}

// reword returns a wording of q without its words in the same order: a
// rule's rewording, else an inserted adverb, else q with its first two
// words swapped.
func reword(q string) string {
	if r := rephrase(q); r != "" {
		return r
	}
	if r := insertFiller(q); r != "" {
		return r
	}
	w := strings.Fields(q)
	if len(w) >= 2 {
		w[0], w[1] = w[1], w[0]
	}
	return strings.Join(w, " ")
}

var (
	factQuestion    = regexp.MustCompile(`^What is the (.+) of (.+)\?$`)
	reverseQuestion = regexp.MustCompile(`^Which (.+?) (?:has|have) (.+)\?$`)
)

// phrasings returns the candidate (question, answer) wordings of a pair,
// best first. The questions are the pair's own, reworded by rule and by an
// inserted adverb, and for facts with the subject in lower case (people
// type "lithium" where documents write "Lithium": other tokens, which a
// model must see both of).
//
// For facts and reverse facts the answer comes first as a sentence that
// restates what was asked and ends with the answer ("The atomic number of
// Lithium is 3.", "The chemical element with the chemical symbol Li is
// Lithium."), then bare. In the sentence the answer follows its key
// directly, as in the documents, so that a model learns the fact as text
// that predicts it where it needs it, rather than as an answer it must
// bind to a subject many tokens back; a model that learns only the form of
// bare answers gives one plausible answer to every question.
func phrasings(p Pair) [][2]string {
	questions := []string{p.Question}
	for _, r := range []string{rephrase(p.Question), insertFiller(p.Question)} {
		if r != "" {
			questions = append(questions, r)
		}
	}
	answer := strings.TrimRight(p.Answer, ".")
	sentences := make([]string, len(questions))
	if m := factQuestion.FindStringSubmatch(p.Question); m != nil {
		for i := range sentences {
			sentences[i] = fmt.Sprintf("The %s of %s is %s.", m[1], m[2], answer)
		}
		// "for" as people also ask it, and the subject in lower case;
		// the sentence names the subject as the question does.
		questions = append(questions, fmt.Sprintf("What is the %s for %s?", m[1], m[2]))
		sentences = append(sentences, sentences[0])
		if lower := strings.ToLower(m[2]); lower != m[2] {
			questions = append(questions, fmt.Sprintf("What is the %s of %s?", m[1], lower))
			sentences = append(sentences, fmt.Sprintf("The %s of %s is %s.", m[1], lower, answer))
		}
	} else if m := reverseQuestion.FindStringSubmatch(p.Question); m != nil {
		for i := range sentences {
			sentences[i] = fmt.Sprintf("The %s with %s is %s.", m[1], m[2], answer)
		}
	}
	var out [][2]string
	for i, q := range questions {
		if sentences[i] != "" {
			out = append(out, [2]string{q, sentences[i]})
		}
	}
	for _, q := range questions {
		out = append(out, [2]string{q, p.Answer})
	}
	return out
}

// WriteJSONL writes examples one JSON object a line.
func WriteJSONL(w io.Writer, examples []Example) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range examples {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("synth: cannot write example: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("synth: cannot write examples: %w", err)
	}
	return nil
}
