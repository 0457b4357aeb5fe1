package webhooks

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/streams"
)

// FuzzDecodeEnvelope holds the worker's reading of a stored webhook body
// to: a refused body is a permanent failure (never retried); an accepted
// one names an event and survives a JSON round trip; a transaction id the
// worker would track makes a literal TRACKING key.
func FuzzDecodeEnvelope(f *testing.F) {
	f.Add([]byte(`{"event":"property.milestone.updated","timestamp":"2024-01-15T10:30:00Z","data":{"property_id":7,"milestone":{"id":3,"name":"Legal Pack","completed":true,"completed_date":"2024-01-15T10:30:00Z"}}}`))
	f.Add([]byte(`{"event":"property.created","timestamp":"2024-01-15T10:30:00+01:00","data":{"property_id":7,"property":{"transactionId":"3F2A9C1E-0000-4000-8000-000000000001"}}}`))
	f.Add([]byte(`{"event":"","data":null}`))
	f.Add([]byte(`{"event":"property.updated","timestamp":"2019-01-01T00:00:00Z","data":{"property_id":-1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		env, err := decodeEnvelope(body)
		if err != nil {
			if failure.KindOf(err) != failure.Permanent {
				t.Fatalf("a refused body is %v, not permanent: %v", failure.KindOf(err), err)
			}
			return
		}
		if env.Event == "" {
			t.Fatal("accepted an envelope without an event name")
		}
		first, err := json.Marshal(env)
		if err != nil {
			t.Fatalf("accepted, but does not marshal: %v", err)
		}
		back, err := decodeEnvelope(first)
		if err != nil {
			t.Fatalf("%s: marshalled envelope refused: %v", first, err)
		}
		if back.Event != env.Event || back.Timestamp != env.Timestamp {
			t.Fatalf("round trip changed the envelope:\n%#v\n%#v", env, back)
		}
		if second, _ := json.Marshal(back); !bytes.Equal(first, second) {
			t.Fatalf("second marshal differs:\n%s\n%s", first, second)
		}
		// A timestamp the worker accepts can be compared, stored and
		// written back: never an offset such as +24:00.
		if at, err := timestamp(env, time.Now()); err == nil {
			if _, err := at.MarshalJSON(); err != nil {
				t.Fatalf("timestamp %q accepted but cannot be written back: %v", env.Timestamp, err)
			}
		} else if failure.KindOf(err) != failure.Permanent {
			t.Fatalf("a refused timestamp is %v, not permanent: %v", failure.KindOf(err), err)
		}
		checkTrackingKey(t, env)
	})
}

// checkTrackingKey: the transaction id of a property.created webhook, once
// the store takes it, is the tail of a KV key.
func checkTrackingKey(t *testing.T, env envelope) {
	var d struct {
		Property struct {
			TransactionID string `json:"transactionId"`
		} `json:"property"`
	}
	if env.Event != EventPropertyCreated || json.Unmarshal(env.Data, &d) != nil {
		return
	}
	tx := d.Property.TransactionID
	if poller.ValidTransaction(tx) != nil {
		return
	}
	if err := streams.CheckLiteralSubject("tx." + strings.ToLower(tx)); err != nil {
		t.Fatalf("transaction %q: %v", tx, err)
	}
}
