package deadletter_test

import (
	"slices"
	"testing"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/failure"
)

// TestKindsAreTheFailureKinds: the filter accepts exactly the names the
// workers write, failure.Kind.String's and KindExhausted.
func TestKindsAreTheFailureKinds(t *testing.T) {
	t.Parallel()
	want := []string{"permanent", "transient", "throttled", "systemic", deadletter.KindExhausted}
	if !slices.Equal(deadletter.Kinds, want) {
		t.Fatalf("Kinds = %v, want %v", deadletter.Kinds, want)
	}
	for _, k := range deadletter.Kinds[:len(deadletter.Kinds)-1] {
		if parsed, ok := failure.ParseKind(k); !ok || parsed.String() != k {
			t.Errorf("Kinds has %q, which is not a failure.Kind name", k)
		}
	}
}
