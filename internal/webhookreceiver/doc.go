// Package webhookreceiver is omq's receiver of OpenMoove webhooks: POST
// /webhooks/openmoove on the --http listener.
//
// A request is accepted only when its X-OpenMoove-Signature header is
// "sha256=<hex HMAC-SHA256 of the raw body>" under one of the configured
// secrets (--webhook-secret, a comma-separated list: during a rotation give
// the new secret and the old one). The comparison is constant-time. A
// missing, malformed or wrong signature gets 401 and is counted in
// omq_webhook_requests_total; the WARN line that names the reason and the
// sender's address (never the body or the signature) is logged at most once
// per Options.WarnEvery (10s) with the count of those not logged, since
// anyone can send them.
//
// Bodies are capped (Options.MaxBytes, --webhook-max-bytes, default 64 KiB):
// a declared Content-Length past the cap gets 413 before any of the body is
// read, and the rest is read through http.MaxBytesReader, so the signature
// is checked on at most the cap and nothing is parsed before it matches. A
// body that stalls is cut off by the listener's --http-read-timeout.
//
// A verified webhook is published to <prefix>.webhooks.<event> (the event
// named in the body, such as property.milestone.updated) with Nats-Msg-Id =
// the hex SHA-256 of the body. OpenMoove retries a failed delivery after 10 s,
// 100 s and 1000 s with the same body, and the WEBHOOKS stream's 30-minute
// duplicate window drops those copies. The answer is 200 only after
// JetStream acknowledged the publish (a duplicate included) and 503 when it
// did not, so OpenMoove retries.
//
// With no secret, Register adds no route and logs that the receiver is off:
// an unsigned webhook endpoint would let anyone write into the stream.
//
//	r, err := webhookreceiver.Register(mux, webhookreceiver.Options{Secrets: cfg.WebhookSecrets, JS: js, Topology: top, Logger: log})
//
// The webhook worker (package workers/webhooks) consumes the stream.
package webhookreceiver
