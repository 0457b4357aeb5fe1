package deadletter_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/streams"
)

// FuzzValidateEdit: a body omq dlq edit accepts for a subject must be one
// the worker behind that subject accepts too — else the replay only
// dead-letters it again. Events are held to events.Parse, property
// creations to events.DecodeCreateProperty and Validate.
func FuzzValidateEdit(f *testing.F) {
	const good = `{"first_name":"Ann","last_name":"Lee","email":"ann@example.com","phone_number":"07700 900123","property_address":"1 High St","property_postcode":"SW1A 1AA","conveyancer_email":"c@example.com","request_id":"r-1"}`
	f.Add("commands.create_property", []byte(good))
	f.Add("commands.create_property", []byte(strings.Replace(good, `"request_id"`, `"Request_ID"`, 1)))
	f.Add("events.offer_accepted", []byte(`{"type":"offer_accepted","transaction_id":"3f2a9c1e-0000-4000-8000-000000000001"}`))
	f.Add("events.offer_accepted", []byte(`{"type":"house_sold","transaction_id":"tx"}`))
	f.Add("outcomes.milestone_completed", []byte(`{}`))
	f.Fuzz(func(t *testing.T, tail string, body []byte) {
		subject := "openmoove." + tail
		if deadletter.DefaultValidators.Validate("openmoove", subject, body) != nil {
			return
		}
		pattern, _ := deadletter.DefaultValidators.For("openmoove", subject)
		switch pattern {
		case "events.>":
			if _, err := events.Parse(body); err != nil {
				t.Fatalf("edit accepted for %s, the events worker refuses: %v", subject, err)
			}
		case "commands.create_property":
			c, err := events.DecodeCreateProperty(body)
			if err == nil {
				err = c.Validate(nil)
			}
			if err != nil {
				t.Fatalf("edit accepted for %s, the property worker refuses: %v", subject, err)
			}
		}
	})
}

// FuzzReplayMsg: the original subject of a dead letter comes from its
// header, which anyone who can write to the DLQ stream sets; a replay must
// publish to exactly one literal subject or refuse.
func FuzzReplayMsg(f *testing.F) {
	f.Add("openmoove.events.offer_accepted", "evt-1")
	f.Add("openmoove.events.*", "")
	f.Add("openmoove.>", "a b")
	f.Add("openmoove..events", "x:replay:3")
	f.Add(" openmoove.events.offer_accepted", "")
	f.Fuzz(func(t *testing.T, original, msgID string) {
		h := nats.Header{}
		h.Set(deadletter.HeaderOriginalSubject, original)
		h.Set(deadletter.HeaderOriginalMsgID, msgID)
		h.Set(deadletter.HeaderOriginalStream, "OPENMOOVE_EVENTS")
		l := deadletter.Letter{ID: 7, OriginalSubject: original, OriginalMsgID: msgID, OriginalStream: "OPENMOOVE_EVENTS", Header: h}
		msg, err := deadletter.ReplayMsg(&l, []byte(`{}`))
		if err != nil {
			return
		}
		if err := streams.CheckLiteralSubject(msg.Subject); err != nil {
			t.Fatalf("replay to %q: %v", msg.Subject, err)
		}
		if msg.Header.Get(jetstream.MsgIDHeader) == "" {
			t.Fatal("a replay without a Nats-Msg-Id")
		}
	})
}
