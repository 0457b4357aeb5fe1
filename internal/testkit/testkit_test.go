package testkit_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// TestBufferConcurrentUse is meant for -race: writers and a reader at once.
func TestBufferConcurrentUse(t *testing.T) {
	t.Parallel()
	var b testkit.Buffer
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "w%d-%d\n", i, j)
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 400 {
		t.Fatalf("%d lines, want 400", n)
	}
	snap := b.Bytes()
	fmt.Fprint(&b, "later")
	if strings.Contains(string(snap), "later") || len(snap) == len(b.Bytes()) {
		t.Fatal("Bytes is not a snapshot: a later write changed it")
	}
}

func TestJetStreamAndSandbox(t *testing.T) {
	t.Parallel()
	s, top := testkit.JetStream(t)
	if _, err := s.JS.Stream(t.Context(), top.EventsStream()); err != nil {
		t.Fatalf("omq's streams were not applied: %v", err)
	}
	sb, api := testkit.Sandbox(t, sandbox.Config{RateLimit: -1})
	if _, err := api.Milestones(t.Context(), "no-such-transaction"); err == nil {
		t.Fatal("the client reached no sandbox, or the sandbox knew an unknown transaction")
	}
	if len(sb.Requests()) != 1 {
		t.Fatalf("the sandbox saw %d requests, want the client's 1", len(sb.Requests()))
	}
}
