// Package failure classifies what went wrong so that one place — the worker
// loop in package workers — can decide what happens to a message.
//
// Code that understands a failure (the OpenMoove client reading a status code,
// an event decoder reading a body, a handler reading an API answer) wraps the
// error with one of the four kinds:
//
//   - Permanent: the same message will never succeed (malformed JSON, a 400,
//     a 403, a milestone the transaction lacks). The worker dead-letters it at
//     once with the reason.
//   - Transient: it may succeed later (timeout, connection refused, 5xx). The
//     worker retries it with backoff and counts the attempt against the
//     message's failure budget.
//   - Throttled: not the message's fault — the API budget is spent or the API
//     answered 429. The worker hands the message back after the wait without
//     counting an attempt.
//   - Systemic: the whole integration is broken (401, an outage). The worker
//     opens the breaker and pauses consumption for every replica.
//
// A fifth answer is not a failure at all: SnoozeError says "not yet, try
// again after this wait" for a message waiting on something else; it spends
// no attempt and never opens the breaker.
//
// An error that carries no kind is treated as Transient: retrying a message a
// bounded number of times is safer than dropping it.
//
// Nothing here acks or naks; package failure only names the kind.
package failure
