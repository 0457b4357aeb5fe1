package openmoove_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

func TestRetry(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	fast := openmoove.RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond}
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
		wantErr   bool
	}{
		{"transient then success", []error{failure.TransientError(boom), nil}, 2, false},
		{"throttled waits then success", []error{failure.ThrottledError(boom, 5*time.Millisecond), nil}, 2, false},
		{"permanent stops at once", []error{failure.PermanentError(boom)}, 1, true},
		{"systemic stops at once", []error{failure.SystemicError(boom)}, 1, true},
		{"attempts run out", []error{boom, boom, boom, boom, boom}, 4, true},
		{"throttled wait beyond MaxWait gives up", []error{failure.ThrottledError(boom, time.Hour)}, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := openmoove.RetryWith(t.Context(), fast, func(context.Context) error {
				err := tt.errs[calls]
				calls++
				return err
			})
			require.Equal(t, tt.wantCalls, calls)
			require.Equal(t, tt.wantErr, err != nil)
			if tt.wantErr {
				require.ErrorIs(t, err, boom)
			}
		})
	}
}

func TestRetryAgainstSandbox(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{RateLimit: 1, BurstLimit: 1, RateWindow: time.Second, BurstWindow: time.Second})
	_, err := b.client.Products(t.Context())
	require.NoError(t, err)
	// The second call is throttled; Retry waits the Retry-After (≤ 1s) and succeeds.
	calls := 0
	err = openmoove.Retry(t.Context(), func(ctx context.Context) error {
		calls++
		_, err := b.client.Products(ctx)
		return err
	})
	require.NoError(t, err)
	require.Equal(t, 2, calls)
}
