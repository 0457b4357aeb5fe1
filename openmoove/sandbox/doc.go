// Package sandbox is an in-memory OpenMoove Partner API served over real
// HTTP, like stripe-mock for Stripe: every endpoint of the spec with its
// shapes, status codes, error bodies, validation, milestone templates, rate
// limits and webhooks, plus knobs to make it slow, failing or down. omq's
// tests, benchmarks and "omq run" without a real API all talk to it; "omq
// sandbox" runs it alone.
//
// # Starting one
//
//	sb, err := sandbox.New(sandbox.Config{}) // "om_test_key", 127.0.0.1:0
//	if err != nil { … }
//	if err := sb.Start(ctx); err != nil { … }
//	defer sb.Close(context.Background())
//
//	client, _ := openmoove.New(openmoove.Config{BaseURL: sb.URL(), APIKey: "om_test_key"})
//
// New does not listen; Start does, on Config.Addr. Handler serves without a
// listener (httptest). Every Server is independent — no globals — so many
// can run in one test process. Close stops listening and stops webhook
// deliveries; always call it.
//
// # What it serves
//
// Under /api/v1/partners/ (URL()): products/, clients/, properties/,
// properties/{id}/, …/detail/, …/milestones/, …/milestones/current/,
// …/milestones/{mid}/ (PATCH), …/chat/, …/chat/summary/. A property id is
// the transaction UUID or the numeric id. Rules, in the API's order:
//
//   - a path the API lacks (or without its trailing slash): 404 {"detail":"Not found."}
//   - a missing or unknown X-API-KEY: 401 {"detail":"Invalid API key provided"}
//   - over the key's rate limit: 429 with DRF's text and Retry-After
//   - a method the endpoint lacks: 405 {"detail":"Method \"PUT\" not allowed."}
//   - another partner's property: 403; an unknown one: 404
//   - POST /clients/ validates with openmoove.ValidateCreate, so the sandbox
//     and the client's validator never disagree; errors come in DRF's plain
//     shape, or in the {"detail","field_errors"} shape with
//     Config.ErrorEnvelope.
//
// Keys map to partners (Config.Keys); a partner lists and reads only its own
// properties. Properties get the milestone template of their sale method
// (Template), with due dates counted from creation on the sandbox clock, so
// is_overdue turns true as the clock moves (AdvanceClock). Every answer's
// Date header is the sandbox clock, as a real API's is its own, so
// openmoove.Client.Now follows AdvanceClock. Ids and UUIDs are
// deterministic for a Config.RandSeed: the same calls get the same ids.
//
// # Rate limits
//
// Per key, two fixed windows opened by the key's first call: RateLimit calls
// per RateWindow (1000 per hour) and BurstLimit calls per BurstWindow (100
// per RateWindow/60, a minute). A call needs room in both; a refused call is
// not counted. Every answer carries X-RateLimit-Limit (RateLimit),
// X-RateLimit-Remaining (the smaller room of the two windows) and
// X-RateLimit-Reset (Unix seconds when the binding window restarts, rounded
// up). Scale the windows down in tests: RateWindow: time.Second.
//
// # Fault injection and the admin API
//
// Faults (Config.Faults, SetFaults, or the admin API) add latency and
// jitter, a whole outage (503), a forced status, or a random 500 rate. The
// admin API lives outside the partner paths and needs no key:
//
//	POST   /_sandbox/faults              {"outage":bool,"latency_ms":int,"jitter_ms":int,"error_rate":float,"force_status":int}
//	GET    /_sandbox/faults              the faults in force
//	GET    /_sandbox/requests            [{"method","path","status","at"}] every partner call, once each
//	DELETE /_sandbox/requests            empty the journal
//	GET    /_sandbox/clock               {"now":…}
//	POST   /_sandbox/clock               {"advance":"48h"}
//	POST   /_sandbox/milestones/complete {"transaction_id","name"} as a conveyancer would
//	GET    /_sandbox/rejects             the reject rules
//	POST   /_sandbox/rejects             {"field","value","message"}: a 400 the validator accepts
//	DELETE /_sandbox/rejects             remove them
//
// The Go API mirrors it: SetFaults, Faults, Requests, ResetRequests,
// AdvanceClock, Now, CompleteMilestone, AddReject, ClearRejects, plus
// SeedProperty, Properties and Lookup for test set-up and assertions.
//
// # Webhooks
//
// With Config.WebhookURL and WebhookSecret, creating a property sends
// property.created and one property.milestone.created per milestone (its
// id, name, completed, completed_date and due_date), and completing a
// milestone (PATCH, CompleteMilestone) sends property.milestone.updated,
// signed with X-OpenMoove-Signature:
// sha256=<hex HMAC-SHA256 of the body> (Sign). An answer of 400 or more, or
// no answer, is retried after 10s, 100s and 1000s, each multiplied by
// TimeScale (0.001 in tests). Deliveries are unordered and stop at Close.
//
// # Demo data
//
// Config.Seed creates that many demo properties at New — sale methods in
// turn, some with milestones completed, some overdue — owned by the partner
// of "om_test_key" (else of the first key in sorted order); SeededIDs lists
// their transaction ids.
package sandbox
