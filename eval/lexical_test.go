package eval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// long is a 40-word reference answer.
var long = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " +
	"sixteen seventeen eighteen nineteen twenty twentyone twentytwo twentythree twentyfour " +
	"twentyfive twentysix twentyseven twentyeight twentynine thirty thirtyone thirtytwo " +
	"thirtythree thirtyfour thirtyfive thirtysix thirtyseven thirtyeight thirtynine forty"

func TestLexical(t *testing.T) {
	tests := []struct {
		name      string
		ref       Reference
		answer    string
		correct   bool
		relevance float64
	}{
		{"exact", Reference{Answer: "Fe"}, "Fe", true, 1},
		{"case and punctuation", Reference{Answer: "Fe"}, " fe. ", true, 1},
		{"articles ignored", Reference{Answer: "The Debian Project"}, "debian project", true, 1},
		{"accepted alternative", Reference{Answer: "Aluminum", Accept: []string{"aluminium"}}, "Aluminium", true, 1},
		{"contained in a sentence", Reference{Answer: "Fe"}, "The chemical symbol of iron is Fe.", true, 2.0 / 7},
		{"not a substring of a word", Reference{Answer: "H"}, "The symbol is He.", false, 0},
		{"wrong symbol", Reference{Answer: "Fe"}, "Au", false, 0},
		{"number within 0.5%", Reference{Answer: "6.939"}, "about 6.94", true, 2.0 / 3},
		{"number outside 0.5%", Reference{Answer: "1.0079"}, "1.2", false, 0},
		{"different integer", Reference{Answer: "26"}, "The atomic number is 27.", false, 0},
		{"short number is not part of a longer one", Reference{Answer: "8"}, "Element 18, found in 1988.", false, 0},
		{"short number is a token of its own", Reference{Answer: "8"}, "It has 8 protons.", true, 0.4},
		{"whole number written as a decimal", Reference{Answer: "8"}, "8.0", true, 1},
		{"whole number is not a nearby decimal", Reference{Answer: "8"}, "8.02", false, 0},
		{"a year is not a nearby year", Reference{Answer: "1988"}, "It was 1990.", false, 0},
		{"short reference needs containment, not overlap", Reference{Answer: "oxygen gas"}, "nitrogen gas", false, 0.5},
		{"a prose reference's number must be there", Reference{Answer: "Debian 8 was released in 2015"}, "Debian 9 was released in 2015", false, 5.0 / 6},
		{"thousands separator", Reference{Answer: "59100"}, "59,100 packages", true, 2.0 / 3},
		{"paraphrase above F1 0.5", Reference{Answer: "dpkg installs and removes packages"}, "dpkg removes and installs packages", true, 1},
		{"unrelated prose", Reference{Answer: "dpkg installs packages"}, "apt downloads files", false, 0},
		{"empty answer", Reference{Answer: "Fe"}, "", false, 0},
		{"nan is not a number", Reference{Answer: "5"}, "NaN", false, 0},
		{"long excerpt of a long reference", Reference{Answer: long}, strings.Join(strings.Fields(long)[:12], " "), true, 24.0 / 52},
		{"short excerpt of a long reference", Reference{Answer: long}, strings.Join(strings.Fields(long)[:11], " "), false, 22.0 / 51},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Lexical{}.Judge(context.Background(), "q", tt.ref, tt.answer)
			if err != nil {
				t.Fatal(err)
			}
			if v.Correct != tt.correct || math.Abs(v.Relevance-tt.relevance) > 1e-9 {
				t.Errorf("got correct=%v relevance=%v (%s), want %v %v (±1e-9)", v.Correct, v.Relevance, v.Reason, tt.correct, tt.relevance)
			}
		})
	}
}

type goldItem struct {
	Kind     string   `json:"kind"`
	Question string   `json:"question"`
	Answer   string   `json:"answer"`
	Accept   []string `json:"accept"`
}

func loadGold(t *testing.T, corpus string) []goldItem {
	t.Helper()
	data, err := os.ReadFile("../testdata/corpora/" + corpus + "/qa_full.json")
	if err != nil {
		t.Fatal(err)
	}
	var items []goldItem
	if err := json.Unmarshal(data, &items); err != nil {
		t.Fatal(err)
	}
	return items
}

// TestLexicalAgreesWithGold judges the gold answers themselves (every
// accepted string, and the answer inside a sentence) as correct, and
// another question's answer as wrong, on both corpora.
func TestLexicalAgreesWithGold(t *testing.T) {
	ctx := context.Background()
	judge := Lexical{}
	for _, corpus := range []string{"dict-elements", "debian-faq"} {
		items := loadGold(t, corpus)
		accepted, rejected, cases := 0, 0, 0
		for i, it := range items {
			ref := Reference{Answer: it.Answer, Accept: it.Accept}
			right := append([]string{it.Answer, "The answer is " + it.Answer + "."}, it.Accept...)
			if w := strings.Fields(it.Answer); len(w) >= 40 {
				// A model that recites the first 20 words and stops.
				right = append(right, strings.Join(w[:20], " "))
			}
			for _, a := range right {
				cases++
				if v, _ := judge.Judge(ctx, it.Question, ref, a); v.Correct {
					accepted++
				} else {
					t.Errorf("%s: %q answered %q judged wrong", corpus, it.Question, a)
				}
			}
			wrong, ok := otherAnswer(items, i)
			if !ok {
				continue
			}
			if v, _ := judge.Judge(ctx, it.Question, ref, wrong); !v.Correct {
				rejected++
			} else {
				t.Logf("%s: %q answered %q (another question's answer) judged correct: %s", corpus, it.Question, wrong, v.Reason)
			}
		}
		t.Logf("%s: %d of %d right answers accepted, %d of %d wrong answers rejected", corpus, accepted, cases, rejected, len(items))
		if rejected < len(items)*98/100 {
			t.Errorf("%s: only %d of %d wrong answers rejected, want 98%%", corpus, rejected, len(items))
		}
	}
}

// otherAnswer returns the answer of the next item of the same kind that is
// a different answer: not accepted for item i and, for numbers, more than
// 1% away.
func otherAnswer(items []goldItem, i int) (string, bool) {
	it := items[i]
	for k := 1; k < len(items); k++ {
		o := items[(i+k)%len(items)]
		if o.Kind != it.Kind || o.Answer == it.Answer {
			continue
		}
		x, err1 := strconv.ParseFloat(o.Answer, 64)
		y, err2 := strconv.ParseFloat(it.Answer, 64)
		if err1 == nil && err2 == nil && math.Abs(x-y) <= 0.01*math.Abs(y) {
			continue
		}
		return o.Answer, true
	}
	return "", false
}
