package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/openmoove/omq/openmoove"
)

// Webhook events the sandbox sends.
const (
	EventPropertyCreated  = "property.created"
	EventMilestoneUpdated = "property.milestone.updated"
	// EventMilestoneCreated is sent once per milestone of a property
	// created through POST /clients/, after property.created (delivery
	// is unordered), as the API reference lists it.
	EventMilestoneCreated = "property.milestone.created"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of the raw body>".
const SignatureHeader = "X-OpenMoove-Signature"

// Sign returns the X-OpenMoove-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhooks delivers signed events, each in its own goroutine owned by the
// Server's WaitGroup, retrying on the vendor's schedule scaled by TimeScale.
// Deliveries are not ordered, as with the real API.
type webhooks struct {
	ctx     context.Context
	url     string
	secret  string
	retries []time.Duration
	client  *http.Client
	log     *slog.Logger
	wg      *sync.WaitGroup
}

func newWebhooks(ctx context.Context, c Config, wg *sync.WaitGroup) *webhooks {
	retries := make([]time.Duration, len(c.WebhookRetries))
	for i, d := range c.WebhookRetries {
		retries[i] = time.Duration(float64(d) * c.TimeScale)
	}
	return &webhooks{ctx: ctx, url: c.WebhookURL, secret: c.WebhookSecret, retries: retries,
		client: &http.Client{Timeout: 10 * time.Second}, log: c.Logger, wg: wg}
}

// send queues an event; it returns at once.
func (h *webhooks) send(event string, at time.Time, data any) {
	body, err := json.Marshal(map[string]any{"event": event, "timestamp": at.UTC().Format(time.RFC3339), "data": data})
	if err != nil || h.ctx.Err() != nil {
		return
	}
	h.wg.Go(func() { h.deliver(event, body) })
}

func (h *webhooks) deliver(event string, body []byte) {
	for attempt := 0; ; attempt++ {
		status, err := h.post(body)
		if err == nil && status < 400 {
			return
		}
		if attempt >= len(h.retries) {
			h.log.Warn("sandbox webhook given up", "event", event, "attempts", attempt+1, "status", status, "err", err)
			return
		}
		h.log.Debug("sandbox webhook failed, will retry", "event", event, "status", status, "err", err,
			"retry_in", h.retries[attempt])
		t := time.NewTimer(h.retries[attempt])
		select {
		case <-h.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (h *webhooks) post(body []byte) (int, error) {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "OpenMoove-Webhooks/1.0 (omq sandbox)")
	req.Header.Set(SignatureHeader, Sign(h.secret, body))
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (s *Server) createdWebhook(resp openmoove.CreateClientResponse, at time.Time) {
	if s.hooks == nil {
		return
	}
	s.hooks.send(EventPropertyCreated, at, map[string]any{"property_id": resp.PropertyID, "property": resp.Property})
}

func (s *Server) milestoneWebhook(event string, propertyID int64, m openmoove.Milestone, at time.Time) {
	if s.hooks == nil {
		return
	}
	body := map[string]any{"id": m.ID, "name": m.Name, "completed": m.Completed, "completed_date": m.CompletedAt}
	if event == EventMilestoneCreated {
		body["due_date"] = m.DueDate
	}
	s.hooks.send(event, at, map[string]any{"property_id": propertyID, "milestone": body})
}
