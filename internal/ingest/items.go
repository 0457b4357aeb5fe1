package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
)

// Bounds of a 400 answer. A body of a million bad items once produced a
// 400 of 80 MB and a gigabyte of memory to build it; the caller can fix
// the first few problems and send again.
const (
	// MaxFieldErrors is the most field error messages one answer lists.
	MaxFieldErrors = 20
	// maxNameLen and maxMessageLen clip a field name and a message, which
	// may quote the caller's input (an unknown field of a megabyte).
	maxNameLen    = 80
	maxMessageLen = 200
)

// DefaultMaxItems is the default cap on the items of one request
// (--ingest-max-items); MaxMaxItems the highest it may be set to. Up to the
// cap, a body's items are split before any is decoded, so the cap bounds
// that work too.
const (
	DefaultMaxItems = 1000
	MaxMaxItems     = 10_000
)

// itemDecoder decodes and validates one item of a request body. itemKey is
// the id Idempotency-Key gives the item ("" without the header; key:i in an
// array), to be used only when the item has no id of its own. It returns
// the item's field errors, or an error for anything else (a 500).
type itemDecoder[T any] func(raw json.RawMessage, itemKey string) (T, map[string][]string, error)

// decodeItems accepts one JSON object or an array of at most maxItems, checks
// the Idempotency-Key, and decodes the items before any is published: all
// items, or a *BadRequest naming the fields of the items ("[i].field" in
// an array) with nothing published. It stops decoding once MaxFieldErrors
// messages are listed. what names the items in the message.
func decodeItems[T any](body []byte, key, what string, maxItems int, decode itemDecoder[T]) ([]T, error) {
	raws, single, bad := splitBody(body, maxItems)
	if bad == nil {
		bad = checkKey(key, single, len(raws))
	}
	if bad != nil {
		return nil, bad
	}
	var errs collector
	items := make([]T, 0, len(raws))
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
		errs.add(prefix, fe)
		if errs.full() && i < len(raws)-1 {
			errs.unchecked = len(raws) - 1 - i
			break
		}
		items = append(items, item)
	}
	if len(errs.fields) > 0 {
		return nil, errs.badRequest(what)
	}
	return items, nil
}

// collector keeps the first MaxFieldErrors field errors of a request and
// counts the rest.
type collector struct {
	fields    FieldErrors
	listed    int
	omitted   int // messages of checked items not listed
	unchecked int // items not decoded at all
}

func (c *collector) full() bool { return c.listed >= MaxFieldErrors }

// add takes the field errors of one item, in field order so that the same
// body always gets the same answer.
func (c *collector) add(prefix string, fe map[string][]string) {
	if len(fe) == 0 {
		return
	}
	if c.fields == nil {
		c.fields = FieldErrors{}
	}
	for _, name := range slices.Sorted(maps.Keys(fe)) {
		for _, msg := range fe[name] {
			if c.full() {
				c.omitted++
				continue
			}
			k := clip(prefix+name, maxNameLen)
			c.fields[k] = append(c.fields[k], clip(msg, maxMessageLen))
			c.listed++
		}
	}
}

func (c *collector) badRequest(what string) *BadRequest {
	msg := "invalid " + what + ": nothing was published; fix the fields named and send again"
	switch {
	case c.unchecked > 0:
		msg += fmt.Sprintf(" (the first %d problems are listed, and more: the last %d items were not checked)", c.listed, c.unchecked)
	case c.omitted > 0:
		msg += fmt.Sprintf(" (the first %d problems are listed, and %d more)", c.listed, c.omitted)
	}
	return &BadRequest{Message: msg, Fields: c.fields, Truncated: c.unchecked > 0 || c.omitted > 0}
}

// clip shortens s to at most n bytes (on a rune boundary), marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 { // inside a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}

// splitBody returns the raw elements of a JSON object or array body. It
// refuses an array of more than maxItems as soon as it meets item
// maxItems+1, without reading the rest.
func splitBody(body []byte, maxItems int) (raws []json.RawMessage, single bool, bad *BadRequest) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, false, &BadRequest{Message: "empty body: send one JSON object or an array of them", Fields: FieldErrors{"body": {"required"}}}
	}
	if trimmed[0] != '[' {
		return []json.RawMessage{trimmed}, true, nil
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if _, err := dec.Token(); err != nil { // the '['
		return nil, false, malformedArray(err)
	}
	for dec.More() {
		if len(raws) == maxItems {
			return nil, false, &BadRequest{
				Message: fmt.Sprintf("more than %d items in one request (--ingest-max-items): nothing was published; send at most %d per request", maxItems, maxItems),
				Fields:  FieldErrors{"body": {fmt.Sprintf("must hold at most %d items", maxItems)}}}
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false, malformedArray(err)
		}
		raws = append(raws, raw)
	}
	if _, err := dec.Token(); err != nil { // the ']'
		return nil, false, malformedArray(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, malformedArray(fmt.Errorf("data after the array"))
	}
	if len(raws) == 0 {
		return nil, false, &BadRequest{Message: "empty array: send at least one item", Fields: FieldErrors{"body": {"must hold at least one item"}}}
	}
	return raws, false, nil
}

func malformedArray(err error) *BadRequest {
	return &BadRequest{Message: clip("malformed JSON array: "+err.Error(), maxMessageLen), Fields: FieldErrors{"body": {"must be a JSON object or an array of objects"}}}
}
