package eval

import (
	"context"
	"testing"
)

// FuzzLexical checks the judge's invariants on arbitrary strings: relevance
// in 0..1, an answer equal to the reference is correct with relevance 1,
// and the reference inside a sentence is correct.
func FuzzLexical(f *testing.F) {
	f.Add("Fe", "The symbol is Fe.")
	f.Add("6.939", "about 6.94")
	f.Add("59,100", "1e5 NaN inf")
	f.Fuzz(func(t *testing.T, ref, answer string) {
		ctx := context.Background()
		v, err := Lexical{}.Judge(ctx, "q", Reference{Answer: ref}, answer)
		if err != nil || v.Relevance < 0 || v.Relevance > 1 {
			t.Fatalf("Judge(%q, %q) = %+v, %v", ref, answer, v, err)
		}
		if len(tokens(ref)) == 0 {
			return
		}
		if v, _ := (Lexical{}).Judge(ctx, "q", Reference{Answer: ref}, ref); !v.Correct || v.Relevance != 1 {
			t.Fatalf("the reference %q judged against itself: %+v", ref, v)
		}
		if v, _ := (Lexical{}).Judge(ctx, "q", Reference{Answer: ref}, "I think: "+ref+"."); !v.Correct {
			t.Fatalf("the reference %q inside a sentence judged wrong: %+v", ref, v)
		}
	})
}

func FuzzParseVerdict(f *testing.F) {
	f.Add(`{"correct": true, "relevance": 0.5}`)
	f.Add(`x {"correct": false, "relevance": -3, "reason": 1} y`)
	f.Fuzz(func(t *testing.T, reply string) {
		v, err := parseVerdict(reply)
		if err == nil && (v.Relevance < 0 || v.Relevance > 1) {
			t.Fatalf("parseVerdict(%q) = %+v", reply, v)
		}
	})
}
