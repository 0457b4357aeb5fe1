package sandbox_test

import (
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove/sandbox"
)

type hook struct {
	Event string          `json:"event"`
	Time  time.Time       `json:"timestamp"`
	Data  json.RawMessage `json:"data"`
}

func TestWebhooksSignedAndRetried(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test"
	var calls atomic.Int32
	got := make(chan hook, 10)
	milestoneCreated := make(chan hook, 10) // property.milestone.created, one per milestone
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		require.True(t, hmac.Equal([]byte(sandbox.Sign(secret, body)), []byte(r.Header.Get(sandbox.SignatureHeader))))
		var h hook
		require.NoError(t, json.Unmarshal(body, &h))
		if h.Event == sandbox.EventMilestoneCreated {
			milestoneCreated <- h
			return
		}
		if calls.Add(1) <= 2 { // the first two attempts fail: 10ms and 100ms retries follow
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		got <- h
	}))
	t.Cleanup(recv.Close)
	b := setup(t, sandbox.Config{WebhookURL: recv.URL, WebhookSecret: secret, TimeScale: 0.001})

	a := b.call(t, key, "POST", "/api/v1/partners/clients/", validRequest())
	require.Equal(t, 201, a.status)
	h := <-got
	require.Equal(t, sandbox.EventPropertyCreated, h.Event)
	require.EqualValues(t, 3, calls.Load(), "delivered on the third attempt")
	var created struct {
		PropertyID int64 `json:"property_id"`
		Property   struct {
			TransactionID string `json:"transactionId"`
		} `json:"property"`
	}
	require.NoError(t, json.Unmarshal(h.Data, &created))
	require.NotEmpty(t, created.Property.TransactionID)
	p, ok := b.sb.Lookup(created.Property.TransactionID)
	require.True(t, ok)
	ids := map[int64]string{}
	for range p.Milestones {
		var mc struct {
			PropertyID int64 `json:"property_id"`
			Milestone  struct {
				ID        int64     `json:"id"`
				Name      string    `json:"name"`
				Completed bool      `json:"completed"`
				DueDate   time.Time `json:"due_date"`
			} `json:"milestone"`
		}
		require.NoError(t, json.Unmarshal((<-milestoneCreated).Data, &mc))
		require.Equal(t, created.PropertyID, mc.PropertyID)
		require.False(t, mc.Milestone.Completed)
		require.False(t, mc.Milestone.DueDate.IsZero())
		ids[mc.Milestone.ID] = mc.Milestone.Name
	}
	for _, m := range p.Milestones {
		require.Equal(t, m.Name, ids[m.ID], "property.milestone.created names every milestone with its id")
	}

	_, err := b.sb.CompleteMilestone(created.Property.TransactionID, "Instruction")
	require.NoError(t, err)
	h = <-got
	require.Equal(t, sandbox.EventMilestoneUpdated, h.Event)
	var upd struct {
		PropertyID int64 `json:"property_id"`
		Milestone  struct {
			ID            int64     `json:"id"`
			Name          string    `json:"name"`
			Completed     bool      `json:"completed"`
			CompletedDate time.Time `json:"completed_date"`
		} `json:"milestone"`
	}
	require.NoError(t, json.Unmarshal(h.Data, &upd))
	require.Equal(t, created.PropertyID, upd.PropertyID)
	require.Equal(t, "Instruction", upd.Milestone.Name)
	require.True(t, upd.Milestone.Completed)

	// Completing it again sends nothing.
	_, err = b.sb.CompleteMilestone(created.Property.TransactionID, "instruction")
	require.NoError(t, err)
	require.EqualValues(t, 4, calls.Load())
}

func TestWebhookRetriesStopAtClose(t *testing.T) {
	t.Parallel()
	failed := make(chan struct{}, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		select {
		case failed <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(recv.Close)
	// TimeScale 1: the next retry would be 10s away; Close must not wait for it.
	sb, err := sandbox.New(sandbox.Config{WebhookURL: recv.URL, WebhookSecret: "s"})
	require.NoError(t, err)
	require.NoError(t, sb.Start(t.Context()))
	tx, err := sb.SeedProperty(sandbox.DefaultAPIKey, validRequest())
	require.NoError(t, err)
	_, err = sb.CompleteMilestone(tx, "Instruction")
	require.NoError(t, err)
	<-failed
	start := time.Now()
	require.NoError(t, sb.Close(t.Context()))
	require.Less(t, time.Since(start), 5*time.Second)
}
