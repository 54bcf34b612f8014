package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// A progressBar shows the progress of one piece of work. On a terminal it
// redraws a bar in place; elsewhere it prints a plain line whenever the
// stage changes or another tenth of the work is done, so that logs stay
// short and scripts can read them.
type progressBar struct {
	w     io.Writer
	tty   bool
	width int
	label string

	now       func() time.Time
	lastDraw  time.Time
	lastStage string
	lastTenth int
	drawn     bool
}

// newProgressBar returns a bar labelled label writing to w.
func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{
		w: w, tty: isTerminal(w), width: termWidth(w), label: label,
		now: time.Now, lastTenth: -1,
	}
}

// update shows frac (0..1, or negative when unknown) of the work done in
// stage, with detail (loss, ETA, bytes) after it.
func (b *progressBar) update(stage string, frac float64, detail string) {
	if b.tty {
		b.draw(stage, frac, detail, false)
		return
	}
	tenth := int(math.Floor(frac * 10))
	if stage == b.lastStage && tenth == b.lastTenth {
		return
	}
	b.lastStage, b.lastTenth = stage, tenth
	fmt.Fprintln(b.w, b.line(stage, frac, detail))
}

// done shows the final state and ends the bar's line.
func (b *progressBar) done(stage string, detail string) {
	if b.tty {
		b.draw(stage, 1, detail, true)
		fmt.Fprintln(b.w)
		return
	}
	fmt.Fprintln(b.w, b.line(stage, 1, detail))
}

// end closes a bar that stops short of the whole, as a stage of a longer
// pipeline does: on a terminal its last state stays on screen; elsewhere the
// line already printed says it, and nothing more is written.
func (b *progressBar) end(stage string, frac float64, detail string) {
	if b.tty {
		b.draw(stage, frac, detail, true)
		fmt.Fprintln(b.w)
	}
}

// draw redraws the bar in place, at most ten times a second unless force.
func (b *progressBar) draw(stage string, frac float64, detail string, force bool) {
	now := b.now()
	if !force && b.drawn && now.Sub(b.lastDraw) < 100*time.Millisecond {
		return
	}
	b.lastDraw, b.drawn = now, true
	text := b.line(stage, frac, "")
	room := b.width - len([]rune(text)) - len([]rune(detail)) - 4
	bar := ""
	if room >= 10 {
		room = min(room, 40)
		bar = " " + barText(frac, room)
	}
	line := text + bar + "  " + detail
	if r := []rune(line); len(r) > b.width-1 {
		line = string(r[:b.width-1])
	}
	fmt.Fprintf(b.w, "\r%s\x1b[K", line)
}

// line is the bar's text without the bar: label, stage and percentage.
func (b *progressBar) line(stage string, frac float64, detail string) string {
	var s strings.Builder
	s.WriteString(b.label)
	if stage != "" {
		s.WriteString(" " + stage)
	}
	if frac >= 0 {
		fmt.Fprintf(&s, " %3.0f%%", math.Min(frac, 1)*100)
	}
	if detail != "" {
		s.WriteString("  " + detail)
	}
	return s.String()
}

// barText draws frac of width cells filled.
func barText(frac float64, width int) string {
	if frac < 0 {
		return "[" + strings.Repeat("·", width) + "]"
	}
	n := int(math.Round(math.Min(frac, 1) * float64(width)))
	return "[" + strings.Repeat("█", n) + strings.Repeat("·", width-n) + "]"
}

// formatBytes writes a byte count for people: 9.3 MB.
func formatBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// formatETA writes a remaining duration for people: 4m12s, 38s.
func formatETA(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	if d >= time.Hour {
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	if d >= time.Minute {
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// secondsDuration converts seconds on the wire to a Duration.
func secondsDuration(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}
