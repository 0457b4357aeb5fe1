package ingest

import (
	"encoding/json"
	"errors"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
)

func init() { addEndpoint("POST /v1/properties", "properties", decodeProperties) }

// decodeProperties accepts one property creation (the POST /clients/ body
// plus an optional request_id) or an array of them. Every element is decoded
// and validated with the API's own rules — after the same completion the
// worker applies (Options.Fill) — before any is published. The request_id is
// the Nats-Msg-Id; Idempotency-Key supplies it when the body has none.
func decodeProperties(s *Server, body []byte, key string) ([]Message, error) {
	reqs, err := decodeItems(body, key, "property creation", s.opts.MaxItems, func(raw json.RawMessage, itemKey string) (events.CreateProperty, map[string][]string, error) {
		req, err := events.DecodeCreateProperty(raw)
		if err == nil {
			if req.RequestID == "" {
				req.RequestID = itemKey
			}
			err = req.Validate(s.opts.Fill)
		}
		var ve *openmoove.ValidationError
		if errors.As(err, &ve) {
			return req, ve.Fields, nil
		}
		if err != nil {
			return req, nil, err
		}
		if req.RequestID == "" {
			req.RequestID = events.NewRequestID()
		}
		return req, nil, nil
	})
	if err != nil {
		return nil, err
	}
	// A request of many is bulk work (laneOf): it goes to the bulk subject,
	// consumed apart, so it never stands in front of live creations.
	subject := s.Topology().CreatePropertySubject()
	if laneOf(len(reqs)) == events.LaneBulk {
		subject = s.Topology().BulkCreatePropertySubject()
	}
	msgs := make([]Message, len(reqs))
	for i, req := range reqs {
		b, err := req.Marshal()
		if err != nil {
			return nil, err
		}
		msgs[i] = Message{ID: req.RequestID, Subject: subject, Body: b}
	}
	return msgs, nil
}
