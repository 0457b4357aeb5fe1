package ingest

import (
	"errors"
	"fmt"

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
	raws, single, bad := splitBody(body)
	if bad == nil {
		bad = checkKey(key, single, len(raws))
	}
	if bad != nil {
		return nil, bad
	}
	fields := FieldErrors{}
	reqs := make([]events.CreateProperty, len(raws))
	for i, raw := range raws {
		prefix := ""
		if !single {
			prefix = fmt.Sprintf("[%d].", i)
		}
		req, err := events.DecodeCreateProperty(raw)
		if err == nil {
			if req.RequestID == "" && key != "" {
				req.RequestID = key
				if !single {
					req.RequestID = fmt.Sprintf("%s:%d", key, i)
				}
			}
			err = req.Validate(s.opts.Fill)
		}
		if err != nil {
			var ve *openmoove.ValidationError
			if !errors.As(err, &ve) {
				return nil, err
			}
			for f, msgs := range ve.Fields {
				fields[prefix+f] = append(fields[prefix+f], msgs...)
			}
			continue
		}
		reqs[i] = req
	}
	if len(fields) > 0 {
		return nil, &BadRequest{Message: "invalid property creation: nothing was published; fix the fields named and send again", Fields: fields}
	}
	msgs := make([]Message, len(reqs))
	for i := range reqs {
		if reqs[i].RequestID == "" {
			reqs[i].RequestID = events.NewRequestID()
		}
		b, err := reqs[i].Marshal()
		if err != nil {
			return nil, err
		}
		msgs[i] = Message{ID: reqs[i].RequestID, Subject: s.Topology().CreatePropertySubject(), Body: b}
	}
	return msgs, nil
}
