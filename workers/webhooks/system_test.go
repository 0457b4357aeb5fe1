package webhooks_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// End to end: omq run in sandbox mode with a webhook secret points the
// in-process sandbox's webhooks at its own listener. A milestone completed
// through the sandbox's admin API comes back as a verified webhook in
// OPENMOOVE_WEBHOOKS, and the webhook worker publishes its outcome.
func TestOmqRunReceivesSandboxWebhooks(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	c.DataDir, c.NATSListen, c.HTTP, c.SandboxAddr = t.TempDir(), "off", "127.0.0.1:0", "127.0.0.1:0"
	c.ShutdownTimeout = 10 * time.Second
	c.WebhookSecrets = []string{"whsec-current", "whsec-previous"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := system.Start(ctx, system.Options{Config: c, Only: []string{"webhooks"},
		Sandbox: func(sc *sandbox.Config) { sc.TimeScale = 0.001 }})
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Stop(ctx))
	}()
	d := s.Deps()
	tx := s.Sandbox().SeededIDs()[0]

	resp, err := http.Post(s.Sandbox().AdminURL()+"milestones/complete", "application/json",
		strings.NewReader(`{"transaction_id":"`+tx+`","name":"`+openmoove.MilestoneInstruction+`"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	b := &bundle{js: d.JS, top: d.Topology}
	require.Eventually(t, func() bool {
		return len(b.msgs(t, d.Topology.WebhooksStream(), d.Topology.WebhookSubject(sandbox.EventMilestoneUpdated))) == 1
	}, 10*time.Second, 10*time.Millisecond, "a webhook message in OPENMOOVE_WEBHOOKS")
	require.Eventually(t, func() bool {
		got := b.outcomes(t, poller.OutcomeMilestoneCompleted)
		return len(got) == 1 && got[0].TransactionID == tx && got[0].Data["source"] == poller.ViaWebhook
	}, 10*time.Second, 10*time.Millisecond, "the webhook worker's outcome")
}
