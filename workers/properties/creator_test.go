package properties_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/properties"
)

type bundle struct {
	sb  *sandbox.Server
	api *openmoove.Client
	js  jetstream.JetStream
	top streams.Topology
	seq atomic.Uint64
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ns, top := testkit.JetStream(t)
	sb, api := testkit.Sandbox(t, sandbox.Config{RateLimit: -1})
	return &bundle{sb: sb, api: api, js: ns.JS, top: top}
}

func (b *bundle) creator(t *testing.T, cfg properties.Config) *properties.Creator {
	t.Helper()
	cfg.API, cfg.JS, cfg.Topology = b.api, b.js, b.top
	c, err := properties.NewCreator(context.Background(), cfg)
	require.NoError(t, err)
	return c
}

// message builds a delivery of body as the runtime would hand it over; a
// zero seq takes the next one.
func (b *bundle) message(t *testing.T, cp events.CreateProperty, seq uint64) *workers.Message {
	t.Helper()
	body, err := cp.Marshal()
	require.NoError(t, err)
	if seq == 0 {
		seq = b.seq.Add(1)
	}
	return &workers.Message{Subject: b.top.CreatePropertySubject(), Data: body, Stream: b.top.CommandsStream(),
		Seq: seq, Deliveries: 1, MsgID: cp.RequestID, Published: time.Now()}
}

func (b *bundle) creations() int {
	n := 0
	for _, r := range b.sb.Requests() {
		if r.Method == http.MethodPost && r.Path == sandbox.APIPrefix+"clients/" {
			n++
		}
	}
	return n
}

func (b *bundle) outcomes(t *testing.T, kind string) []events.Outcome {
	t.Helper()
	ctx := context.Background()
	s, err := b.js.Stream(ctx, b.top.OutcomesStream())
	require.NoError(t, err)
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(b.top.OutcomeSubject(kind)))
	require.NoError(t, err)
	var out []events.Outcome
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && seq > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		require.NoError(t, err)
		if m.Subject != b.top.OutcomeSubject(kind) {
			continue
		}
		o, err := events.ParseOutcome(m.Data)
		require.NoError(t, err)
		out = append(out, o)
	}
	return out
}

func creation(i int, requestID string) events.CreateProperty {
	return events.CreateProperty{RequestID: requestID, CreateClientRequest: openmoove.CreateClientRequest{
		FirstName: "Jane", LastName: fmt.Sprintf("Seller%d", i), Email: fmt.Sprintf("jane%d@example.com", i),
		PhoneNumber: "07700 900123", PropertyAddress: fmt.Sprintf("%d High Street, London", i),
		PropertyPostcode: "SW1A 1AA", EstateAgentEmail: "agent@example.com",
	}}
}

func TestCreatesOnceAndAppliesDefaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.creator(t, properties.Config{})
	ctx := context.Background()
	m := b.message(t, creation(1, "crm-1"), 0)
	require.NoError(t, c.Handle(ctx, m))
	require.NoError(t, c.Handle(ctx, m), "a redelivery after the ack was lost")
	dup := b.message(t, creation(1, "crm-1"), 0)
	require.NoError(t, c.Handle(ctx, dup), "a duplicate publish outside the dedupe window")
	require.Equal(t, 1, b.creations())
	props := b.sb.Properties()
	require.Len(t, props, 1)
	require.Equal(t, []string{openmoove.ProductMooveReadyPack}, props[0].Request.Products)

	e, _, err := c.Ledger().Get(ctx, "crm-1")
	require.NoError(t, err)
	require.Equal(t, properties.StateCreated, e.State)
	require.Equal(t, props[0].TransactionID, e.TransactionID)
	require.Equal(t, props[0].ID, e.PropertyID)

	outs := b.outcomes(t, events.OutcomePropertyCreated)
	require.Len(t, outs, 1, "the outcome of a repeat is dropped by its id")
	require.Equal(t, props[0].TransactionID, outs[0].TransactionID)
	require.Equal(t, "crm-1", outs[0].Data["request_id"])
	require.Equal(t, "1 High Street, London", outs[0].Data["address"])
	require.Equal(t, openmoove.SaleStandard, outs[0].Data["sale_method"])
}

