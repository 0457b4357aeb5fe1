package ingest

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openmoove/omq/events"
)

func init() { addEndpoint("POST /v1/events", "events", decodeEvents) }

// decodeEvents accepts one event object or an array of them. Every element
// is validated before any is published; field errors of an array element
// are keyed "[i].field".
func decodeEvents(s *Server, body []byte, key string) ([]Message, error) {
	evs, err := decodeItems(body, key, "event", s.opts.MaxItems, func(raw json.RawMessage, itemKey string) (events.Event, map[string][]string, error) {
		ev, err := events.Parse(raw)
		var ve *events.ValidationError
		if errors.As(err, &ve) {
			return ev, ve.Fields, nil
		}
		if err != nil {
			return ev, nil, err
		}
		// The event's own id wins; Idempotency-Key names the events that
		// have none (as request_id wins on /v1/properties), so the Msg-Id
		// and the stored id are always the same.
		switch {
		case ev.ID != "":
		case itemKey != "":
			ev.ID = itemKey
		default:
			ev.ID = events.NewID()
		}
		return ev, nil, nil
	})
	if err != nil {
		return nil, err
	}
	msgs := make([]Message, len(evs))
	for i, ev := range evs {
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		msgs[i] = Message{ID: ev.ID, Subject: s.Topology().EventSubject(ev.Type), Body: b}
	}
	return msgs, nil
}

// checkKey refuses an Idempotency-Key that cannot make the ids of n items:
// each id (the key, or key:index for an array) becomes a Nats-Msg-Id and
// the id of an event that has none, so it must be a valid event id.
func checkKey(key string, single bool, n int) *BadRequest {
	if key == "" {
		return nil
	}
	id := key
	if !single {
		id = fmt.Sprintf("%s:%d", key, n-1)
	}
	e := events.Event{ID: id}
	var ve *events.ValidationError
	if !errors.As(e.Validate(), &ve) || len(ve.Fields["id"]) == 0 {
		return nil
	}
	msg := ve.Fields["id"][0]
	if !single {
		msg += `, with ":<index>" added for each item of the array`
	}
	return &BadRequest{Message: "invalid Idempotency-Key header: nothing was published", Fields: FieldErrors{"Idempotency-Key": {msg}}}
}
