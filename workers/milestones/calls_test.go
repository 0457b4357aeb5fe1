package milestones_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/properties"
)

// omqProperties creates n standard properties through omq's property
// worker (so the ledger knows them) and returns their transaction ids.
func (b *bundle) omqProperties(t *testing.T, n int) []string {
	t.Helper()
	ctx := t.Context()
	w, err := properties.New(ctx, properties.Options{Worker: b.worker, JS: b.js, Topology: b.top, API: b.api})
	require.NoError(t, err)
	require.NoError(t, w.Start(ctx))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, w.Stop(c))
	})
	p, err := publisher.New(b.nc)
	require.NoError(t, err)
	for i := range n {
		_, err := p.CreateProperty(ctx, events.CreateProperty{RequestID: fmt.Sprintf("calls-%d", i), CreateClientRequest: openmoove.CreateClientRequest{
			FirstName: "Ada", LastName: "Byron", Email: "ada@example.com", PhoneNumber: "+447700900001",
			PropertyAddress: fmt.Sprintf("%d Mill Lane, Leeds", i+1), PropertyPostcode: "LS1 1AA",
			EstateAgentEmail: "agent@example.com", SaleMethod: openmoove.SaleStandard}})
		require.NoError(t, err)
	}
	txs := make([]string, n)
	require.Eventually(t, func() bool {
		for i := range txs {
			e, _, err := w.Creator.Ledger().Get(ctx, fmt.Sprintf("calls-%d", i))
			if err != nil || e.State != properties.StateCreated {
				return false
			}
			txs[i] = e.TransactionID
		}
		return true
	}, 20*time.Second, 10*time.Millisecond)
	return txs
}

// completions are the milestone_completed outcomes (the property worker
// publishes property_created to the same stream).
func (b *bundle) completions(t *testing.T) []events.Outcome {
	t.Helper()
	var out []events.Outcome
	for _, o := range b.outcomes(t) {
		if o.Kind == events.OutcomeMilestoneCompleted {
			out = append(out, o)
		}
	}
	return out
}

// fiveEvents publishes one event of every type for tx.
func (b *bundle) fiveEvents(t *testing.T, tx string) {
	t.Helper()
	for _, typ := range []string{events.TypeLegalPackCompleted, events.TypePropertyListed, events.TypeOfferAccepted,
		events.TypeContractsExchanged, events.TypeCompletionDateSet} {
		b.event(t, events.Event{ID: tx + "-" + typ, Type: typ, TransactionID: tx, Actor: "crm"})
	}
}

// propertyReads counts GET /properties/{tx}/ of the given transactions.
func (b *bundle) propertyReads(txs ...string) int {
	n := 0
	for _, r := range b.sb.Requests() {
		for _, tx := range txs {
			if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/properties/"+tx+"/") {
				n++
			}
		}
	}
	return n
}

// The true minimum: one milestones read per transaction and one update per
// event; no property read. The outcome names the address of a property omq
// created (from its ledger) and omits it for one omq did not create.
func TestCallsPerEventAreTheMinimum(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{})
	ours := b.omqProperties(t, 3)
	foreign := b.property(t, "standard")
	b.sb.ResetRequests()
	for _, tx := range append(ours, foreign) {
		b.fiveEvents(t, tx)
	}
	require.Eventually(t, func() bool { return len(b.completions(t)) == 20 }, 20*time.Second, 10*time.Millisecond)
	b.idle(t)
	for _, tx := range append(ours, foreign) {
		require.Equal(t, 1, b.calls(http.MethodGet, "/properties/"+tx+"/milestones/"), "one milestones read for %s", tx)
		require.Equal(t, 5, b.calls(http.MethodPatch, "/properties/"+tx+"/milestones/"), "one update per event of %s", tx)
	}
	require.Zero(t, b.propertyReads(append(ours, foreign)...), "no property read")
	require.Len(t, b.sb.Requests(), 4*6)
	for _, o := range b.completions(t) {
		if o.TransactionID == foreign {
			require.NotContains(t, o.Data, "address", "omq did not create %s", foreign)
			continue
		}
		i := map[string]int{ours[0]: 1, ours[1]: 2, ours[2]: 3}[o.TransactionID]
		require.Equal(t, fmt.Sprintf("%d Mill Lane", i), o.Data["address"], "the first address line, as the 201 gave it")
	}
}

// --outcome-address read turns the property read back on for a property
// omq does not know, once per transaction; the ledger still spares it for
// one omq created.
func TestOutcomeAddressRead(t *testing.T) {
	t.Parallel()
	b := setup(t, opts{cfg: func(c *config.Config) { c.OutcomeAddress = "read" }})
	ours := b.omqProperties(t, 1)
	foreign := b.property(t, "standard")
	b.sb.ResetRequests()
	b.fiveEvents(t, foreign)
	b.fiveEvents(t, ours[0])
	require.Eventually(t, func() bool { return len(b.completions(t)) == 10 }, 20*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, b.propertyReads(foreign), "one property read for the transaction omq did not create")
	require.Zero(t, b.propertyReads(ours[0]), "none for the one it created")
	for _, o := range b.completions(t) {
		want := map[string]string{foreign: "7 Market Street", ours[0]: "1 Mill Lane"}[o.TransactionID]
		require.Equal(t, want, o.Data["address"])
	}
}
