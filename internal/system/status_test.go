package system_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// GET /status and /readyz read one model: a degraded system (calls
// failing) stays ready, while a missing stream makes both say so.
func TestStatusAndReadyzAgree(t *testing.T) {
	t.Parallel()
	s := start(t, testConfig(t), nil)
	base := "http://" + s.HTTPAddr()
	code, body := get(t, base+"/status")
	if code != http.StatusOK || body["state"] != "healthy" {
		t.Fatalf("/status %d %v, want 200 healthy at rest", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	top := s.Deps().Topology
	kv, err := s.Deps().JS.KeyValue(ctx, top.FailuresBucket())
	if err != nil {
		t.Fatal(err)
	}
	hist := `[{"at":"2026-06-01T12:00:00Z","kind":"transient","error":"openmoove: PATCH /milestones/3/: 503 Service Unavailable","delivery":1}]`
	if _, err := kv.Put(ctx, top.EventsStream()+".1", []byte(hist)); err != nil {
		t.Fatal(err)
	}
	code, body = get(t, base+"/status")
	reasons, _ := json.Marshal(body["reasons"])
	if code != http.StatusOK || body["state"] != "degraded" || !strings.Contains(string(reasons), "calls failing") {
		t.Fatalf("/status %d %v %s, want 200 degraded: calls failing", code, body["state"], reasons)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz %d %v while only degraded, want 200", code, body)
	}

	if err := s.Deps().JS.DeleteStream(ctx, top.DLQStream()); err != nil {
		t.Fatal(err)
	}
	_, body = get(t, base+"/status")
	reasons, _ = json.Marshal(body["reasons"])
	if !strings.Contains(string(reasons), "stream OPENMOOVE_DLQ is missing") {
		t.Fatalf("/status reasons %s, want the missing stream", reasons)
	}
	if code, _ := get(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d with a stream missing, want 503", code)
	}
}
