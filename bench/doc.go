// Command bench is omq's benchmark harness: `make bench` (or, from this
// directory, `go run .`) measures, side by side in one run on this machine,
// the milestone worker against a bare nats.go pull loop (the limit) and a
// Watermill JetStream subscriber, the latency from publish to outcome, the
// API calls per event and per creation, the drain of a backlog under a
// scaled API budget, the worker's memory with a large backlog, and the
// publisher against `nats bench js pub async`. It prints one table.
//
// Everything runs in this process against an embedded NATS server (TCP on
// loopback) and the OpenMoove sandbox over loopback HTTP, except the memory
// rows, which re-execute this binary as the worker (-child-worker) so that
// its RSS is the worker's alone, and the nats bench row, which runs the
// nats CLI (github.com/nats-io/natscli, pinned v0.5.0) when it is on PATH
// or in $(go env GOPATH)/bin.
//
// Fairness: the three engines call the same *milestones.Handler (the same
// API calls, KV cache reads and writes, outcome publishes), each on a fresh
// set of sandbox transactions, so the rows differ only in how messages are
// fetched, run concurrently and settled. All three acknowledge with
// DoubleAck. See BENCHMARKS.md for the settings each engine gets.
//
// Flags: -quick shrinks every count (a smoke run in well under a minute);
// -only NAME runs one section (engine, latency, efficiency, drain, memory,
// publish); -cpuprofile FILE profiles the parent process.
package main
