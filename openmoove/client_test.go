package openmoove_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

const testKey = "om_test_secret_key_1234"

type testBundle struct {
	sb     *sandbox.Server
	client *openmoove.Client
}

// setup starts a sandbox on a free loopback port and a client for testKey.
func setup(t *testing.T, cfg sandbox.Config, mod ...func(*openmoove.Config)) testBundle {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = map[string]string{testKey: "partner-a", "om_other_key": "partner-b"}
	}
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	require.NoError(t, sb.Start(t.Context()))
	t.Cleanup(func() { require.NoError(t, sb.Close(context.Background())) })
	cc := openmoove.Config{BaseURL: sb.URL(), APIKey: testKey}
	for _, m := range mod {
		m(&cc)
	}
	c, err := openmoove.New(cc)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return testBundle{sb: sb, client: c}
}

func TestEveryEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	ctx := t.Context()

	products, err := b.client.Products(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, products.Count)
	require.Equal(t, openmoove.ProductMooveReadyPack, products.Results[0].Slug)
	require.Equal(t, "GBP", products.Results[0].Price.Currency)

	created, err := b.client.CreateClient(ctx, testkit.CreateRequest())
	require.NoError(t, err)
	tx := created.Property.TransactionID
	require.NotEmpty(t, tx)
	require.Equal(t, "Client and property created successfully", created.Message)
	require.Equal(t, "+447700900123", created.Property.Participants[0].Phone, "the API stores E.164")
	require.NotNil(t, created.EstateAgentID)
	require.NotNil(t, created.ConveyancerID)
	require.Nil(t, created.AuctioneerID)
	require.Len(t, created.Purchases, 1)
	require.Equal(t, "net_30", created.Purchases[0].PaymentTerms)

	for _, id := range []string{tx, fmt.Sprint(created.PropertyID)} {
		p, err := b.client.Property(ctx, id)
		require.NoError(t, err, id)
		require.Equal(t, tx, p.TransactionID)
		require.Equal(t, "GBR", p.PropertyPack.Address.CountryCode)
		require.Equal(t, "Private Treaty", p.PropertyPack.PriceInformation.Disposal)
	}

	d, err := b.client.PropertyDetail(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, created.PropertyID, d.ID)
	require.Equal(t, created.MoverID, d.Seller.ID)
	require.Equal(t, openmoove.MemberInvited, d.Team.EstateAgent.Status)
	require.Nil(t, d.Team.Auctioneer)

	ms, err := b.client.Milestones(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, d.MilestonesCount, len(ms))
	require.Equal(t, openmoove.MilestoneInstruction, ms[0].Name)

	cur, err := b.client.CurrentMilestone(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, ms[0].ID, cur.ID)

	at := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	up, err := b.client.UpdateMilestone(ctx, tx, ms[0].ID, openmoove.UpdateMilestoneRequest{Completed: true, CompletedAt: &at})
	require.NoError(t, err)
	require.True(t, up.Completed)
	require.True(t, at.Equal(*up.CompletedAt))
	cur, err = b.client.CurrentMilestone(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, ms[1].ID, cur.ID, "the current milestone moves on")

	chat, err := b.client.Chat(ctx, tx, 1, 20)
	require.NoError(t, err)
	require.Equal(t, "Chat integration not yet implemented", chat.Message)
	sum, err := b.client.ChatSummary(ctx, tx)
	require.NoError(t, err)
	require.Equal(t, "Mock chat summary - real implementation pending", sum.Message)
}

func TestListPropertiesAndIterator(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	ctx := t.Context()
	for i := range 5 {
		req := testkit.CreateRequest()
		req.PropertyAddress = fmt.Sprintf("%d Mill Lane, Leeds", i+1)
		_, err := b.client.CreateClient(ctx, req)
		require.NoError(t, err)
	}
	page, err := b.client.ListProperties(ctx, 2, 2)
	require.NoError(t, err)
	require.Equal(t, 5, page.Count)
	require.Len(t, page.Results, 2)
	require.True(t, strings.HasPrefix(page.Next, b.sb.URL()+"properties/?"), page.Next)
	require.Contains(t, page.Next, "page=3")
	require.NotContains(t, page.Previous, "page=", "page 1 has no page parameter")

	var addrs []string
	for p, err := range b.client.AllProperties(ctx, 2) {
		require.NoError(t, err)
		addrs = append(addrs, p.Address)
	}
	require.Len(t, addrs, 5)
	require.Equal(t, "5 Mill Lane, Leeds", addrs[4])

	// Breaking out early stops fetching.
	b.sb.ResetRequests()
	for range b.client.AllProperties(ctx, 2) {
		break
	}
	require.Len(t, b.sb.Requests(), 1)
}

