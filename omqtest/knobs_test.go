package omqtest_test

import (
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
)

// Stop (the test's Cleanup) closes every port the System opened.
func TestStopClosesEveryPort(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t)
	addrs := []string{hostPort(t, omq.NATSURL), hostPort(t, omq.SandboxURL), hostPort(t, omq.HTTPURL)}
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, time.Second)
		require.NoError(t, err, "%s is open while the System runs", a)
		c.Close()
	}

	omq.Stop(t)
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err == nil {
			c.Close()
		}
		require.Error(t, err, "%s still accepts connections after Stop", a)
	}
}

func hostPort(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u.Host, "127.0.0.1:"), "%s: loopback only", raw)
	return u.Host
}

// The sandbox starts empty, and AdvanceClock moves its clock: a milestone
// due in three days is overdue four days later.
func TestAdvanceClockMakesMilestonesOverdue(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"))
	require.Empty(t, omq.Sandbox().Properties(), "a test starts from an empty OpenMoove")
	tx := omq.SeedProperty(t, nil)

	m, _ := milestone(omq.Milestones(t, tx), openmoove.MilestoneInstruction)
	require.False(t, m.IsOverdue)
	omq.AdvanceClock(4 * 24 * time.Hour)
	m, _ = milestone(omq.Milestones(t, tx), openmoove.MilestoneInstruction)
	require.True(t, m.IsOverdue, "due %s", m.DueDate)
}

// WithConfig changes omq's settings: in notify mode the worker publishes
// the outcome without the update call, and OpenMoove is left as it was.
func TestNotifyModeWithConfig(t *testing.T) {
	t.Parallel()
	omq := omqtest.Start(t,
		omqtest.WithWorkers("milestones"),
		omqtest.WithConfig(func(c *omqtest.Config) { c.MilestoneMode = "notify" }),
	)
	tx := omq.SeedProperty(t, nil)

	_, err := omq.Publisher.Publish(t.Context(), events.Event{Type: events.TypeLegalPackCompleted, TransactionID: tx})
	require.NoError(t, err)

	out := omq.RequireOutcome(t, events.OutcomeMilestoneCompleted, func(o events.Outcome) bool { return o.TransactionID == tx })
	require.Equal(t, "notify", out.Data["mode"])
	m, _ := milestone(omq.Milestones(t, tx), openmoove.MilestoneLegalPack)
	require.False(t, m.Completed, "notify mode makes no update call")
}
