package ingest

import (
	"encoding/json"
	"fmt"
)

// itemDecoder decodes and validates one item of a request body. itemKey is
// the id Idempotency-Key gives the item ("" without the header; key:i in an
// array), to be used only when the item has no id of its own. It returns
// the item's field errors, or an error for anything else (a 500).
type itemDecoder[T any] func(raw json.RawMessage, itemKey string) (T, map[string][]string, error)

// decodeItems accepts one JSON object or an array of them, checks the
// Idempotency-Key, and decodes every item before any is published: all
// items, or a *BadRequest naming every field of every item ("[i].field" in
// an array) with nothing published. what names the items in the message.
func decodeItems[T any](body []byte, key, what string, decode itemDecoder[T]) ([]T, error) {
	raws, single, bad := splitBody(body)
	if bad == nil {
		bad = checkKey(key, single, len(raws))
	}
	if bad != nil {
		return nil, bad
	}
	fields := FieldErrors{}
	items := make([]T, len(raws))
	for i, raw := range raws {
		prefix, itemKey := "", key
		if !single {
			prefix = fmt.Sprintf("[%d].", i)
			if key != "" {
				itemKey = fmt.Sprintf("%s:%d", key, i)
			}
		}
		item, fe, err := decode(raw, itemKey)
		if err != nil {
			return nil, err
		}
		for f, msgs := range fe {
			fields[prefix+f] = append(fields[prefix+f], msgs...)
		}
		items[i] = item
	}
	if len(fields) > 0 {
		return nil, &BadRequest{Message: "invalid " + what + ": nothing was published; fix the fields named and send again", Fields: fields}
	}
	return items, nil
}