func TestDefaultEstateAgentWhenNoProfessional(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cp := creation(2, "crm-2")
	cp.EstateAgentEmail = ""
	err := b.creator(t, properties.Config{}).Handle(ctx, b.message(t, cp, 0))
	require.Equal(t, failure.Permanent, failure.KindOf(err))
	require.ErrorContains(t, err, openmoove.MsgProfessionalNeeded)
	require.Zero(t, b.creations(), "refused before any call")

	c := b.creator(t, properties.Config{DefaultEstateAgentEmail: "default@agency.example"})
	require.NoError(t, c.Handle(ctx, b.message(t, cp, 0)))
	require.Equal(t, "default@agency.example", b.sb.Properties()[0].Request.EstateAgentEmail)
}

func TestCrashAfterTheAPIAnsweredIsReconciled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	killed := errors.New("killed after the 201")
	var kills atomic.Int32
	c := b.creator(t, properties.Config{AfterCreate: func(_ context.Context, id string) error {
		if id == "crm-3" && kills.Add(1) == 1 {
			return killed
		}
		return nil
	}})
	// A property at the same address by another seller must not be adopted.
	other := creation(3, "other")
	other.Email = "someone-else@example.com"
	require.NoError(t, c.Handle(ctx, b.message(t, other, 0)))

	m := b.message(t, creation(3, "crm-3"), 0)
	require.ErrorIs(t, c.Handle(ctx, m), killed)
	e, _, err := c.Ledger().Get(ctx, "crm-3")
	require.NoError(t, err)
	require.Equal(t, properties.StatePending, e.State, "the crash left pending")

	require.NoError(t, c.Handle(ctx, m), "the redelivery")
	require.Equal(t, 2, b.creations(), "one for other, one for crm-3: the redelivery created nothing")
	require.Len(t, b.sb.Properties(), 2)
	e, _, err = c.Ledger().Get(ctx, "crm-3")
	require.NoError(t, err)
	require.Equal(t, properties.StateCreated, e.State)
	require.True(t, e.Reconciled)
	mine := b.sb.Properties()[1]
	require.Equal(t, mine.TransactionID, e.TransactionID)
	require.Equal(t, "jane3@example.com", mine.Request.Email)
	require.Len(t, b.outcomes(t, events.OutcomePropertyCreated), 2)
}

func TestCreateAgainWhenTheCrashedAttemptCreatedNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	require.NoError(t, b.sb.SetFaults(sandbox.Faults{ForceStatus: http.StatusBadGateway}))
	c := b.creator(t, properties.Config{})
	m := b.message(t, creation(4, "crm-4"), 0)
	err := c.Handle(ctx, m)
	require.Equal(t, failure.Transient, failure.KindOf(err))
	require.NoError(t, b.sb.SetFaults(sandbox.Faults{}))
	require.NoError(t, c.Handle(ctx, m))
	require.Len(t, b.sb.Properties(), 1)
}

// A creation refused by omq's own budget sent nothing, so its next attempt
// creates at once without spending reads on looking for a property.
func TestBudgetRefusalSkipsTheLookup(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var refuse atomic.Bool
	refuse.Store(true)
	api, err := openmoove.New(openmoove.Config{BaseURL: b.sb.URL(), APIKey: sandbox.DefaultAPIKey,
		BeforeRequest: func(context.Context, openmoove.RequestInfo) error {
			if refuse.Load() {
				return failure.ThrottledError(errors.New("budget spent"), time.Second)
			}
			return nil
		}})
	require.NoError(t, err)
	t.Cleanup(api.CloseIdleConnections)
	c, err := properties.NewCreator(ctx, properties.Config{API: api, JS: b.js, Topology: b.top})
	require.NoError(t, err)
	m := b.message(t, creation(5, "crm-5"), 0)
	err = c.Handle(ctx, m)
	require.Equal(t, failure.Throttled, failure.KindOf(err))
	refuse.Store(false)
	m.Deliveries = 2
	require.NoError(t, c.Handle(ctx, m))
	require.Len(t, b.sb.Properties(), 1)
	for _, r := range b.sb.Requests() {
		require.NotEqual(t, http.MethodGet, r.Method, "no lookup after a refusal that sent nothing: %+v", r)
	}
}

