package synth

import (
	"context"
	"regexp"
	"strings"
	"unicode"

	"attune/ingest"
)

// Extractive is the Generator that needs no model: every pair it makes is
// read off the text of one chunk.
//
// It finds:
//   - FAQ entries: a heading that is a question ("## 7.2. What is …?"),
//     answered by the section under it, flattened to one line and cut at a
//     sentence end after at most MaxAnswer bytes;
//   - definitions: "X is a/an/the …" sentences → "What is X?";
//   - facts: "X is the Y with A1 V1 and A2 V2" and "Its A is V" sentences,
//     "Key: value" lines and list items, table rows → "What is the A of
//     X?", and for the values of a "with" clause the reverse question
//     "Which Y has the A V?";
//   - cloze questions: a prose sentence with its most salient term (a rare
//     proper name or number) blanked.
//
// Pairs are deduplicated by their normalised question, then taken from the
// documents in turn, and within a document from the kinds in turn, so that
// any n draws evenly. The same Seed gives the same pairs.
type Extractive struct {
	Seed      uint64
	MaxAnswer int // longest FAQ or definition answer in bytes; default 900
}

// Generate implements Generator.
func (g Extractive) Generate(ctx context.Context, chunks []ingest.Chunk, n int) ([]Pair, error) {
	if g.MaxAnswer <= 0 {
		g.MaxAnswer = 900
	}
	common := commonTerms(chunks)
	var all []Pair
	for _, c := range chunks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r := &reader{g: g, chunk: c, common: common}
		all = append(all, r.pairs()...)
	}
	return balance(dedupe(all), n, g.Seed), nil
}

// reader extracts the pairs of one chunk.
type reader struct {
	g       Extractive
	chunk   ingest.Chunk
	common  map[string]bool // terms too frequent to be salient
	subject string          // the thing the latest definition was about
	out     []Pair
}

func (r *reader) add(kind Kind, q, a string) {
	q, a = strings.TrimSpace(q), strings.TrimSpace(a)
	if q == "" || a == "" || normalize(a) == "" || normalize(q) == normalize(a) {
		return
	}
	r.out = append(r.out, Pair{Question: q, Answer: a, Kind: kind,
		DocumentID: r.chunk.DocumentID, ChunkIndex: r.chunk.Index})
}

// pairs walks the chunk's blocks: headings, tables, list and key/value
// lines, and prose paragraphs.
func (r *reader) pairs() []Pair {
	lines := strings.Split(r.chunk.Text, "\n")
	r.subject = r.defaultSubject()
	var para []string
	endPara := func() {
		if len(para) > 0 {
			r.prose(strings.Join(para, " "))
			para = nil
		}
	}
	fenced := false
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(line, "```"):
			endPara()
			fenced = !fenced
		case fenced:
		case line == "":
			endPara()
		case isHeading(line):
			endPara()
			if i == 0 {
				r.faq(line, lines[1:])
			}
		case strings.HasPrefix(line, "|"):
			endPara()
			j := i
			for j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "|") {
				j++
			}
			r.table(lines[i:j])
			i = j - 1
		case isListItem(line):
			endPara()
			r.keyValue(listText(line), lines, i)
		case kvLine.MatchString(line) && len(para) == 0:
			r.keyValue(line, lines, i)
		default:
			para = append(para, line)
		}
	}
	endPara()
	return r.out
}

// defaultSubject is what "its" refers to before any definition: the
// innermost heading or the document's title.
func (r *reader) defaultSubject() string {
	if h := r.chunk.Headings; len(h) > 0 {
		return stripNumber(h[len(h)-1])
	}
	return r.chunk.Title
}

var sectionNumber = regexp.MustCompile(`^(?:(?:Chapter|Section|Part)\s+)?\d+(?:\.\d+)*\.?\s+`)

// stripNumber removes a leading section number ("7.2. ", "Chapter 3. ").
func stripNumber(s string) string { return sectionNumber.ReplaceAllString(strings.TrimSpace(s), "") }

func isHeading(line string) bool {
	t := strings.TrimLeft(line, "#")
	return len(t) < len(line) && len(line)-len(t) <= 6 && strings.HasPrefix(t, " ")
}

func headingText(line string) string {
	return strings.TrimSpace(strings.TrimRight(strings.TrimLeft(line, "#"), "# "))
}

// faq makes a pair of a question heading at the top of the chunk and the
// text under it.
func (r *reader) faq(heading string, body []string) {
	// A question heading may end in "?!" or go on after its question
	// ("How can I …? I'd like to know …!").
	q := stripNumber(headingText(heading))
	if !strings.Contains(q, "?") {
		return
	}
	var parts []string
	fenced := false
	for _, l := range body {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "```") {
			fenced = !fenced
			continue
		}
		if isHeading(t) && !fenced {
			break
		}
		parts = append(parts, t)
	}
	r.add(KindFAQ, q, clip(strings.Join(strings.Fields(strings.Join(parts, " ")), " "), r.g.MaxAnswer))
}

