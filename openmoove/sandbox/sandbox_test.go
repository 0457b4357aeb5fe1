package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

const key = "om_test_key"

type bundle struct {
	sb   *sandbox.Server
	http *http.Client
}

func setup(t *testing.T, cfg sandbox.Config) bundle {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = map[string]string{key: "partner-a", "om_other": "partner-b"}
	}
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	require.NoError(t, sb.Start(t.Context()))
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		require.NoError(t, sb.Close(context.Background()))
	})
	return bundle{sb: sb, http: hc}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(a.body, v), string(a.body))
}

// call sends method to path, relative to the sandbox root ("/api/v1/…").
func (b bundle) call(t *testing.T, apiKey, method, path string, body any) answer {
	t.Helper()
	var r io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+b.sb.Addr()+path, r)
	require.NoError(t, err)
	if apiKey != "" {
		req.Header.Set("X-API-KEY", apiKey)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusNoContent {
		require.Equal(t, "application/json", resp.Header.Get("Content-Type"), "every answer is JSON")
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

func validRequest() openmoove.CreateClientRequest {
	return openmoove.CreateClientRequest{FirstName: "Jane", LastName: "Doe", Email: "test+1@example.com",
		PhoneNumber: "447700900001", PropertyAddress: "5 Mill Lane, Leeds", PropertyPostcode: "m1 2ab",
		ConveyancerEmail: "c@example.com"}
}

func TestStatusCodes(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	other, err := b.sb.SeedProperty("om_other", validRequest())
	require.NoError(t, err)
	mine, err := b.sb.SeedProperty(key, validRequest())
	require.NoError(t, err)
	p := "/api/v1/partners/"
	tests := []struct {
		name, key, method, path string
		status                  int
		detail                  string
	}{
		{"products", key, "GET", p + "products/", 200, ""},
		{"missing key", "", "GET", p + "products/", 401, "Invalid API key provided"},
		{"unknown key", "om_nope", "GET", p + "products/", 401, "Invalid API key provided"},
		{"unknown path", key, "GET", p + "nothing/", 404, "Not found."},
		{"no trailing slash", key, "GET", p + "products", 404, "Not found."},
		{"unknown property", key, "GET", p + "properties/424242/", 404, "Not found."},
		{"another partner's property", key, "GET", p + "properties/" + other + "/milestones/", 403, "You do not have permission to perform this action"},
		{"method not allowed", key, "PATCH", p + "properties/" + mine + "/", 405, `Method "PATCH" not allowed.`},
		{"DELETE clients", key, "DELETE", p + "clients/", 405, `Method "DELETE" not allowed.`},
		{"invalid page", key, "GET", p + "properties/?page=9", 404, "Invalid page."},
		{"unknown milestone", key, "PATCH", p + "properties/" + mine + "/milestones/1/", 404, "Not found."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := b.call(t, tt.key, tt.method, tt.path, nil)
			require.Equal(t, tt.status, a.status, string(a.body))
			require.NotEmpty(t, a.header.Get("X-RateLimit-Limit"), "X-RateLimit-* on every answer")
			if tt.detail != "" {
				var d struct{ Detail string }
				a.json(t, &d)
				require.Equal(t, tt.detail, d.Detail)
			}
		})
	}
}

func TestRateLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{RateLimit: 50, BurstLimit: 50})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		byCode  = map[int]int{}
		resets  = map[string]bool{}
		remains = map[string]int{}
	)
	for range 200 {
		wg.Go(func() {
			a := b.call(t, key, "GET", "/api/v1/partners/products/", nil)
			mu.Lock()
			defer mu.Unlock()
			byCode[a.status]++
			resets[a.header.Get("X-RateLimit-Reset")] = true
			remains[a.header.Get("X-RateLimit-Remaining")]++
			require.Equal(t, "50", a.header.Get("X-RateLimit-Limit"))
			if a.status == 429 {
				require.NotEmpty(t, a.header.Get("Retry-After"))
				var d struct{ Detail string }
				a.json(t, &d)
				require.Contains(t, d.Detail, "Request was throttled. Expected available in ")
			}
		})
	}
	wg.Wait()
	require.Equal(t, map[int]int{200: 50, 429: 150}, byCode)
	require.Equal(t, 151, remains["0"], "the 50th success and every refusal say 0 left")
	require.Len(t, resets, 1, "one window, one reset time")
	require.Len(t, b.sb.Requests(), 200)

	// Another key has its own budget.
	require.Equal(t, 200, b.call(t, "om_other", "GET", "/api/v1/partners/products/", nil).status)
}

func TestRateWindowResets(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{RateLimit: 100, BurstLimit: 2, BurstWindow: 50 * time.Millisecond})
	path := "/api/v1/partners/products/"
	require.Equal(t, 200, b.call(t, key, "GET", path, nil).status)
	a := b.call(t, key, "GET", path, nil)
	require.Equal(t, 200, a.status)
	require.Equal(t, "0", a.header.Get("X-RateLimit-Remaining"), "the burst window binds")
	require.Equal(t, 429, b.call(t, key, "GET", path, nil).status)
	require.Eventually(t, func() bool { return b.call(t, key, "GET", path, nil).status == 200 },
		2*time.Second, 10*time.Millisecond)
}