// apiError runs a call and returns its *openmoove.Error.
func apiError(t *testing.T, err error) *openmoove.Error {
	t.Helper()
	require.Error(t, err)
	var e *openmoove.Error
	require.ErrorAs(t, err, &e)
	return e
}

func TestErrorKinds(t *testing.T) {
	t.Parallel()
	noPros := testkit.CreateRequest()
	noPros.EstateAgentEmail, noPros.ConveyancerEmail = "", ""
	badPhone := testkit.CreateRequest()
	badPhone.PhoneNumber = "12345"
	auction := testkit.CreateRequest()
	auction.SaleMethod = openmoove.SaleModernAuction

	tests := []struct {
		name     string
		cfg      sandbox.Config
		key      string
		call     func(ctx context.Context, c *openmoove.Client, b testBundle) error
		status   int
		kind     failure.Kind
		fields   map[string][]string
		contains string
	}{
		{
			name: "400 plain field shape",
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.CreateClient(ctx, badPhone)
				return err
			},
			status: 400, kind: failure.Permanent,
			fields:   map[string][]string{"phone_number": {"Invalid phone number format"}},
			contains: "openmoove: POST /clients/: 400 Bad Request: phone_number: Invalid phone number format",
		},
		{
			name: "400 non_field_errors professional",
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.CreateClient(ctx, noPros)
				return err
			},
			status: 400, kind: failure.Permanent,
			fields:   map[string][]string{openmoove.NonFieldErrors: {openmoove.MsgProfessionalNeeded}},
			contains: "400 Bad Request: At least one professional email must be provided",
		},
		{
			name: "400 non_field_errors auctioneer",
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.CreateClient(ctx, auction)
				return err
			},
			status: 400, kind: failure.Permanent,
			fields: map[string][]string{openmoove.NonFieldErrors: {openmoove.MsgAuctioneerNeeded}},
		},
		{
			name: "400 detail and field_errors envelope",
			cfg:  sandbox.Config{ErrorEnvelope: true},
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.CreateClient(ctx, badPhone)
				return err
			},
			status: 400, kind: failure.Permanent,
			fields:   map[string][]string{"phone_number": {"Invalid phone number format"}},
			contains: "400 Bad Request: Invalid input.; phone_number: Invalid phone number format",
		},
		{
			name: "400 the local validator did not foresee",
			cfg:  sandbox.Config{Rejects: []sandbox.Reject{{Field: "property_address", Message: "Address not found in the UPRN register"}}},
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.CreateClient(ctx, testkit.CreateRequest())
				return err
			},
			status: 400, kind: failure.Permanent,
			fields: map[string][]string{"property_address": {"Address not found in the UPRN register"}},
		},
		{
			name: "401 unknown key is systemic", key: "om_wrong",
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.Products(ctx)
				return err
			},
			status: 401, kind: failure.Systemic, contains: "Invalid API key provided (check the API key",
		},
		{
			name: "403 another partner's property",
			call: func(ctx context.Context, c *openmoove.Client, b testBundle) error {
				tx, err := b.sb.SeedProperty("om_other_key", *testkit.CreateRequest())
				require.NoError(t, err)
				_, err = c.Milestones(ctx, tx)
				return err
			},
			status: 403, kind: failure.Permanent, contains: "You do not have permission",
		},
		{
			name: "404 unknown property",
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.PropertyDetail(ctx, "999999")
				return err
			},
			status: 404, kind: failure.Permanent, contains: "404 Not Found: Not found.",
		},
		{
			name: "429 throttled with a wait", cfg: sandbox.Config{RateLimit: 1, BurstLimit: 1},
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.Products(ctx)
				require.NoError(t, err)
				_, err = c.Products(ctx)
				return err
			},
			status: 429, kind: failure.Throttled, contains: "Request was throttled. Expected available in",
		},
		{
			name: "500 is transient", cfg: sandbox.Config{Faults: sandbox.Faults{ErrorRate: 1}},
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.Products(ctx)
				return err
			},
			status: 500, kind: failure.Transient,
		},
		{
			name: "503 outage is transient", cfg: sandbox.Config{Faults: sandbox.Faults{Outage: true}},
			call: func(ctx context.Context, c *openmoove.Client, _ testBundle) error {
				_, err := c.Products(ctx)
				return err
			},
			status: 503, kind: failure.Transient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := tt.key
			b := setup(t, tt.cfg, func(c *openmoove.Config) {
				if key != "" {
					c.APIKey = key
				}
			})
			e := apiError(t, tt.call(t.Context(), b.client, b))
			require.Equal(t, tt.status, e.Status)
			require.Equal(t, tt.kind, e.Kind)
			require.Equal(t, tt.kind, failure.KindOf(e))
			if tt.fields != nil {
				require.Equal(t, tt.fields, e.FieldErrors)
			}
			require.Contains(t, e.Error(), tt.contains)
			if tt.kind == failure.Throttled {
				w, ok := failure.WaitOf(e)
				require.True(t, ok)
				require.Greater(t, w, time.Duration(0))
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	_, err := b.client.Property(t.Context(), "00000000-0000-0000-0000-000000000000")
	require.True(t, openmoove.IsNotFound(err))
	require.False(t, openmoove.IsForbidden(err))
	require.Equal(t, 404, openmoove.StatusOf(fmt.Errorf("wrapped: %w", err)))
}

func TestTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{Faults: sandbox.Faults{LatencyMS: 2000}}, func(c *openmoove.Config) {
		c.Timeout = 50 * time.Millisecond
	})
	e := apiError(t, func() error { _, err := b.client.Products(t.Context()); return err }())
	require.Equal(t, 0, e.Status)
	require.Equal(t, failure.Transient, e.Kind)
	require.ErrorIs(t, e, context.DeadlineExceeded)
	require.Contains(t, e.Error(), "openmoove: GET /products/: timed out")
	require.NotContains(t, e.Error(), "http://", "the URL stays out of the message")
}

