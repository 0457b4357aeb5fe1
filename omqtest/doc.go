// Package omqtest runs the whole of omq inside a Go test, for the teams that
// publish to it: an embedded NATS server with omq's streams, the sandbox
// standing in for the OpenMoove Partner API, the workers and the HTTP
// ingest, all in the test process, with no NATS install, no OpenMoove
// account and no network beyond 127.0.0.1. Publish as your system does,
// then assert what OpenMoove would now show.
//
//	func TestOfferAccepted(t *testing.T) {
//		t.Parallel()
//		omq := omqtest.Start(t) // stopped by t.Cleanup
//		tx := omq.SeedProperty(t, nil) // a property OpenMoove already has
//
//		_, err := omq.Publisher.Publish(t.Context(), events.Event{
//			Type: events.TypeOfferAccepted, TransactionID: tx,
//		})
//		require.NoError(t, err)
//
//		omq.RequireMilestoneCompleted(t, tx, "Offer Acceptance")
//	}
//
// # What Start gives you
//
// A *System with a connected Publisher (package publisher: Publish,
// CreateProperty, batches), the NATSURL with NATSUser and NATSPassword for
// clients in other languages (the server refuses clients without them, as
// omq run's does; ConnectNATS opens a Go connection with them),
// the sandbox's SandboxURL and APIKey, omq's HTTPURL (POST /v1/events with
// "Bearer "+IngestToken), and the streams (Conn, JS, Topology,
// DeadLetters). Start takes about 40 ms (100 ms under -race); every
// address is a free loopback port, and the streams live in memory (the
// server's own files in t.TempDir()), so tests run in parallel. When the test ends everything is stopped: no port stays open,
// no goroutine keeps running (check with go.uber.org/goleak in TestMain).
//
// # Asserting
//
// The Require helpers wait, looking every 20ms, until what they want is
// true or the wait runs out (15s, WithWait; never past the test's own
// deadline). They never sleep a fixed time. When they fail they say what
// they waited for and what they saw instead: the milestones the transaction
// has and their state, the outcomes published, the dead letters with their
// reasons.
//
//   - RequireMilestoneCompleted(t, tx, name): the sandbox shows it completed.
//   - RequirePropertyCreated(t, requestID): the property worker created it;
//     returns the property as the sandbox holds it.
//   - RequireDeadLetter(t, filter): a dead letter matches; returns it, with
//     its reason in Error.
//   - RequireOutcome(t, kind, match) and Outcomes(t, kind): what the workers
//     published to OPENMOOVE_OUTCOMES.
//   - RequireNoDeadLetters(t), WaitFor(t, what, cond).
//
// # Knobs
//
//   - The sandbox starts empty. SeedProperty(t, tweak): a property OpenMoove
//     already has; returns its transaction id. PropertyRequest() is a valid
//     creation to start from.
//   - SandboxFaults(t, Faults{Outage: true}) takes the API down (also
//     latency, an error rate, a forced status); Faults{} brings it back.
//   - AdvanceClock(d) moves the sandbox's clock (milestones fall due).
//   - Sandbox() for the rest: the request journal, rejects, properties.
//
// # Options
//
//   - WithWorkers("milestones") starts only the named workers (and always
//     the HTTP ingest and the dead-letter mover).
//   - WithSandbox(func(*sandbox.Config)) scales the sandbox's rate limits,
//     sets faults from the start, rejects, seeds.
//   - WithConfig(func(*omqtest.Config)) changes any omq setting.
//   - WithLogs() shows omq's logs as they come; by default they are shown
//     only when the test fails.
//
// # Timings
//
// omq's worker timings are scaled from seconds and minutes down to
// milliseconds, keeping their order, so retries, breaker pauses and grace
// periods play out inside a test: AckWait 5s, in-process retries 2 within
// 500ms, NakWithDelay 100ms doubling to 1s, breaker pause 200ms doubling to
// 1s, transaction grace 3s, concurrency 4. The API budget and the sandbox's
// rate limits stay at the API's real 1000 an hour and 100 a minute; scale
// them with WithConfig and WithSandbox for tests that make many calls.
package omqtest
