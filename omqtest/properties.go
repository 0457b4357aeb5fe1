package omqtest

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// Property is a property the property worker created: the request_id that
// asked for it, the property_created outcome it published, and the property
// as the sandbox holds it (ID, TransactionID, Request as stored,
// Milestones).
type Property struct {
	RequestID string
	Outcome   events.Outcome
	sandbox.Property
}

// RequirePropertyCreated waits for the property_created outcome of
// requestID and returns the property it names, as the sandbox holds it. On
// timeout it fails the test with the property_created outcomes it saw, the
// dead letters that mention requestID (a refused creation carries the API's
// field errors), and how many creations are still queued.
func (s *System) RequirePropertyCreated(t testing.TB, requestID string) Property {
	t.Helper()
	var out events.Outcome
	ok, wait := s.poll(t, func(ctx context.Context) bool {
		all, err := s.out.read(ctx)
		if err != nil {
			return false
		}
		for _, o := range ofKind(all, events.OutcomePropertyCreated) {
			if o.EventID == requestID {
				out = o
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("omqtest: waited %s for the property_created outcome of request_id %s; %s\n%s\n%s",
			wait, requestID, s.describeOutcomes(events.OutcomePropertyCreated, nil),
			s.describeDeadLetters(func(l string) bool { return strings.Contains(l, requestID) }),
			s.describeQueue(s.Topology.CommandsStream()))
	}
	p, found := s.sandbox.Lookup(out.TransactionID)
	if !found {
		t.Fatalf("omqtest: outcome %s names transaction %s, which the sandbox does not have", out.ID, out.TransactionID)
	}
	return Property{RequestID: requestID, Outcome: out, Property: p}
}

// SeedProperty creates a property straight in the sandbox, as if it had
// been created in OpenMoove before the test, and returns its transaction id
// (a UUID). The request starts as PropertyRequest() returns it; tweak, if
// not nil, changes it first (a sale method, an auctioneer, an address).
func (s *System) SeedProperty(t testing.TB, tweak func(*openmoove.CreateClientRequest)) string {
	t.Helper()
	req := PropertyRequest()
	if tweak != nil {
		tweak(&req)
	}
	tx, err := s.sandbox.SeedProperty(s.APIKey, req)
	if err != nil {
		t.Fatalf("omqtest: seed property: %v", err)
	}
	return tx
}

var requestNo atomic.Int64

// PropertyRequest returns a valid creation request for a standard sale
// with a conveyancer, different at every call (address, seller email), so
// that creations in one test are told apart. Set SaleMethod to
// openmoove.SaleModernAuction and AuctioneerEmail for an auction.
func PropertyRequest() openmoove.CreateClientRequest {
	n := requestNo.Add(1)
	return openmoove.CreateClientRequest{
		FirstName: "Jane", LastName: "Doe",
		Email:            fmt.Sprintf("seller+%d@example.com", n),
		PhoneNumber:      "07700 900123",
		PropertyAddress:  fmt.Sprintf("%d Mill Lane, Leeds", n),
		PropertyPostcode: "LS1 4AB",
		ConveyancerEmail: "conveyancer@example.com",
		SaleMethod:       openmoove.SaleStandard,
	}
}

// describeQueue says how many messages a work-queue stream still holds.
func (s *System) describeQueue(stream string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := s.JS.Stream(ctx, stream)
	if err != nil {
		return fmt.Sprintf("%s could not be read: %v", stream, err)
	}
	return fmt.Sprintf("%s still holds %d messages (queued or being retried)", stream, st.CachedInfo().State.Msgs)
}
