// Package workers is the runtime every omq worker runs on: a durable pull
// consumer with bounded concurrency that hands each message to a Handler and
// alone decides, from the kind of the error the handler returns, what
// happens to the message. Handlers do the work; they never ack.
//
// # Writing a worker
//
// Build a Config — every number has a default, named once as a Default…
// constant (omq's own workers take theirs from its settings with
// config.Config.Worker) — name the consumer, the stream, the subjects and the
// Handler, then New, Start and, at shutdown, Stop. Only public packages are
// needed (example_test.go runs one against omqtest):
//
//	top := streams.New(streams.DefaultPrefix)
//	cfg := workers.Config{Name: "inventory", Stream: top.EventsStream(), Topology: top}
//	cfg.Subjects = []string{top.EventSubject("inventory_checked")}
//	cfg.Handler = func(ctx context.Context, m *workers.Message) error { … }
//	cfg.Probe = api.Probe
//	cfg.Logger, cfg.Metrics = logger, registry
//	w, err := workers.New(js, cfg) // a workers.Component
//
// The role packages (milestones, properties, webhooks) build theirs the
// same way, each with New(ctx, Options) (*Worker, error).
//
// The handler's context carries the message's lane (Message.Lane, from the
// events.HeaderLane header): every API call the handler makes through a
// client wired to omq's shared budget takes its token in that lane. A
// consumer of one lane (Config.Lane, such as omq's properties-bulk) caps
// it: a message there is of that lane at most, whatever its header says.
//
// The handler gets a context that ends before AckWait does; calls that may
// outlive it call Message.InProgress to keep the message. A handler returns
// nil when the work is done, or an error whose failure.Kind (package
// failure) says what went wrong. Errors without a kind are Transient.
//
// # One rule for every failure
//
//   - nil: the message is acked (DoubleAck: the server confirms it).
//   - failure.Permanent: the message is dead-lettered at once (see below),
//     then terminated with the reason.
//   - failure.Transient: the handler is called again in process up to
//     Config.InProcessRetries times within Config.InProcessRetryWindow
//     (exponential backoff with jitter); if it still fails the failure is
//     recorded in the FAILURES bucket (key <stream>.<seq>, the error history)
//     and the message handed back with NakWithDelay, RetryMin doubling to
//     RetryMax with jitter. After MaxFailures recorded failures it is
//     dead-lettered as exhausted with the whole history. A panic is a
//     Transient failure of that message, never of the process.
//   - failure.Throttled (a 429, or the shared API budget spent): handed back
//     after the wait the error names (failure.WaitOf; plus a spread of a
//     fifth of it, at most a second, so that a long window's reset finds
//     the refused messages back at once), not counted, and the
//     worker stops fetching until then — unless only reads were refused
//     (failure.ErrReadsOnly: the budget keeps its last tokens for writes):
//     then that message alone goes back and the worker keeps fetching, so
//     writes go on — or unless the budget turned only the message's lane
//     away (budget.ErrLaneYield: a bulk, replay or reads message standing
//     aside for live work): then the lane waits, not the worker, and the
//     lane's messages that arrive meanwhile go back uncalled to return when
//     it ends, so live messages behind them are called. A message that has
//     spent half its deliveries either way holds the worker as any
//     throttle does. On a consumer of one lane (Config.Lane) the lane
//     waiting is the worker waiting: it holds, and the messages in hand
//     return, without spread, just before the hold ends.
//   - failure.Systemic, or BreakerTransient Transient failures in a row: the
//     breaker opens. The consumer is paused (PauseConsumer) for every replica
//     until now+cooldown (PauseMin doubling to PauseMax while the API stays
//     down, shared through the BREAKER bucket); messages in hand go back
//     with a delay past the pause, not counted; Config.Probe, a cheap API
//     call and not a message, decides when to resume. A pause ends at its
//     deadline by itself, so consumption resumes even if the process that
//     paused it dies.
//   - The last delivery (Deliveries ≥ MaxDeliver) that fails in any way
//     cannot be handed back: it is dead-lettered as exhausted.
//
// Plain Nak (immediate redelivery) is never used, nor consumer BackOff lists.
//
// # Dead letters
//
// The worker writes a dead letter with deadletter.Write (Nats-Msg-Id
// <stream>:<seq>, the original body and headers, every Omq-* header), waits
// for JetStream's ack and only then terminates the original; a crash in
// between is absorbed by the DLQ's duplicate window. Messages the worker never
// saw fail (it crashed, hung, or outlived AckWait on the last delivery) are
// caught by the server's MAX_DELIVERIES advisory, captured in the ADVISORIES
// stream, and moved into the DLQ by the Mover (NewMover), which also watches
// how full the DLQ is: the omq_dlq_fill_ratio gauge and a warning past 80%.
//
// # Stopping
//
// Stop stops fetching, lets the handlers in flight finish within its ctx and
// acts on their results; a message whose handler has not finished when ctx
// ends is left unacknowledged and redelivered after AckWait, never lost.
// Messages pulled ahead but not yet started are handed back with a short
// delay (one extra delivery each), as they are when a throttle or the
// breaker stops the worker; one on its last delivery is run instead, since
// the server would give up on it.
package workers
