package eval

import (
	"context"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Lexical is the default Judge: deterministic, needing no model. An answer
// is correct when, after normalisation (lower case, punctuation and the
// articles a/an/the removed, white space collapsed), any of these holds
// for the reference or one of its accepted alternatives:
//
//   - exact: the answer equals it;
//   - containment: it occurs in the answer as a whole run of words
//     ("The symbol is Fe." contains "Fe");
//   - number: it is a number and the answer holds the same number: equal
//     for a whole number ("8" is not "18", "8.5" or "1988", and the year
//     "1988" is not "1990"), within NumberTolerance relatively for a
//     decimal one ("6.94" for "6.939");
//   - overlap: it is prose (at least MinOverlapWords words), the token F1
//     between answer and reference reaches F1Threshold, and every number
//     of the reference is in the answer (for prose references a model
//     paraphrases; a short reference must be contained instead, so that
//     "nitrogen gas" does not pass for "oxygen gas", nor "atomic number
//     18" for "atomic number 8");
//   - excerpt: the answer is a run of at least MinExcerptWords words of the
//     reference, verbatim (a model that recites the start of a long answer
//     and stops at its length limit knows it; by chance so long a run does
//     not match).
//
// Relevance is 1 for an exact match and the best token F1 otherwise.
// Containment is lenient by design: an answer listing several candidates
// that include the reference is judged correct.
type Lexical struct {
	F1Threshold     float64 // default 0.5
	NumberTolerance float64 // relative; default 0.005 (0.5 %)
	MinExcerptWords int     // default 12
	MinOverlapWords int     // default 4
}

func (l Lexical) withDefaults() Lexical {
	if l.F1Threshold <= 0 {
		l.F1Threshold = 0.5
	}
	if l.NumberTolerance <= 0 {
		l.NumberTolerance = 0.005
	}
	if l.MinExcerptWords <= 0 {
		l.MinExcerptWords = 12
	}
	if l.MinOverlapWords <= 0 {
		l.MinOverlapWords = 4
	}
	return l
}

// Judge implements Judge; it never fails.
func (l Lexical) Judge(_ context.Context, _ string, ref Reference, answer string) (Verdict, error) {
	l = l.withDefaults()
	got := tokens(answer)
	v := Verdict{}
	for _, r := range append([]string{ref.Answer}, ref.Accept...) {
		want := tokens(r)
		if len(want) == 0 {
			continue
		}
		f1 := tokenF1(got, want)
		v.Relevance = max(v.Relevance, f1)
		switch {
		case equalTokens(got, want):
			return Verdict{Correct: true, Relevance: 1, Reason: "exact match"}, nil
		case containsRun(got, want):
			v.Correct, v.Reason = true, "answer contains the reference"
		case l.numberMatch(got, want):
			v.Correct, v.Reason = true, "same number within tolerance"
			v.Relevance = max(v.Relevance, tokenF1(l.sameNumber(got, want), want))
		case f1 >= l.F1Threshold && !v.Correct && len(want) >= l.MinOverlapWords && l.hasNumbers(got, want):
			v.Correct, v.Reason = true, "token overlap above threshold"
		case len(got) >= l.MinExcerptWords && containsRun(want, got) && !v.Correct:
			v.Correct, v.Reason = true, "answer is an excerpt of the reference"
		}
	}
	if !v.Correct {
		v.Reason = "answer does not match the reference"
	}
	return v, nil
}

// tokens returns the normalised words of s. Letters and digits make words;
// a '.' or ',' between digits stays inside a number ("1.0079").
func tokens(s string) []string {
	rs := []rune(strings.ToLower(s))
	var out []string
	var cur strings.Builder
	flush := func() {
		if w := cur.String(); w != "" && w != "a" && w != "an" && w != "the" {
			out = append(out, w)
		}
		cur.Reset()
	}
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			cur.WriteRune(r)
		case (r == '.' || r == ',') && i > 0 && i+1 < len(rs) && unicode.IsDigit(rs[i-1]) && unicode.IsDigit(rs[i+1]):
			if r == '.' {
				cur.WriteRune(r)
			} // a thousands separator is dropped
		default:
			flush()
		}
	}
	flush()
	return out
}

func equalTokens(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// containsRun reports whether want occurs in got as consecutive words.
func containsRun(got, want []string) bool {
	for i := 0; i+len(want) <= len(got); i++ {
		if equalTokens(got[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// tokenF1 is the harmonic mean of precision and recall of got's words
// against want's, counting repeated words as often as they repeat.
func tokenF1(got, want []string) float64 {
	if len(got) == 0 || len(want) == 0 {
		return 0
	}
	counts := map[string]int{}
	for _, w := range want {
		counts[w]++
	}
	common := 0
	for _, g := range got {
		if counts[g] > 0 {
			counts[g]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p, r := float64(common)/float64(len(got)), float64(common)/float64(len(want))
	return 2 * p * r / (p + r)
}

// numberMatch reports whether want is a single number and got holds the
// same number: equal to a whole number, within the relative tolerance of
// a decimal one.
func (l Lexical) numberMatch(got, want []string) bool {
	if len(want) != 1 {
		return false
	}
	w, ok := number(want[0])
	if !ok {
		return false
	}
	tol := l.NumberTolerance * math.Abs(w)
	if !strings.Contains(want[0], ".") {
		tol = 0 // a count, a year, an atomic number: nothing is close enough
	}
	for _, g := range got {
		if x, ok := number(g); ok && math.Abs(x-w) <= tol {
			return true
		}
	}
	return false
}

// hasNumbers reports whether every number among want's words is among
// got's (see numberMatch).
func (l Lexical) hasNumbers(got, want []string) bool {
	for _, w := range want {
		if _, ok := number(w); ok && !l.numberMatch(got, []string{w}) {
			return false
		}
	}
	return true
}

// sameNumber returns got with the numbers that match want's number
// written as want writes it, so that F1 counts them as the same word.
func (l Lexical) sameNumber(got, want []string) []string {
	out := append([]string(nil), got...)
	for i, g := range out {
		if l.numberMatch([]string{g}, want) {
			out[i] = want[0]
		}
	}
	return out
}

// number parses a token made only of digits and at most one '.'.
func number(tok string) (float64, bool) {
	if strings.Trim(tok, "0123456789.") != "" || strings.Count(tok, ".") > 1 {
		return 0, false
	}
	x, err := strconv.ParseFloat(tok, 64)
	return x, err == nil
}
