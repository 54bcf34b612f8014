package synth

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"attune/ingest"
)

// blank stands for the term a cloze question hides.
const blank = "_____"

// cloze blanks the most salient term of a sentence of 8 to 40 words: a run
// of capitalised words not at the start (a name), else a number of two or
// more digits, else a capitalised word of four letters or more; terms
// common across the documents are not salient. It reports whether it made
// a question.
func (r *reader) cloze(s string) bool {
	s = strings.Join(strings.Fields(parenURL.ReplaceAllString(s, "")), " ")
	words := strings.Fields(s)
	if len(words) < 8 || len(words) > 40 || strings.Contains(s, blank) {
		return false
	}
	term := salientTerm(words, r.common, r.subject)
	if term == "" {
		return false
	}
	// Blank the term where it stands as whole words, not inside another
	// word ("Java" in "JavaScript").
	i := wordIndex(s, term)
	if i < 0 {
		return false
	}
	r.add(KindCloze, "Fill in the blank: "+s[:i]+blank+s[i+len(term):], term)
	return true
}

// wordIndex returns the offset of the first occurrence of term in s that
// is not inside a longer word, or -1.
func wordIndex(s, term string) int {
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], term)
		if i < 0 {
			return -1
		}
		i += from
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+len(term):])
		if (i == 0 || !isWord(before)) && (i+len(term) == len(s) || !isWord(after)) {
			return i
		}
		from = i + 1
	}
	return -1
}

// parenURL matches a parenthesised link, which only makes a cloze question
// long and noisy.
var parenURL = regexp.MustCompile(`\s*\((?:https?|ftp)://[^)\s]*\)`)

// notTerms are capitalised words that are never salient: question words
// starting a quoted title, references.
var notTerms = map[string]bool{"the": true, "this": true, "that": true, "what": true, "what's": true,
	"how": true, "why": true, "when": true, "where": true, "which": true, "who": true, "see": true,
	"section": true, "chapter": true, "note": true, "also": true, "for": true, "if": true, "and": true}

// plainWord reports whether a word has nothing glued before it but an
// opening quote or parenthesis, so that blanking its term leaves no stray
// characters ("/README.txt", "#746578" are not plain).
func plainWord(w string) bool {
	lead := strings.TrimLeftFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	return strings.Trim(w[:len(w)-len(lead)], "(\"“'‘") == ""
}

// salientTerm picks the term to blank from a sentence's words, or "".
func salientTerm(words []string, common map[string]bool, subject string) string {
	var name, number, word string
	for i := 1; i < len(words); i++ {
		w := trimPunct(words[i])
		switch {
		case w == "" || common[strings.ToLower(w)] || strings.EqualFold(w, subject) ||
			notTerms[strings.ToLower(w)] || !plainWord(words[i]):
		case isCapitalised(w):
			j := i + 1
			run := []string{w}
			for j < len(words) && len(run) < 4 && !endsClause(words[j-1]) {
				next := trimPunct(words[j])
				if !isCapitalised(next) || common[strings.ToLower(next)] {
					break
				}
				run = append(run, next)
				j++
			}
			if len(run) > 1 && name == "" {
				name = strings.Join(run, " ")
			} else if len(run) == 1 && word == "" && len(w) >= 4 {
				word = w
			}
			i = j - 1
		case number == "" && len(w) >= 2 && strings.IndexFunc(w, func(r rune) bool { return !unicode.IsDigit(r) }) < 0:
			number = w
		}
	}
	for _, t := range []string{name, number, word} {
		if t != "" {
			return t
		}
	}
	return ""
}

func isCapitalised(w string) bool {
	for _, r := range w {
		return unicode.IsUpper(r)
	}
	return false
}

func endsClause(w string) bool { return strings.ContainsAny(w[len(w)-1:], ",;:.") }

// trimPunct strips punctuation around a word, keeping inner marks
// ("GNU/Linux", "3.14").
func trimPunct(w string) string {
	return strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// commonTerms returns the lower-cased words that occur in more than a fifth
// of the documents (when there are at least five), or in every chunk of a
// single small collection: words that identify nothing.
func commonTerms(chunks []ingest.Chunk) map[string]bool {
	docs := map[string]map[string]bool{}
	for _, c := range chunks {
		seen := docs[c.DocumentID]
		if seen == nil {
			seen = map[string]bool{}
			docs[c.DocumentID] = seen
		}
		for _, w := range strings.Fields(c.Text) {
			seen[strings.ToLower(trimPunct(w))] = true
		}
	}
	df := map[string]int{}
	for _, seen := range docs {
		for w := range seen {
			df[w]++
		}
	}
	common := map[string]bool{}
	limit := max(len(docs)/5, 1)
	if len(docs) < 5 {
		limit = len(docs)
	}
	for w, n := range df {
		if n > limit || len(docs) >= 5 && n == len(docs) {
			common[w] = true
		}
	}
	return common
}

// dedupe keeps the first pair of each normalised question.
func dedupe(pairs []Pair) []Pair {
	seen := map[string]bool{}
	out := pairs[:0:0]
	for _, p := range pairs {
		k := normalize(p.Question)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, p)
	}
	return out
}

// kindOrder is the order in which a document's kinds take turns; earlier
// kinds are the more reliable questions.
var kindOrder = []Kind{KindFAQ, KindFact, KindReverse, KindTable, KindDefinition, KindLLM, KindCloze}

// balance returns up to n pairs (all when n <= 0) taken from the documents
// in turn and, within a document, from its kinds in turn, each kind's pairs
// shuffled by seed.
func balance(pairs []Pair, n int, seed uint64) []Pair {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	// Group by document (in order of first appearance), then by kind.
	var docOrder []string
	byDoc := map[string]map[Kind][]Pair{}
	for _, p := range pairs {
		if byDoc[p.DocumentID] == nil {
			byDoc[p.DocumentID] = map[Kind][]Pair{}
			docOrder = append(docOrder, p.DocumentID)
		}
		byDoc[p.DocumentID][p.Kind] = append(byDoc[p.DocumentID][p.Kind], p)
	}

	// Each document's queue alternates its kinds.
	queues := make([][]Pair, len(docOrder))
	for i, d := range docOrder {
		var lists [][]Pair
		for _, k := range kindOrder {
			l := byDoc[d][k]
			rng.Shuffle(len(l), func(a, b int) { l[a], l[b] = l[b], l[a] })
			if len(l) > 0 {
				lists = append(lists, l)
			}
		}
		queues[i] = interleave(lists)
	}

	if n <= 0 || n > len(pairs) {
		n = len(pairs)
	}
	out := make([]Pair, 0, n)
	for len(out) < n {
		for i := range queues {
			if len(queues[i]) > 0 && len(out) < n {
				out = append(out, queues[i][0])
				queues[i] = queues[i][1:]
			}
		}
	}
	return out
}

// interleave takes one element from each list in turn until all are empty.
func interleave(lists [][]Pair) []Pair {
	var out []Pair
	for more := true; more; {
		more = false
		for i := range lists {
			if len(lists[i]) > 0 {
				out = append(out, lists[i][0])
				lists[i] = lists[i][1:]
				more = true
			}
		}
	}
	return out
}
