// Package broker gives omq its NATS: an embedded nats-server with JetStream
// and a file store under the data directory (the default, so a laptop needs
// nothing installed), or a connection to an external server or cluster with
// the usual credentials, NKey, user/password, token and TLS options.
//
// Clients in the same process as the embedded server connect in process
// (no TCP); other processes reach it on the --nats-listen address.
package broker
