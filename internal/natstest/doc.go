// Package natstest starts real, embedded NATS JetStream servers for tests:
// one server in t.TempDir(), or a three-node cluster in one process. Never a
// mock broker. Everything started is stopped in t.Cleanup.
package natstest