// clip cuts s at the last sentence end within max bytes, or at the last
// word boundary when no sentence ends there.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := s[:max]
	if i := strings.LastIndexAny(cut, ".!?"); i >= max/3 {
		return cut[:i+1]
	}
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		return cut[:i]
	}
	return cut
}

// prose reads the sentences of a paragraph: definitions, "its" facts and
// cloze questions.
func (r *reader) prose(text string) {
	clozes := 0
	for _, s := range sentences(text) {
		defined := r.definition(s)
		if !defined && r.itsFact(s) {
			continue
		}
		if !defined && clozes < 2 && r.cloze(s) {
			clozes++
		}
	}
}

// sentences splits text after '.', '!' or '?' followed by a space and a
// capital letter, digit or opening quote.
func sentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i+2 < len(text); i++ {
		if (text[i] == '.' || text[i] == '!' || text[i] == '?') && text[i+1] == ' ' {
			next := rune(text[i+2])
			if unicode.IsUpper(next) || unicode.IsDigit(next) || strings.ContainsRune("\"“(", next) {
				out = append(out, strings.TrimSpace(text[start:i+1]))
				start = i + 2
			}
		}
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

var (
	definitionRE = regexp.MustCompile(`^([A-Z][^\s,;:]*(?: [^\s,;:]+){0,5}?) (is|are) (a|an|the) ([^;:]+?)\.$`)
	itsRE        = regexp.MustCompile(`^(?:Its|Their) ([a-z][a-z -]{1,40}?) (?:is|are|was|were) (?:listed as |given as |about |approximately )?(.+?)\.?$`)
	clauseSplit  = regexp.MustCompile(`,\s*(?:and\s+)?|\s+and\s+`)
	numberRE     = regexp.MustCompile(`^\(?\d+(?:[.,]\d+)*\)?$`)
	attrRE       = regexp.MustCompile(`^[a-z][a-z-]*(?: [a-z][a-z-]*){0,3}$`)
)

// pronouns and conjunctions never start the name a definition defines.
var pronouns = map[string]bool{"it": true, "this": true, "that": true, "these": true, "those": true,
	"they": true, "there": true, "he": true, "she": true, "we": true, "you": true, "i": true,
	"which": true, "what": true, "here": true, "one": true, "each": true, "all": true,
	"if": true, "when": true, "while": true, "because": true, "although": true, "since": true,
	"unless": true, "as": true, "so": true, "but": true, "and": true, "or": true, "once": true,
	"now": true, "then": true, "also": true, "both": true, "some": true, "most": true, "many": true}

// definition makes "What is X?" from "X is a …" and, when the predicate has
// a "with" clause of attribute/value parts, a fact and a reverse question
// per part. It reports whether s was a definition.
func (r *reader) definition(s string) bool {
	m := definitionRE.FindStringSubmatch(s)
	if m == nil || !definable(m[1]) {
		return false
	}
	subject, verb, predicate := m[1], m[2], m[4]
	r.subject = subject
	asked := subject
	if rest, ok := strings.CutPrefix(subject, "The "); ok {
		asked = "the " + rest
	}
	r.add(KindDefinition, "What "+verb+" "+asked+"?", clip(s, r.g.MaxAnswer))

	class, clause, ok := strings.Cut(predicate, " with ")
	if !ok {
		return true
	}
	var facts [][2]string
	for _, part := range clauseSplit.Split(clause, -1) {
		f := strings.Fields(part)
		if len(f) < 2 {
			return true
		}
		attr, value := strings.Join(f[:len(f)-1], " "), f[len(f)-1]
		if !attrRE.MatchString(attr) || !identifier(value) {
			return true
		}
		facts = append(facts, [2]string{attr, value})
	}
	for _, f := range facts {
		r.add(KindFact, "What is the "+f[0]+" of "+subject+"?", f[1])
		r.add(KindReverse, "Which "+class+" has the "+f[0]+" "+f[1]+"?", subject)
	}
	return true
}

// prepositions start phrases that are never a defined term ("Of
// particular note is …").
var prepositions = map[string]bool{"of": true, "in": true, "on": true, "for": true, "with": true,
	"at": true, "by": true, "from": true, "to": true, "after": true, "before": true, "under": true,
	"over": true, "about": true, "during": true, "without": true, "within": true, "between": true}

// definable reports whether a sentence's subject names a thing worth a
// "What is X?": not a pronoun, and not a common noun phrase ("A second
// effort", "The answer"); an article must be followed by a capital.
func definable(subject string) bool {
	f := strings.Fields(subject)
	first := strings.ToLower(f[0])
	switch {
	case pronouns[first] || prepositions[first]:
		return false
	case first == "a" || first == "an":
		return false
	case strings.ContainsAny(subject, "()[]\"“”"):
		return false // a fragment of a parenthesis or quotation
	case len(f) > 1 && strings.HasSuffix(first, "ing"):
		return false // an activity ("Choosing the proper …"), not a thing
	case first == "the":
		return len(f) > 1 && isCapitalised(f[1])
	}
	return true
}

// identifier reports whether v can be the value of a "with" clause part:
// a number, or a short code such as a symbol.
func identifier(v string) bool {
	if numberRE.MatchString(v) {
		return true
	}
	return len(v) <= 4 && unicode.IsUpper(rune(v[0])) && strings.IndexFunc(v, func(r rune) bool {
		return !unicode.IsLetter(r)
	}) < 0
}

// itsFact makes "What is the A of X?" from "Its A is V." about the current
// subject. It reports whether s was such a sentence.
func (r *reader) itsFact(s string) bool {
	m := itsRE.FindStringSubmatch(s)
	if m == nil || r.subject == "" || len(strings.Fields(m[2])) > 6 {
		return false
	}
	r.add(KindFact, "What is the "+m[1]+" of "+r.subject+"?", m[2])
	return true
}

var (
	kvLine = regexp.MustCompile(`^([A-Za-z][\w'’/-]*(?: [\w'’/-]+){0,3}(?: \([^)]{1,40}\))?):\s+(\S.*)$`)
	parens = regexp.MustCompile(`\s*\([^)]*\)`)
)

// notKeys are words that start "Word: text" lines without naming a field.
var notKeys = map[string]bool{"note": true, "warning": true, "example": true, "see": true,
	"tip": true, "important": true, "caution": true, "hint": true, "for": true, "to": true,
	"if": true, "when": true, "in": true, "on": true, "the": true, "this": true, "and": true,
	"or": true, "but": true, "so": true, "it": true, "as": true, "also": true, "then": true,
	"http": true, "https": true, "ftp": true, "mailto": true, "question": true, "answer": true,
	"q": true, "a": true, "re": true, "subject": true, "from": true}

// nameKeys are field names that name the record they belong to.
var nameKeys = map[string]bool{"name": true, "title": true, "term": true, "element": true, "product": true}

// keyValue reads a "Key: value" line. A short value is a fact about the
// current subject; a long one defines the key. A "question: …" line
// followed by an "answer: …" line is a ready-made pair.
func (r *reader) keyValue(line string, lines []string, i int) {
	m := kvLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	key, value := strings.TrimSpace(parens.ReplaceAllString(m[1], "")), strings.TrimSpace(m[2])
	if strings.EqualFold(key, "question") && i+1 < len(lines) {
		if a, ok := strings.CutPrefix(strings.TrimSpace(lines[i+1]), "answer: "); ok {
			r.add(KindFAQ, value, a)
		}
		return
	}
	if notKeys[strings.ToLower(strings.Fields(key)[0])] {
		return
	}
	// A record's name field says what the fields after it are about.
	if nameKeys[strings.ToLower(key)] && len(strings.Fields(value)) <= 6 {
		r.subject = value
		return
	}
	if words := len(strings.Fields(value)); words <= 8 && len(value) <= 60 {
		// A fact needs a subject that is a name, not a question heading,
		// a short field name and a value that is not a command line.
		if r.subject != "" && !strings.HasSuffix(r.subject, "?") && !strings.EqualFold(key, r.subject) &&
			len(strings.Fields(key)) <= 3 && !strings.ContainsAny(value, "`$") && !strings.Contains(value, "--") {
			r.add(KindFact, "What is the "+fieldName(key)+" of "+r.subject+"?", strings.TrimRight(value, "."))
		}
		return
	}
	if unicode.IsUpper(rune(key[0])) {
		r.add(KindDefinition, "What is "+key+"?", clip(value, r.g.MaxAnswer))
	}
}

// fieldName lower-cases a one-word capitalised field name ("Symbol" →
// "symbol") and leaves acronyms and longer names as they are.
func fieldName(key string) string {
	if strings.Contains(key, " ") || strings.ToUpper(key) == key {
		return key
	}
	return strings.ToLower(key[:1]) + key[1:]
}

func isListItem(line string) bool {
	return strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "* ") || strings.HasPrefix(line, "+ ")
}

func listText(line string) string { return strings.TrimSpace(line[2:]) }

// table makes "What is the <column> of <first cell>?" for each cell of each
// body row of a Markdown table.
func (r *reader) table(rows []string) {
	var header []string
	for _, row := range rows {
		cells := splitRow(row)
		if isRule(cells) {
			continue
		}
		if header == nil {
			header = cells
			continue
		}
		if len(cells) == 0 || cells[0] == "" {
			continue
		}
		for j := 1; j < len(cells) && j < len(header); j++ {
			if header[j] != "" && cells[j] != "" && len(strings.Fields(cells[j])) <= 12 {
				r.add(KindTable, "What is the "+fieldName(header[j])+" of "+cells[0]+"?", cells[j])
			}
		}
	}
}

// splitRow returns the trimmed cells of "| a | b |", honouring "\|".
func splitRow(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	row = strings.ReplaceAll(row, `\|`, "\x00")
	var cells []string
	for c := range strings.SplitSeq(row, "|") {
		cells = append(cells, strings.TrimSpace(strings.ReplaceAll(c, "\x00", "|")))
	}
	return cells
}

func isRule(cells []string) bool {
	for _, c := range cells {
		if strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return len(cells) > 0
}
