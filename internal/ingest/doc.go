// Package ingest is omq's HTTP way in for systems that cannot speak NATS:
// POST /v1/events (events.go) and POST /v1/properties (properties.go) on the
// --http listener, as the role "ingest".
//
// Every endpoint shares one set of rules (server.go):
//
//   - Authorization: Bearer <--ingest-token>, compared in constant time;
//     401 otherwise. With no token the role is off (an info log says so).
//   - Bodies over --ingest-max-bytes are refused with 413, and arrays of
//     more than --ingest-max-items (default 1000) with 400, decided at the
//     first item over the cap.
//   - The body is decoded and validated before anything is published; any
//     problem is 400 {"error":…, "field_errors":{field:[msg]}} and nothing
//     is published. The answer is bounded whatever the body: at most
//     MaxFieldErrors (20) messages, field names and messages clipped, and
//     decoding stops once the list is full; the error then says how many
//     more problems there were, or that the remaining items were not
//     checked, and "field_errors_truncated" is true.
//   - Each message is published with Nats-Msg-Id and the answer is 202
//     {"ids":[…],"results":[{"id","stream_seq","duplicate"}]} only after
//     JetStream has acknowledged every one; 503 (with Retry-After) when NATS
//     cannot take them. Resending after a 503 is safe when the messages carry
//     ids or an Idempotency-Key: the duplicates are dropped.
//   - Idempotency-Key, when given, becomes the Nats-Msg-Id (with ":<index>"
//     for each element of an array).
//
// An endpoint is a Decoder (body and Idempotency-Key in, messages or field
// errors out) registered in the endpoints table by its file's init.
package ingest