func TestAnotherMessageWaitsForTheLease(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	killed := errors.New("killed")
	c := b.creator(t, properties.Config{Lease: time.Hour, AfterCreate: func(context.Context, string) error { return killed }})
	require.ErrorIs(t, c.Handle(ctx, b.message(t, creation(5, "crm-5"), 0)), killed)
	err := c.Handle(ctx, b.message(t, creation(5, "crm-5"), 0))
	require.Equal(t, failure.Transient, failure.KindOf(err))
	require.ErrorContains(t, err, "is being created by message")
	require.Equal(t, 1, b.creations())
}

func TestUnforeseen400IsPermanentWithFieldsThenAFixedReplayCreatesOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	require.NoError(t, b.sb.AddReject(sandbox.Reject{Field: "property_address", Value: "6 High Street, London",
		Message: "Address not found in the national register."}))
	c := b.creator(t, properties.Config{})
	cp := creation(6, "crm-6")
	err := c.Handle(ctx, b.message(t, cp, 0))
	require.Equal(t, failure.Permanent, failure.KindOf(err))
	require.ErrorContains(t, err, "400 Bad Request: property_address: Address not found in the national register.")
	e, _, gerr := c.Ledger().Get(ctx, "crm-6")
	require.NoError(t, gerr)
	require.Equal(t, properties.StateRefused, e.State)
	require.Equal(t, []string{"Address not found in the national register."}, e.Fields["property_address"])

	cp.PropertyAddress = "6 High St, London"
	require.NoError(t, c.Handle(ctx, b.message(t, cp, 0)), "the edited replay")
	require.NoError(t, c.Handle(ctx, b.message(t, cp, 0)), "and its redelivery")
	require.Len(t, b.sb.Properties(), 1)
}

func TestBadBodyIsPermanent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.creator(t, properties.Config{})
	err := c.Handle(context.Background(), &workers.Message{Data: []byte(`{"first_name":7}`), Stream: "S", Seq: 1})
	require.Equal(t, failure.Permanent, failure.KindOf(err))
	require.ErrorContains(t, err, "first_name: expected string")
}

func TestAuctionAssignment(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	auction := func(i int) events.CreateProperty {
		cp := creation(100+i, fmt.Sprintf("auction-%d", i))
		cp.SaleMethod = openmoove.SaleModernAuction
		return cp
	}
	// No rule: refused in the API's words, before any call.
	err := b.creator(t, properties.Config{}).Handle(ctx, b.message(t, auction(0), 0))
	require.Equal(t, failure.Permanent, failure.KindOf(err))
	require.ErrorContains(t, err, openmoove.MsgAuctioneerNeeded)
	require.Zero(t, b.creations())

	tab, err := assign.Parse([]byte("rules:\n  - sale_methods: [modern_auction]\n    auctioneer: [a@auction.example, b@auction.example, c@auction.example]\n"))
	require.NoError(t, err)
	c := b.creator(t, properties.Config{Assignments: tab})
	for i := range 9 {
		require.NoError(t, c.Handle(ctx, b.message(t, auction(i+1), 0)))
	}
	counts := map[string]int{}
	for _, p := range b.sb.Properties() {
		counts[p.Request.AuctioneerEmail]++
	}
	require.Equal(t, map[string]int{"a@auction.example": 3, "b@auction.example": 3, "c@auction.example": 3}, counts)
	outs := b.outcomes(t, events.OutcomePropertyCreated)
	require.Len(t, outs, 9)
	raw, _ := json.Marshal(outs[0].Data["assigned"])
	require.True(t, strings.Contains(string(raw), "auctioneer"), "the outcome says who was assigned: %s", raw)
	require.Empty(t, b.outcomes(t, events.OutcomeAuctionMilestonesMissing), "the sandbox gives auctions their milestones")
}
