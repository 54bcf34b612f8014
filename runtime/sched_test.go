package runtime

import (
	"context"
	"errors"
	"testing"

	"attune"
)

// TestSchedulerRoundRobin fills the one slot, queues three requests of key
// a and one of key b, and checks that b is served second, not last.
func TestSchedulerRoundRobin(t *testing.T) {
	s := newScheduler(1, 10)
	queued := make(chan string)
	s.queued = queued
	ctx := context.Background()
	hold, err := s.acquire(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}

	type grant struct {
		name    string
		release func()
	}
	got := make(chan grant)
	queue := func(key, name string) {
		go func() {
			rel, err := s.acquire(ctx, key)
			if err != nil {
				t.Error(err)
				return
			}
			got <- grant{name, rel}
		}()
		<-queued
	}
	queue("a", "a1")
	queue("a", "a2")
	queue("a", "a3")
	queue("b", "b1")

	hold()
	var order []string
	for range 4 {
		g := <-got
		order = append(order, g.name)
		g.release()
	}
	want := []string{"a1", "b1", "a2", "a3"}
	if len(order) != len(want) {
		t.Fatalf("order = %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order = %v, want %v", order, want)
		}
	}
}

func TestSchedulerQueueFull(t *testing.T) {
	s := newScheduler(1, 0)
	rel, err := s.acquire(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	_, err = s.acquire(context.Background(), "b")
	if got, want := attune.ErrorKind(err), attune.KindUnavailable; got != want {
		t.Fatalf("kind = %v, want %v (err %v)", got, want, err)
	}
}

// TestSchedulerCancel checks that a waiter whose context ends leaves the
// queue and that the slot still reaches the next waiter.
func TestSchedulerCancel(t *testing.T) {
	s := newScheduler(1, 10)
	queued := make(chan string)
	s.queued = queued
	hold, _ := s.acquire(context.Background(), "a")

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.acquire(ctx, "a")
		errc <- err
	}()
	<-queued
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := s.depth(); got != 0 {
		t.Fatalf("depth after cancel = %d, want 0", got)
	}

	hold()
	rel, err := s.acquire(context.Background(), "b")
	if err != nil {
		t.Fatalf("acquire after cancel: %v", err)
	}
	rel()
}
