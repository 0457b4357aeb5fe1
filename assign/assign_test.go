package assign_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/assign"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
)

const tableYAML = `
default:
  estate_agent: [Default-Agent@Example.com]
  conveyancer: [conv@example.com]
rules:
  - postcode_areas: [sw, M]
    sale_methods: [modern_auction, secure_sale]
    auctioneer: [a@auction.example, b@auction.example, c@auction.example]
  - postcode_areas: [SW]
    estate_agent: [sw-agent@example.com]
`

func TestParseAndCandidates(t *testing.T) {
	t.Parallel()
	tab, err := assign.Parse([]byte(tableYAML))
	require.NoError(t, err)
	require.Equal(t, []string{"a@auction.example", "b@auction.example", "c@auction.example"},
		tab.CandidatesFor(assign.Auctioneer, "sw1a 1aa", openmoove.SaleModernAuction))
	require.Nil(t, tab.CandidatesFor(assign.Auctioneer, "B1 1AA", openmoove.SaleModernAuction), "no rule for B, no default auctioneer")
	require.Equal(t, []string{"sw-agent@example.com"}, tab.CandidatesFor(assign.EstateAgent, "SW1A 1AA", ""),
		"the first rule has no estate agent, so the second supplies one")
	require.Equal(t, []string{"default-agent@example.com"}, tab.CandidatesFor(assign.EstateAgent, "M1 2AB", ""), "default, lower-cased")
	require.Equal(t, "SW", assign.Area("sw1a 1aa"))
	require.Equal(t, "M", assign.Area("M1 2AB"))

	req := openmoove.CreateClientRequest{PropertyPostcode: "M1 2AB", SaleMethod: openmoove.SaleSecureSale, ConveyancerEmail: "mine@example.com"}
	tab.Prospective(&req)
	require.Equal(t, "a@auction.example", req.AuctioneerEmail)
	require.Equal(t, "mine@example.com", req.ConveyancerEmail, "a given role is kept")
	require.Equal(t, "default-agent@example.com", req.EstateAgentEmail)
	require.False(t, tab.Empty())
	require.True(t, (&assign.Table{}).Empty())
}

func TestParseNamesTheBadEntry(t *testing.T) {
	t.Parallel()
	for yaml, want := range map[string]string{
		"default:\n  estate_agent: [not-an-email]\n":             "default.estate_agent: \"not-an-email\" is not an email address",
		"rules:\n  - postcode_areas: [SW1]\n":                    "rules[0].postcode_areas: \"SW1\" is not a postcode area",
		"rules:\n  - sale_methods: [auction]\n":                  "rules[0].sale_methods: \"auction\" is not one of standard",
		"default:\n  surveyor: [s@example.com]\n":                "field surveyor not found",
		"rules:\n  - auctioneer: [a@example.com]\n    area: x\n": "field area not found",
	} {
		_, err := assign.Parse([]byte(yaml))
		require.ErrorIs(t, err, assign.ErrInvalidTable)
		require.ErrorContains(t, err, want)
	}
	tab, err := assign.Parse(nil)
	require.NoError(t, err)
	require.True(t, tab.Empty())
	_, err = assign.Load("/nonexistent/assignments.yaml")
	require.ErrorContains(t, err, "--assignments")
}

func ledger(t *testing.T) *assign.Assigner {
	t.Helper()
	s, top := testkit.JetStream(t)
	ctx := context.Background()
	kv, err := s.JS.KeyValue(ctx, top.LedgerBucket())
	require.NoError(t, err)
	tab, err := assign.Parse([]byte(tableYAML))
	require.NoError(t, err)
	return assign.NewAssigner(tab, kv)
}

func TestNineConcurrentAuctionsGetThreeEach(t *testing.T) {
	t.Parallel()
	a := ledger(t)
	ctx := context.Background()
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range 9 {
		wg.Go(func() {
			req := openmoove.CreateClientRequest{PropertyPostcode: "SW1A 1AA", SaleMethod: openmoove.SaleModernAuction,
				EstateAgentEmail: "given@example.com"}
			got, err := a.Assign(ctx, &req)
			require.NoError(t, err)
			require.Equal(t, map[assign.Role]string{assign.Auctioneer: req.AuctioneerEmail, assign.Conveyancer: "conv@example.com"}, got)
			mu.Lock()
			counts[req.AuctioneerEmail]++
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Equal(t, map[string]int{"a@auction.example": 3, "b@auction.example": 3, "c@auction.example": 3}, counts)
	loads, err := a.Loads(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"a@auction.example": 3, "b@auction.example": 3, "c@auction.example": 3, "conv@example.com": 9}, loads)
}

func TestReleaseGivesTheSlotBack(t *testing.T) {
	t.Parallel()
	a := ledger(t)
	ctx := context.Background()
	req := openmoove.CreateClientRequest{PropertyPostcode: "M1 2AB", SaleMethod: openmoove.SaleSecureSale, ConveyancerEmail: "x@example.com",
		EstateAgentEmail: "y@example.com"}
	got, err := a.Assign(ctx, &req)
	require.NoError(t, err)
	require.Equal(t, "a@auction.example", req.AuctioneerEmail)
	require.NoError(t, a.Release(ctx, got))
	req2 := openmoove.CreateClientRequest{PropertyPostcode: "M1 2AB", SaleMethod: openmoove.SaleSecureSale, ConveyancerEmail: "x@example.com",
		EstateAgentEmail: "y@example.com"}
	_, err = a.Assign(ctx, &req2)
	require.NoError(t, err)
	require.Equal(t, "a@auction.example", req2.AuctioneerEmail, "a's slot was given back, so a is least loaded again")
	loads, err := a.Loads(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), loads["a@auction.example"])
}
