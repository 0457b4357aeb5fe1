package imports

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A request that gets no answer ends at the caller's NATS timeout even
// when the import's own context has none left to give (omq import's is
// ten minutes), and says that NATS did not answer, after what it was.
func TestCallHasItsOwnDeadlineAndNamesTheCause(t *testing.T) {
	t.Parallel()
	_, err := call(t.Context(), 50*time.Millisecond, "line 7: read the ledger", func(ctx context.Context) (struct{}, error) {
		<-ctx.Done()
		return struct{}{}, ctx.Err()
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "line 7: read the ledger: NATS did not answer in time")
}
