package deadletter

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/openmoove/omq/streams"
)

// Letter is one dead letter as read from the DLQ stream.
type Letter struct {
	// ID is the letter's sequence in the DLQ stream; omq dlq commands take it.
	ID uint64
	// Subject is the DLQ subject: <prefix>.dlq.<original subject>.
	Subject string

	OriginalSubject string
	OriginalStream  string
	OriginalSeq     uint64
	// OriginalMsgID is the original Nats-Msg-Id, "" if it had none.
	OriginalMsgID string

	// Deliveries is how many times the message was delivered.
	Deliveries int
	// Error is the last error; Kind its kind (see Kinds).
	Error string
	Kind  string
	// Errors is the history, oldest first.
	Errors []ErrorRecord
	// FailedAt is HeaderFailedAt, else the letter's time in the stream.
	FailedAt time.Time
	// Worker is the consumer that gave up, or "deadletters" (the mover).
	Worker string

	// Header is every header as stored, the Omq-* ones included.
	Header nats.Header
	// Data is the original body.
	Data []byte
	// Size is the body and header bytes, as counted in Stats.
	Size int
}

// failureHeaders are what dead-lettering added; a replay drops them.
var failureHeaders = []string{
	HeaderOriginalSubject, HeaderOriginalStream, HeaderOriginalSeq, HeaderOriginalMsgID,
	HeaderDeliveries, HeaderError, HeaderErrorKind, HeaderErrors, HeaderFailedAt,
	HeaderWorker, HeaderReplayOf, HeaderTraceID,
}

func newLetter(id uint64, subject string, h nats.Header, data []byte, stored time.Time) Letter {
	l := Letter{
		ID: id, Subject: subject, Header: h, Data: data,
		OriginalSubject: h.Get(HeaderOriginalSubject),
		OriginalStream:  h.Get(HeaderOriginalStream),
		OriginalMsgID:   h.Get(HeaderOriginalMsgID),
		Error:           h.Get(HeaderError),
		Kind:            h.Get(HeaderErrorKind),
		Worker:          h.Get(HeaderWorker),
		FailedAt:        stored.UTC(),
		Size:            len(data),
	}
	for k, vs := range h {
		for _, v := range vs {
			l.Size += len(k) + len(v) + 4 // "k: v\r\n"
		}
	}
	l.OriginalSeq, _ = strconv.ParseUint(h.Get(HeaderOriginalSeq), 10, 64)
	l.Deliveries, _ = strconv.Atoi(h.Get(HeaderDeliveries))
	if t, err := time.Parse(time.RFC3339Nano, h.Get(HeaderFailedAt)); err == nil {
		l.FailedAt = t.UTC()
	}
	if raw := h.Get(HeaderErrors); raw != "" {
		_ = json.Unmarshal([]byte(raw), &l.Errors) // a broken history still shows Error
	}
	return l
}

// OriginalHeader is the header a replay starts from: Header without the
// headers dead-lettering added and without Nats-* headers (the old
// Nats-Msg-Id would make the replay a duplicate; expectations such as
// Nats-Expected-Last-Sequence no longer hold).
func (l *Letter) OriginalHeader() nats.Header {
	out := nats.Header{}
	for k, vs := range l.Header {
		if strings.HasPrefix(k, "Nats-") || isFailureHeader(k) {
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func isFailureHeader(k string) bool {
	for _, f := range failureHeaders {
		if strings.EqualFold(k, f) {
			return true
		}
	}
	return false
}

// IdempotencyKey is the key the API call of a replay must reuse: the
// original Nats-Msg-Id without any ":replay:<id>" suffix (a message replayed,
// failed again and replayed again keeps its first id), else
// "<stream>:<seq>" of the original.
func (l *Letter) IdempotencyKey() string {
	// The letter's OriginalMsgID is the failed delivery's Nats-Msg-Id, never a
	// replay's Omq-Original-Msg-Id: Write overwrites that header.
	return IdempotencyKey("", l.OriginalMsgID, l.OriginalStream, l.OriginalSeq)
}

// replaySuffix separates a replay's Nats-Msg-Id from its idempotency key:
// "<key>:replay:<dead letter id>".
const replaySuffix = ":replay:"

// IdempotencyKey is the key a message's API call uses, the same on its first
// delivery, its redeliveries and every replay of its dead letter:
// original (the HeaderOriginalMsgID a replay carries) as it is; else msgID
// (its Nats-Msg-Id) without a replay's ":replay:<id>" suffix; else
// streams.MessageRef(stream, seq). Workers call it through
// workers.Message.IdempotencyKey.
func IdempotencyKey(original, msgID, stream string, seq uint64) string {
	switch {
	case original != "":
		return original
	case msgID != "":
		key, _, _ := strings.Cut(msgID, replaySuffix)
		return key
	}
	return streams.MessageRef(stream, seq)
}

// letterJSON is the export form of a Letter: one JSON object a line.
type letterJSON struct {
	ID              uint64              `json:"id"`
	Subject         string              `json:"subject"`
	OriginalSubject string              `json:"original_subject"`
	OriginalStream  string              `json:"original_stream,omitempty"`
	OriginalSeq     uint64              `json:"original_seq,omitempty"`
	OriginalMsgID   string              `json:"original_msg_id,omitempty"`
	Deliveries      int                 `json:"deliveries"`
	Kind            string              `json:"kind"`
	Error           string              `json:"error"`
	Errors          []ErrorRecord       `json:"errors,omitempty"`
	FailedAt        time.Time           `json:"failed_at"`
	Worker          string              `json:"worker,omitempty"`
	Header          map[string][]string `json:"headers,omitempty"`
	// Data is the body when it is JSON; DataBase64 otherwise.
	Data       json.RawMessage `json:"data,omitempty"`
	DataBase64 string          `json:"data_base64,omitempty"`
}

// MarshalJSON writes the letter with its body inline when the body is
// JSON, base64 in data_base64 otherwise.
func (l Letter) MarshalJSON() ([]byte, error) {
	j := letterJSON{
		ID: l.ID, Subject: l.Subject, OriginalSubject: l.OriginalSubject, OriginalStream: l.OriginalStream,
		OriginalSeq: l.OriginalSeq, OriginalMsgID: l.OriginalMsgID, Deliveries: l.Deliveries, Kind: l.Kind,
		Error: l.Error, Errors: l.Errors, FailedAt: l.FailedAt, Worker: l.Worker, Header: l.Header,
	}
	if json.Valid(l.Data) {
		j.Data = l.Data
	} else {
		j.DataBase64 = base64.StdEncoding.EncodeToString(l.Data)
	}
	// Errors quote API answers and placeholders with < and >; exports and
	// --json output show them as written, not as \u003c.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (l *Letter) UnmarshalJSON(b []byte) error {
	var j letterJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*l = Letter{
		ID: j.ID, Subject: j.Subject, OriginalSubject: j.OriginalSubject, OriginalStream: j.OriginalStream,
		OriginalSeq: j.OriginalSeq, OriginalMsgID: j.OriginalMsgID, Deliveries: j.Deliveries, Kind: j.Kind,
		Error: j.Error, Errors: j.Errors, FailedAt: j.FailedAt, Worker: j.Worker, Header: j.Header, Data: j.Data,
	}
	if j.DataBase64 != "" {
		d, err := base64.StdEncoding.DecodeString(j.DataBase64)
		if err != nil {
			return err
		}
		l.Data = d
	}
	return nil
}