func TestConnectionRefusedIsTransient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	c, err := openmoove.New(openmoove.Config{BaseURL: "http://" + addr + "/api/v1/partners/", APIKey: testKey})
	require.NoError(t, err)
	_, err = c.Products(t.Context())
	e := apiError(t, err)
	require.Equal(t, failure.Transient, e.Kind)
	require.Contains(t, e.Error(), "connection refused")
	require.NotContains(t, e.Error(), testKey)
}

func TestHooks(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		seen  []openmoove.RateLimit
		infos []openmoove.RequestInfo
	)
	refuse := errors.New("budget spent")
	b := setup(t, sandbox.Config{RateLimit: 10}, func(c *openmoove.Config) {
		c.OnRateLimit = func(rl openmoove.RateLimit) { mu.Lock(); seen = append(seen, rl); mu.Unlock() }
		c.BeforeRequest = func(_ context.Context, r openmoove.RequestInfo) error {
			mu.Lock()
			defer mu.Unlock()
			infos = append(infos, r)
			if r.Mutation {
				return failure.ThrottledError(refuse, time.Second)
			}
			return nil
		}
	})
	_, err := b.client.Products(t.Context())
	require.NoError(t, err)
	_, err = b.client.CreateClient(t.Context(), testkit.CreateRequest())
	require.ErrorIs(t, err, refuse)
	require.Equal(t, failure.Throttled, failure.KindOf(err))
	require.ErrorIs(t, err, openmoove.ErrNotSent, "a refused call says nothing reached the API")
	require.Contains(t, err.Error(), "openmoove: POST /clients/: not sent: budget spent")
	_, err = b.client.Property(t.Context(), "999")
	require.Error(t, err)
	require.NotErrorIs(t, err, openmoove.ErrNotSent, "a 404 was sent")

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []openmoove.RequestInfo{
		{Method: "GET", Path: "/products/"},
		{Method: "POST", Path: "/clients/", Mutation: true},
		{Method: "GET", Path: "/properties/999/"},
	}, infos)
	require.Len(t, seen, 2, "errors carry rate limits too; the refused call sent nothing")
	require.Equal(t, 10, seen[0].Limit)
	require.Equal(t, 9, seen[0].Remaining)
	require.Equal(t, 8, seen[1].Remaining)
	require.False(t, seen[1].Reset.IsZero())
	require.Len(t, b.sb.Requests(), 2)
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"count":0,"results":[],"unknown_field":true}`))
	}))
	t.Cleanup(srv.Close)
	c, err := openmoove.New(openmoove.Config{BaseURL: srv.URL + "/api/v1/partners", APIKey: testKey})
	require.NoError(t, err)
	_, err = c.Products(t.Context())
	require.NoError(t, err, "unknown fields are tolerated")
	h := <-got
	require.Equal(t, testKey, h.Get("X-API-KEY"))
	require.Equal(t, "application/json", h.Get("Content-Type"))
	require.Equal(t, "omq/"+openmoove.Version, h.Get("User-Agent"))
}

func TestKeyNeverLeaks(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := setup(t, sandbox.Config{Logger: logger, RateLimit: 3, BurstLimit: 3})
	cfg := openmoove.Config{BaseURL: b.sb.URL(), APIKey: testKey}
	logger.Info("config", "cfg", cfg, "client", b.client)

	var errs []error
	_, err := b.client.CreateClient(t.Context(), &openmoove.CreateClientRequest{})
	errs = append(errs, err)
	_, err = b.client.Property(t.Context(), "nope")
	errs = append(errs, err)
	_, err = b.client.Products(t.Context())
	require.NoError(t, err)
	_, err = b.client.Products(t.Context())
	errs = append(errs, err) // 429

	dead, err := openmoove.New(openmoove.Config{BaseURL: "http://127.0.0.1:1/api/v1/partners/", APIKey: testKey})
	require.NoError(t, err)
	_, err = dead.Products(t.Context())
	errs = append(errs, err)
	bad, err := openmoove.New(openmoove.Config{BaseURL: b.sb.URL(), APIKey: "om_wrong_" + testKey})
	require.NoError(t, err)
	_, err = bad.Products(t.Context())
	errs = append(errs, err)

	texts := []string{logs.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%v %+v %s", b.client, b.client, b.client), fmt.Sprintf("%+v", b.sb.Requests())}
	for _, e := range errs {
		require.Error(t, e)
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
	}
	for _, s := range texts {
		require.NotContains(t, s, "secret_key", "the API key leaked: %s", s)
	}
	require.Contains(t, fmt.Sprint(cfg), "om_[REDACTED]")
}

func TestOnResponse(t *testing.T) {
	t.Parallel()
	type call struct {
		path   string
		status int
	}
	var (
		mu    sync.Mutex
		calls []call
	)
	b := setup(t, sandbox.Config{}, func(c *openmoove.Config) {
		c.OnResponse = func(r openmoove.RequestInfo, status int, d time.Duration) {
			require.Positive(t, d)
			mu.Lock()
			calls = append(calls, call{r.Path, status})
			mu.Unlock()
		}
	})
	_, err := b.client.Products(t.Context())
	require.NoError(t, err)
	_, err = b.client.Property(t.Context(), "999")
	require.Error(t, err)
	dead, err := openmoove.New(openmoove.Config{BaseURL: "http://127.0.0.1:1/api/v1/partners/", APIKey: testKey,
		OnResponse: func(r openmoove.RequestInfo, status int, _ time.Duration) {
			mu.Lock()
			calls = append(calls, call{r.Path, status})
			mu.Unlock()
		}})
	require.NoError(t, err)
	_, err = dead.Products(t.Context())
	require.Error(t, err)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []call{{"/products/", 200}, {"/properties/999/", 404}, {"/products/", 0}}, calls)
}
