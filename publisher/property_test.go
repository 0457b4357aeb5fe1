package publisher_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/publisher"
)

func propertyFixture(t *testing.T) (*publisher.Publisher, jetstream.Stream) {
	t.Helper()
	ctx := context.Background()
	s, top := testkit.JetStream(t)
	p, err := publisher.New(s.Conn)
	require.NoError(t, err)
	st, err := s.JS.Stream(ctx, top.CommandsStream())
	require.NoError(t, err)
	return p, st
}

func newCreation() events.CreateProperty {
	return events.CreateProperty{CreateClientRequest: openmoove.CreateClientRequest{
		FirstName: "Jane", LastName: "Doe", Email: "jane@example.com", PhoneNumber: "07700900123",
		PropertyAddress: "1 High Street, London", PropertyPostcode: "sw1a1aa", EstateAgentEmail: "agent@example.com",
	}}
}

func TestCreatePropertyGeneratesTheRequestIDAndDeduplicates(t *testing.T) {
	t.Parallel()
	p, st := propertyFixture(t)
	ctx := context.Background()
	ack, err := p.CreateProperty(ctx, newCreation())
	require.NoError(t, err)
	require.NotEmpty(t, ack.ID)
	require.False(t, ack.Duplicate)

	m, err := st.GetMsg(ctx, ack.Sequence)
	require.NoError(t, err)
	require.Equal(t, "openmoove.commands.create_property", m.Subject)
	require.Equal(t, ack.ID, m.Header.Get(jetstream.MsgIDHeader))
	var body map[string]any
	require.NoError(t, json.Unmarshal(m.Data, &body))
	require.Equal(t, ack.ID, body["request_id"])
	require.Equal(t, "SW1A 1AA", body["property_postcode"], "normalised as the API would")

	c := newCreation()
	c.RequestID = ack.ID
	again, err := p.CreateProperty(ctx, c)
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, ack.Sequence, again.Sequence)
}

func TestCreatePropertyRefusesInTheAPIsWords(t *testing.T) {
	t.Parallel()
	p, st := propertyFixture(t)
	ctx := context.Background()
	c := newCreation()
	c.SaleMethod = openmoove.SaleModernAuction
	_, err := p.CreateProperty(ctx, c)
	var v *openmoove.ValidationError
	require.ErrorAs(t, err, &v)
	require.Equal(t, []string{openmoove.MsgAuctioneerNeeded}, v.Fields[openmoove.NonFieldErrors])

	fill := func(r *openmoove.CreateClientRequest) { r.AuctioneerEmail = "auctioneer@example.com" }
	ack, err := p.CreateProperty(ctx, c, publisher.WithFill(fill))
	require.NoError(t, err, "a rule that supplies an auctioneer makes it acceptable")
	m, err := st.GetMsg(ctx, ack.Sequence)
	require.NoError(t, err)
	require.NotContains(t, string(m.Data), "auctioneer@example.com", "the worker assigns, not the publisher")
	info, err := st.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), info.State.Msgs, "the refused creation published nothing")
}

func TestBatchAddProperty(t *testing.T) {
	t.Parallel()
	p, st := propertyFixture(t)
	ctx := context.Background()
	b := p.NewBatch()
	for i := range 3 {
		c := newCreation()
		c.RequestID = []string{"a", "b", "a"}[i]
		id, err := b.AddProperty(ctx, c)
		require.NoError(t, err)
		require.Equal(t, c.RequestID, id)
	}
	res := b.Flush(ctx)
	require.Empty(t, res.Failures)
	require.Equal(t, 1, res.Duplicates())
	info, err := st.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), info.State.Msgs)
}
