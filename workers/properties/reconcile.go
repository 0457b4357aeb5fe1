package properties

import (
	"context"
	"fmt"
	"strings"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
)

// found is a property reconciliation matched to a pending entry.
type found struct {
	PropertyID    int64
	TransactionID string
}

// reconcile looks for the property an interrupted attempt of e may have
// created: among the newest properties (GET /properties/ from its last page
// back, at most ReconcilePages pages), one created since e.At − ClockSkew
// with the same address and postcode, not claimed by another request_id,
// whose seller has the same email (GET /properties/{id}/detail/). It costs
// one or two list calls, plus a detail call per address match.
func (c *Creator) reconcile(ctx context.Context, e Entry) (*found, error) {
	if e.Request == nil {
		return nil, failure.PermanentError(fmt.Errorf("pending ledger entry of %s has no request", e.RequestID))
	}
	since := e.At.Add(-c.cfg.ClockSkew)
	first, err := c.cfg.API.ListProperties(ctx, 1, openmoove.MaxPageSize)
	if err != nil {
		return nil, err
	}
	last := max(1, (first.Count+openmoove.MaxPageSize-1)/openmoove.MaxPageSize)
	for page, read := last, 0; page >= 1 && read < c.cfg.ReconcilePages; page, read = page-1, read+1 {
		p := first
		if page != 1 {
			if p, err = c.cfg.API.ListProperties(ctx, page, openmoove.MaxPageSize); err != nil {
				return nil, err
			}
		}
		older := false
		for i := len(p.Results) - 1; i >= 0; i-- {
			s := p.Results[i]
			if s.CreatedAt.Before(since) {
				older = true
				continue
			}
			if !sameProperty(s, e.Request) {
				continue
			}
			if f, err := c.confirm(ctx, s, e); f != nil || err != nil {
				return f, err
			}
		}
		if older {
			break // pages are oldest first: earlier pages are older still
		}
	}
	return nil, nil
}

// confirm checks an address match: unclaimed (or claimed by e itself) and
// sold by the same seller.
func (c *Creator) confirm(ctx context.Context, s openmoove.PropertySummary, e Entry) (*found, error) {
	owner, err := c.ledger.claimedBy(ctx, s.ID)
	if err != nil {
		return nil, failure.TransientError(err)
	}
	if owner != "" && owner != e.RequestID {
		return nil, nil
	}
	id := fmt.Sprint(s.ID)
	d, err := c.cfg.API.PropertyDetail(ctx, id)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(d.Seller.Email, e.Request.Email) {
		return nil, nil
	}
	p, err := c.cfg.API.Property(ctx, id)
	if err != nil {
		return nil, err
	}
	return &found{PropertyID: s.ID, TransactionID: p.TransactionID}, nil
}

// sameProperty compares a listed property with the request that may have
// created it (both normalised by the API's rules).
func sameProperty(s openmoove.PropertySummary, req *openmoove.CreateClientRequest) bool {
	norm := func(a string) string { return strings.ToLower(strings.Join(strings.Fields(a), " ")) }
	return norm(s.Address) == norm(req.PropertyAddress) &&
		openmoove.NormalizePostcode(s.Postcode) == openmoove.NormalizePostcode(req.PropertyPostcode)
}
