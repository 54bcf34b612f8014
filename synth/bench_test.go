package synth

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkExtractive generates every pair of the Debian FAQ corpus.
func BenchmarkExtractive(b *testing.B) {
	chunks := loadCorpus(b, "debian-faq")
	b.ResetTimer()
	for b.Loop() {
		if _, err := (Extractive{Seed: 1}).Generate(context.Background(), chunks, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildTrainingSet builds the Debian FAQ training set against a
// benchmark of its 147 questions plus 2000 others, to show that the
// overlap guard does not grow with the benchmark.
func BenchmarkBuildTrainingSet(b *testing.B) {
	chunks := loadCorpus(b, "debian-faq")
	pairs, _ := Extractive{Seed: 1}.Generate(context.Background(), chunks, 0)
	var bench []string
	for _, g := range loadGold(b, "debian-faq") {
		bench = append(bench, g.Question)
	}
	for i := range 2000 {
		bench = append(bench, fmt.Sprintf("What is the value of item %d in list %d?", i, i%7))
	}
	b.ResetTimer()
	for b.Loop() {
		BuildTrainingSet(chunks, pairs, bench, TrainingOptions{Seed: 1})
	}
}
