// Package broker gives omq its NATS: an embedded nats-server with JetStream
// and a file store under the data directory (the default, so a laptop needs
// nothing installed), or a connection to an external server or cluster with
// the usual credentials, NKey, user/password, token and TLS options.
//
// Clients in the same process as the embedded server connect in process
// (no TCP); other processes reach it on the --nats-listen address. The
// embedded server always requires one user and password of every client,
// in process or not: the operator's (--nats-user), or DefaultUser with a
// password generated once in the data directory (EnsurePassword, file
// PasswordFile, mode 0600), which omq's commands read with ReadPassword.
package broker
