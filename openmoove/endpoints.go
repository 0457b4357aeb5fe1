package openmoove

import (
	"context"
	"iter"
	"net/http"
	"strconv"
)

// MaxPageSize is the largest page_size the API honours.
const MaxPageSize = 100

// Products lists the products a partner can sell (GET /products/).
func (c *Client) Products(ctx context.Context) (*ProductList, error) {
	var out ProductList
	return &out, c.do(ctx, http.MethodGet, "/products/", nil, nil, &out)
}

// Probe makes the one cheap call (GET /products/) that tells whether the
// API answers this key: nil, or the failure classified as any other call's
// (401 systemic, 5xx and timeouts transient). omq's breakers probe with it, and so does omq breaker probe.
func (c *Client) Probe(ctx context.Context) error {
	_, err := c.Products(ctx)
	return err
}

// CreateClient creates the mover and the property in one call
// (POST /clients/). The request goes as given: run ValidateCreate first to
// refuse bad input before spending a call.
func (c *Client) CreateClient(ctx context.Context, req *CreateClientRequest) (*CreateClientResponse, error) {
	var out CreateClientResponse
	if err := c.do(ctx, http.MethodPost, "/clients/", nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListProperties returns one page of the partner's properties
// (GET /properties/). page starts at 1; pageSize is at most MaxPageSize. Zero
// leaves either to the API's default (1 and 20).
func (c *Client) ListProperties(ctx context.Context, page, pageSize int) (*PropertyPage, error) {
	var out PropertyPage
	if err := c.do(ctx, http.MethodGet, "/properties/", pageQuery(page, pageSize), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllProperties iterates over every property, one call per page. It follows
// page numbers, not the answer's absolute next URL, so the key is only ever
// sent to the configured base URL. It stops at the first error, which it
// yields.
func (c *Client) AllProperties(ctx context.Context, pageSize int) iter.Seq2[PropertySummary, error] {
	return func(yield func(PropertySummary, error) bool) {
		for page := 1; ; page++ {
			p, err := c.ListProperties(ctx, page, pageSize)
			if err != nil {
				yield(PropertySummary{}, err)
				return
			}
			for _, s := range p.Results {
				if !yield(s, nil) {
					return
				}
			}
			if p.Next == "" || len(p.Results) == 0 {
				return
			}
		}
	}
}

// Property returns the PDTF view of a property (GET /properties/{id}/). id is
// the transaction UUID or the numeric property id.
func (c *Client) Property(ctx context.Context, id string) (*Property, error) {
	var out Property
	if err := c.do(ctx, http.MethodGet, propertyPath(id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PropertyDetail returns the seller, team and milestone counts of a property
// (GET /properties/{id}/detail/).
func (c *Client) PropertyDetail(ctx context.Context, id string) (*PropertyDetail, error) {
	var out PropertyDetail
	if err := c.do(ctx, http.MethodGet, propertyPath(id, "detail"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Milestones returns every milestone of a property in order
// (GET /properties/{id}/milestones/).
func (c *Client) Milestones(ctx context.Context, id string) ([]Milestone, error) {
	var out []Milestone
	if err := c.do(ctx, http.MethodGet, propertyPath(id, "milestones"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// CurrentMilestone returns the first incomplete milestone
// (GET /properties/{id}/milestones/current/).
func (c *Client) CurrentMilestone(ctx context.Context, id string) (*CurrentMilestone, error) {
	var out CurrentMilestone
	if err := c.do(ctx, http.MethodGet, propertyPath(id, "milestones", "current"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Chat returns a page of the property's chat (GET /properties/{id}/chat/);
// not implemented by the API yet.
func (c *Client) Chat(ctx context.Context, id string, page, pageSize int) (*ChatPage, error) {
	var out ChatPage
	if err := c.do(ctx, http.MethodGet, propertyPath(id, "chat"), pageQuery(page, pageSize), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChatSummary returns the daily chat summaries
// (GET /properties/{id}/chat/summary/).
func (c *Client) ChatSummary(ctx context.Context, id string) (*ChatSummary, error) {
	var out ChatSummary
	if err := c.do(ctx, http.MethodGet, propertyPath(id, "chat", "summary"), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateMilestone completes (or reopens) a milestone with the assumed
// PATCH /properties/{id}/milestones/{milestoneID}/. An API without the
// endpoint answers 405, which errors.Is(err, ErrUpdateUnsupported) detects.
func (c *Client) UpdateMilestone(ctx context.Context, id string, milestoneID int64, req UpdateMilestoneRequest) (*Milestone, error) {
	var out Milestone
	path := propertyPath(id, "milestones", strconv.FormatInt(milestoneID, 10))
	if err := c.do(ctx, http.MethodPatch, path, nil, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
