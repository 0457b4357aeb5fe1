package cli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
)

// A usage error is one kind of error, told by errors.Is(err,
// config.ErrUsage) and never by its text.
func TestUsageIsOneTypedMechanism(t *testing.T) {
	t.Parallel()
	field := &config.FieldError{Flag: "http", Value: "x", Accept: "host:port"}
	for _, err := range []error{
		usageErrorf("--limit %d: want 0 or more", -1),
		usage(errors.New("bad")),
		field,
		fmt.Errorf("role milestones: %w", field),
	} {
		require.True(t, isUsage(err), "%v", err)
		require.ErrorIs(t, err, config.ErrUsage)
	}
	require.Equal(t, "--limit -1: want 0 or more", usageErrorf("--limit %d: want 0 or more", -1).Error(), "the mark adds nothing to the message")
	for _, err := range []error{
		errors.New(`unknown command "x" in the assignment table`),
		errors.New("accepts 1 arg(s) from the server"),
		errors.New("unknown flag: --x, said the server"),
	} {
		require.False(t, isUsage(err), "a command's own failure is not a usage error because of its words: %v", err)
	}
}