func TestFaultsAdminAndJournal(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	products := "/api/v1/partners/products/"
	setFaults := func(f string) {
		req, err := http.NewRequestWithContext(t.Context(), "POST", b.sb.AdminURL()+"faults", strings.NewReader(f))
		require.NoError(t, err)
		resp, err := b.http.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
	}

	setFaults(`{"outage":true}`)
	require.Equal(t, 503, b.call(t, key, "GET", products, nil).status)
	var f sandbox.Faults
	b.call(t, "", "GET", "/_sandbox/faults", nil).json(t, &f)
	require.Equal(t, sandbox.Faults{Outage: true}, f)

	setFaults(`{"force_status":429}`)
	a := b.call(t, key, "GET", products, nil)
	require.Equal(t, 429, a.status)
	require.Equal(t, "1", a.header.Get("Retry-After"))

	setFaults(`{"error_rate":1}`)
	require.Equal(t, 500, b.call(t, key, "GET", products, nil).status)

	setFaults(`{"latency_ms":30,"jitter_ms":10}`)
	start := time.Now()
	require.Equal(t, 200, b.call(t, key, "GET", products, nil).status)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)

	require.Equal(t, 400, b.call(t, "", "POST", "/_sandbox/faults", map[string]any{"error_rate": 2}).status)
	setFaults(`{}`)
	require.Equal(t, 200, b.call(t, key, "GET", products, nil).status)

	var journal []sandbox.Request
	b.call(t, "", "GET", "/_sandbox/requests", nil).json(t, &journal)
	statuses := []int{}
	for _, r := range journal {
		require.Equal(t, "GET", r.Method)
		require.Equal(t, products, r.Path)
		require.False(t, r.At.IsZero())
		statuses = append(statuses, r.Status)
	}
	require.Equal(t, []int{503, 429, 500, 200, 200}, statuses, "each partner call once; admin calls never")

	require.Equal(t, 204, b.call(t, "", "DELETE", "/_sandbox/requests", nil).status)
	b.call(t, "", "GET", "/_sandbox/requests", nil).json(t, &journal)
	require.Empty(t, journal)
	require.Equal(t, 405, b.call(t, "", "PUT", "/_sandbox/requests", nil).status)
}

func TestClockAndMilestones(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	b := setup(t, sandbox.Config{Now: func() time.Time { return start }})
	req := validRequest()
	req.SaleMethod, req.AuctioneerEmail = openmoove.SaleModernAuction, "auction@example.com"
	tx, err := b.sb.SeedProperty(key, req)
	require.NoError(t, err)
	path := "/api/v1/partners/properties/" + tx + "/milestones/"

	var ms []openmoove.Milestone
	b.call(t, key, "GET", path, nil).json(t, &ms)
	names := []string{}
	for _, m := range ms {
		names = append(names, m.Name)
		require.False(t, m.IsOverdue)
	}
	require.Equal(t, []string{"Instruction", "Legal Pack Preparation", "Auction Marketing Period", "Auction Exchange", "Completion"}, names)
	require.Equal(t, start.Add(72*time.Hour), ms[0].DueDate)

	var clock struct{ Now time.Time }
	b.call(t, "", "POST", "/_sandbox/clock", map[string]string{"advance": "96h"}).json(t, &clock)
	require.Equal(t, start.Add(96*time.Hour), clock.Now)
	b.call(t, key, "GET", path, nil).json(t, &ms)
	require.True(t, ms[0].IsOverdue)
	require.False(t, ms[1].IsOverdue)

	var cur openmoove.CurrentMilestone
	b.call(t, key, "GET", path+"current/", nil).json(t, &cur)
	require.Equal(t, -1, cur.DaysUntilDue)
	require.Equal(t, "high", cur.Priority)

	a := b.call(t, "", "POST", "/_sandbox/milestones/complete", map[string]string{"transaction_id": tx, "name": "Instruction"})
	require.Equal(t, 200, a.status, string(a.body))
	b.call(t, key, "GET", path+"current/", nil).json(t, &cur)
	require.Equal(t, "Legal Pack Preparation", cur.Name)
	require.Equal(t, 404, b.call(t, "", "POST", "/_sandbox/milestones/complete",
		map[string]string{"transaction_id": tx, "name": "Nope"}).status)

	// PATCH with an explicit time, then reopen.
	at := start.Add(time.Hour)
	var m openmoove.Milestone
	a = b.call(t, key, "PATCH", path+"1002/", map[string]any{"completed": true, "completed_at": at})
	require.Equal(t, 200, a.status, string(a.body))
	a.json(t, &m)
	require.True(t, m.Completed)
	require.Equal(t, at, *m.CompletedAt)
	b.call(t, key, "PATCH", path+"1002/", map[string]any{"completed": false}).json(t, &m)
	require.False(t, m.Completed)
	require.Nil(t, m.CompletedAt)
	require.Equal(t, 400, b.call(t, key, "PATCH", path+"1002/", map[string]any{"completed": true, "completed_at": "yesterday"}).status)

	snap, ok := b.sb.Lookup(tx)
	require.True(t, ok)
	require.True(t, snap.Milestones[0].Completed)
	require.Equal(t, "+447700900001", snap.Request.PhoneNumber)
	require.Equal(t, "M1 2AB", snap.Request.PropertyPostcode)
}

