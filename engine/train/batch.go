package train

import "fmt"

// IgnoreLabel marks a position that does not count in the loss, as in
// Hugging Face's causal-LM convention.
const IgnoreLabel = -100

// Example is one training example: token ids and, for each position, the
// label that position carries in Hugging Face's convention: labels[t] is
// the token at t itself (the model learns to predict it from the tokens
// before t), or IgnoreLabel where it must not count. Document text labels
// every token; a chat example labels only the assistant's tokens.
type Example struct {
	Tokens []int32
	Labels []int32
}

// Validate reports whether e is usable with a vocabulary of vocab tokens.
func (e Example) Validate(vocab int) error {
	if len(e.Tokens) == 0 {
		return fmt.Errorf("empty example")
	}
	if len(e.Labels) != len(e.Tokens) {
		return fmt.Errorf("%d labels for %d tokens", len(e.Labels), len(e.Tokens))
	}
	for i, t := range e.Tokens {
		if t < 0 || int(t) >= vocab {
			return fmt.Errorf("token %d at position %d is outside the vocabulary of %d", t, i, vocab)
		}
		if l := e.Labels[i]; l != IgnoreLabel && (l < 0 || int(l) >= vocab) {
			return fmt.Errorf("label %d at position %d is outside the vocabulary of %d", l, i, vocab)
		}
	}
	return nil
}

// trainable reports the number of positions of e that count in the loss
// after the causal shift (every label but the first).
func (e Example) trainable() int {
	n := 0
	for _, l := range e.Labels[min(1, len(e.Labels)):] {
		if l != IgnoreLabel {
			n++
		}
	}
	return n
}

// Batch is B rows of T positions, ready for the training forward. Several
// examples may be packed into one row: each keeps its own segment, its
// position ids restart at 0, and attention never crosses from one segment
// into another, so a packed example computes exactly what it would alone.
// Unused positions at the end of a row are padding: a segment of their own
// with no targets.
type Batch struct {
	B, T    int
	Tokens  []int32 // [B*T]
	Targets []int32 // [B*T]: the token position t must predict (the label at t+1 of its example), or IgnoreLabel
	Pos     []int32 // [B*T]: position id within the example
	Start   []int32 // [B*T]: index within the row of the first position of its segment
}

// NewBatch returns an empty batch of b rows of t positions, all padding.
func NewBatch(b, t int) *Batch {
	n := b * t
	bt := &Batch{B: b, T: t, Tokens: make([]int32, n), Targets: make([]int32, n),
		Pos: make([]int32, n), Start: make([]int32, n)}
	for i := range bt.Targets {
		bt.Targets[i] = IgnoreLabel
	}
	return bt
}

// Place writes example e into row r starting at column c (it must fit) and
// returns the column after it.
func (bt *Batch) Place(r, c int, e Example) int {
	n := len(e.Tokens)
	if c+n > bt.T {
		panic(fmt.Sprintf("train: example of %d tokens does not fit at %d in a row of %d", n, c, bt.T))
	}
	off := r * bt.T
	for i := range n {
		p := off + c + i
		bt.Tokens[p] = e.Tokens[i]
		bt.Pos[p] = int32(i)
		bt.Start[p] = int32(c)
		bt.Targets[p] = IgnoreLabel
		if i+1 < n {
			bt.Targets[p] = e.Labels[i+1]
		}
	}
	return c + n
}

// closePadding makes the positions of row r from column c on a padding
// segment: they attend only among themselves and predict nothing.
func (bt *Batch) closePadding(r, c int) {
	off := r * bt.T
	for i := c; i < bt.T; i++ {
		bt.Pos[off+i] = int32(i - c)
		bt.Start[off+i] = int32(c)
		bt.Targets[off+i] = IgnoreLabel
	}
}

// NumTargets returns the number of positions of bt that count in the loss.
func (bt *Batch) NumTargets() int {
	n := 0
	for _, t := range bt.Targets {
		if t != IgnoreLabel {
			n++
		}
	}
	return n
}

// Pack lays examples out in rows of t positions, in order, several to a row
// while they fit, and groups the rows into batches of b rows. An example
// longer than t is cut to its first t tokens. With pack false every example
// gets a row of its own (padding only). The last batch may have fewer rows.
func Pack(examples []Example, b, t int, pack bool) []*Batch {
	rows := packRows(examples, t, pack)
	var batches []*Batch
	for i := 0; i < len(rows); i += b {
		batches = append(batches, batchOf(rows[i:min(i+b, len(rows))], t))
	}
	return batches
}

// packRows assigns examples, in order, to rows of t positions.
func packRows(examples []Example, t int, pack bool) [][]Example {
	var rows [][]Example
	used := t // forces a new row first
	for _, e := range examples {
		if len(e.Tokens) > t {
			e = Example{Tokens: e.Tokens[:t], Labels: e.Labels[:t]}
		}
		if !pack || used+len(e.Tokens) > t {
			rows = append(rows, nil)
			used = 0
		}
		rows[len(rows)-1] = append(rows[len(rows)-1], e)
		used += len(e.Tokens)
	}
	return rows
}

// batchOf lays rows out as a batch of len(rows) rows of t positions.
func batchOf(rows [][]Example, t int) *Batch {
	bt := NewBatch(len(rows), t)
	for r, es := range rows {
		c := 0
		for _, e := range es {
			c = bt.Place(r, c, e)
		}
		if c < t {
			bt.closePadding(r, c)
		}
	}
	return bt
}
