// Package streams declares omq's JetStream layout — the five streams of the
// design, the advisory stream that backs up the dead-letter path, and the
// key-value buckets the workers share — and applies it to a server.
//
// Apply is idempotent: it creates what is missing, corrects a drifted
// setting in place (and says which), and reports a setting that cannot be
// changed in place (storage, retention) with what to do about it, rather
// than ignoring it. omq run applies the layout at start; omq streams apply
// does it for a cluster, with --replicas 3.
package streams
