package webhooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/properties"
)

// With webhooks on, a property created through omq has its milestone ids
// cached from property.milestone.created (the ledger links its numeric id
// to its transaction, no read) and its address from property.created: its
// events then cost one update each and nothing else — 1.00 call per event.
func TestWebhooksFillTheMilestoneCache(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	c.DataDir, c.NATSListen, c.HTTP, c.SandboxAddr = t.TempDir(), "off", "127.0.0.1:0", "127.0.0.1:0"
	c.ShutdownTimeout = 10 * time.Second
	c.WebhookSecrets = []string{"whsec-current"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := system.Start(ctx, system.Options{Config: c, Only: []string{"properties", "webhooks", "milestones"},
		Sandbox: func(sc *sandbox.Config) { sc.TimeScale = 0.001 }})
	require.NoError(t, err)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Stop(ctx))
	}()
	d, sb := s.Deps(), s.Sandbox()
	p, err := publisher.New(d.Conn)
	require.NoError(t, err)
	const n = 3
	for i := range n {
		_, err := p.CreateProperty(ctx, events.CreateProperty{RequestID: fmt.Sprintf("hooks-%d", i), CreateClientRequest: openmoove.CreateClientRequest{
			FirstName: "Ada", LastName: "Byron", Email: "ada@example.com", PhoneNumber: "+447700900001",
			PropertyAddress: fmt.Sprintf("%d Mill Lane, Leeds", i+1), PropertyPostcode: "LS1 1AA",
			EstateAgentEmail: "agent@example.com", SaleMethod: openmoove.SaleStandard}})
		require.NoError(t, err)
	}
	ledger, err := properties.OpenLedger(ctx, d.JS, d.Topology)
	require.NoError(t, err)
	cache, err := d.JS.KeyValue(ctx, d.Topology.MilestonesBucket())
	require.NoError(t, err)
	txs := make([]string, n)
	require.Eventually(t, func() bool {
		for i := range txs {
			e, _, err := ledger.Get(ctx, fmt.Sprintf("hooks-%d", i))
			if err != nil || e.State != properties.StateCreated {
				return false
			}
			txs[i] = e.TransactionID
			prop, _ := sb.Lookup(e.TransactionID)
			kve, err := cache.Get(ctx, e.TransactionID)
			if err != nil {
				return false
			}
			var entry struct {
				Milestones []json.RawMessage `json:"milestones"`
				HasAddress bool              `json:"has_address"`
			}
			if json.Unmarshal(kve.Value(), &entry) != nil || len(entry.Milestones) != len(prop.Milestones) || !entry.HasAddress {
				return false
			}
		}
		return true
	}, 20*time.Second, 10*time.Millisecond, "every milestone and the address cached from the creation's webhooks")
	creationCalls := len(sb.Requests())
	require.Equal(t, n, creationCalls, "the webhooks were resolved without a read: only the POSTs")

	sb.ResetRequests()
	for _, tx := range txs {
		for _, typ := range []string{events.TypeLegalPackCompleted, events.TypePropertyListed, events.TypeOfferAccepted,
			events.TypeContractsExchanged, events.TypeCompletionDateSet} {
			_, err := p.Publish(ctx, events.Event{ID: tx + "-" + typ, Type: typ, TransactionID: tx, Actor: "crm"})
			require.NoError(t, err)
		}
	}
	b := &bundle{js: d.JS, top: d.Topology}
	var done []events.Outcome
	require.Eventually(t, func() bool {
		done = done[:0]
		for _, o := range b.outcomes(t, events.OutcomeMilestoneCompleted) {
			if o.EventID != "" { // the milestone worker's; the webhook worker announces each PATCH's webhook too
				done = append(done, o)
			}
		}
		return len(done) == n*5
	}, 20*time.Second, 10*time.Millisecond, "every event completed")
	for _, r := range sb.Requests() {
		require.Equal(t, http.MethodPatch, r.Method, "no read once the cache is filled: %s %s", r.Method, r.Path)
		require.True(t, strings.Contains(r.Path, "/milestones/"), r.Path)
	}
	require.Len(t, sb.Requests(), n*5, "1.00 call per event")
	for _, o := range done {
		i := map[string]int{txs[0]: 1, txs[1]: 2, txs[2]: 3}[o.TransactionID]
		require.Equal(t, fmt.Sprintf("%d Mill Lane", i), o.Data["address"])
	}
}