func TestCreateValidationAndRejects(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	clients := "/api/v1/partners/clients/"

	a := b.call(t, key, "POST", clients, map[string]any{})
	require.Equal(t, 400, a.status)
	var fields map[string][]string
	a.json(t, &fields)
	require.Equal(t, []string{"This field is required."}, fields["first_name"])
	require.Equal(t, []string{openmoove.MsgProfessionalNeeded}, fields["non_field_errors"])

	require.Equal(t, 400, b.call(t, key, "POST", clients, "not an object").status)

	a = b.call(t, "", "POST", "/_sandbox/rejects", sandbox.Reject{Field: "property_postcode", Value: "M1 2AB", Message: "Postcode not served"})
	require.Equal(t, 200, a.status, string(a.body))
	a = b.call(t, key, "POST", clients, validRequest())
	require.Equal(t, 400, a.status)
	fields = nil
	a.json(t, &fields)
	require.Equal(t, map[string][]string{"property_postcode": {"Postcode not served"}}, fields)
	other := validRequest()
	other.PropertyPostcode = "B1 1AA"
	require.Equal(t, 201, b.call(t, key, "POST", clients, other).status)

	require.Equal(t, 204, b.call(t, "", "DELETE", "/_sandbox/rejects", nil).status)
	a = b.call(t, key, "POST", clients, validRequest())
	require.Equal(t, 201, a.status)
	var created openmoove.CreateClientResponse
	a.json(t, &created)
	require.Equal(t, "Private Treaty", created.Property.PropertyPack.PriceInformation.Disposal)
	require.Len(t, b.sb.Properties(), 2)
}

func TestPaginationLinks(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{Seed: 5})
	var page openmoove.PropertyPage
	b.call(t, key, "GET", "/api/v1/partners/properties/?page_size=2", nil).json(t, &page)
	require.Equal(t, 5, page.Count)
	require.Equal(t, "http://"+b.sb.Addr()+"/api/v1/partners/properties/?page=2&page_size=2", page.Next)
	require.Empty(t, page.Previous)
	page = openmoove.PropertyPage{}
	b.call(t, key, "GET", "/api/v1/partners/properties/?page=3&page_size=2", nil).json(t, &page)
	require.Len(t, page.Results, 1)
	require.Empty(t, page.Next)
	require.Equal(t, "http://"+b.sb.Addr()+"/api/v1/partners/properties/?page=2&page_size=2", page.Previous)
	b.call(t, key, "GET", "/api/v1/partners/properties/?page_size=500", nil).json(t, &page)
	require.Len(t, page.Results, 5, "page_size is capped at 100, not refused")
	b.call(t, "om_other", "GET", "/api/v1/partners/properties/", nil).json(t, &page)
	require.Zero(t, page.Count, "a partner sees only its own properties")
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{Seed: 6})
	ids := b.sb.SeededIDs()
	require.Len(t, ids, 6)
	methods, overdue, completed := map[string]int{}, 0, 0
	for _, id := range ids {
		p, ok := b.sb.Lookup(id)
		require.True(t, ok)
		require.Equal(t, "partner-a", p.Partner)
		methods[p.Request.SaleMethod]++
		for _, m := range p.Milestones {
			if m.IsOverdue {
				overdue++
			}
			if m.Completed {
				completed++
			}
		}
	}
	require.Len(t, methods, 3)
	require.Positive(t, overdue)
	require.Positive(t, completed)

	again, err := sandbox.New(sandbox.Config{Seed: 6, Keys: map[string]string{key: "partner-a"}})
	require.NoError(t, err)
	require.Equal(t, ids, again.SeededIDs(), "ids are reproducible for a RandSeed")
	require.NoError(t, again.Close(t.Context()))
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]sandbox.Config{
		"webhook without secret": {WebhookURL: "http://127.0.0.1:1/hook"},
		"relative webhook":       {WebhookURL: "/hook", WebhookSecret: "s"},
		"error rate":             {Faults: sandbox.Faults{ErrorRate: 1.5}},
		"force status":           {Faults: sandbox.Faults{ForceStatus: 42}},
		"empty partner":          {Keys: map[string]string{"om_x": ""}},
		"reject without field":   {Rejects: []sandbox.Reject{{Message: "no"}}},
	} {
		_, err := sandbox.New(c)
		require.ErrorIs(t, err, sandbox.ErrInvalidConfig, name)
	}
	require.NotContains(t, sandbox.Config{Keys: map[string]string{"om_secret_k": "p"}}.String(), "om_secret_k")
}
