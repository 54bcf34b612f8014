package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"attune/client"
)

func TestProgressBarPlain(t *testing.T) {
	var out bytes.Buffer
	b := newProgressBar(&out, "align")
	for i := 0; i <= 100; i++ {
		stage := "training"
		if i > 80 {
			stage = "evaluating"
		}
		b.update(stage, float64(i)/100, "loss 1.23")
	}
	b.done("ready", "")
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"align training   0%  loss 1.23", "align training  10%  loss 1.23",
		"align training  20%  loss 1.23", "align training  30%  loss 1.23",
		"align training  40%  loss 1.23", "align training  50%  loss 1.23",
		"align training  60%  loss 1.23", "align training  70%  loss 1.23",
		"align training  80%  loss 1.23", "align evaluating  81%  loss 1.23",
		"align evaluating  90%  loss 1.23", "align evaluating 100%  loss 1.23",
		"align ready 100%",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestProgressBarTerminal(t *testing.T) {
	var out bytes.Buffer
	b := newProgressBar(&out, "pull")
	b.tty, b.width = true, 60
	now := time.Unix(0, 0)
	b.now = func() time.Time { return now }
	b.update("", 0.5, "5 MB")
	b.update("", 0.6, "6 MB") // within 100 ms: not drawn
	now = now.Add(time.Second)
	b.update("", 0.7, "7 MB")
	b.done("", "10 MB")
	frames := strings.Split(out.String(), "\r")[1:]
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3: %q", len(frames), out.String())
	}
	for i, want := range []string{"pull  50% [", "pull  70% [", "pull 100% ["} {
		if !strings.HasPrefix(frames[i], want) {
			t.Errorf("frame %d = %q, want prefix %q", i, frames[i], want)
		}
		if n := len([]rune(strings.TrimSuffix(strings.TrimSuffix(frames[i], "\n"), "\x1b[K"))); n > 59 {
			t.Errorf("frame %d is %d wide, over the terminal's 60", i, n)
		}
	}
	if !strings.HasSuffix(out.String(), "10 MB\x1b[K\n") {
		t.Errorf("last frame %q does not end the line", frames[2])
	}
}

func TestFormat(t *testing.T) {
	tests := []struct{ got, want string }{
		{formatBytes(999), "999 B"},
		{formatBytes(9764080), "9.8 MB"},
		{formatBytes(988_000_000), "988.0 MB"},
		{formatETA(38 * time.Second), "38s"},
		{formatETA(252 * time.Second), "4m12s"},
		{formatETA(3*time.Hour + 5*time.Minute), "3h05m"},
		{formatETA(-time.Second), "0s"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestAlignProgressPlain(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	status := func(status, stage string, progress float64, step int, loss float64, eta time.Duration) *client.AlignmentStatus {
		st := &client.AlignmentStatus{Status: status}
		st.Data = client.Alignment{Status: status, Stage: stage, Progress: progress,
			Training: &client.TrainingState{Step: step, TotalSteps: 4, Loss: loss}}
		if eta > 0 {
			st.Data.EstimatedCompletion = client.Time{Time: now.Add(eta)}
		}
		return st
	}
	var out bytes.Buffer
	p := &alignProgress{w: &out, now: func() time.Time { return now }}
	for _, st := range []*client.AlignmentStatus{
		status("QUEUED", "queued", 0, 0, 0, 0),
		status("PROCESSING", "training", 10, 0, 0, 0),
		status("PROCESSING", "training", 12, 0, 0, 0), // same tenth: no line
		status("PROCESSING", "training", 32, 1, 11.94, 18*time.Second),
		status("EVALUATING", "evaluation", 85, 4, 11.93, 5*time.Second),
		status("PROCESSING", "done", 100, 4, 11.93, 0),
	} {
		p.show(st)
	}
	p.finish(status("READY", "done", 100, 4, 11.93, 0))
	want := `align queued   0%
align training  10%
align training  32%  step 1/4  loss 11.9400  ETA 18s
align evaluation  85%  ETA 5s
align ready 100%  4 steps, final loss 11.9300
`
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
