// Package imports is bulk import of property creations, shared by omq
// import, omq import status and the console's Imports page: reading a CSV
// or JSON-lines file into validated rows (each with its request_id),
// queueing the valid ones, recording the import, and reading where each
// row stands.
//
// # Which files were imported
//
// The properties ledger knows request_ids, not files. So omq import
// records every file it queues in the IMPORTS bucket
// (streams.Topology.ImportsBucket): "file.<id>" holds the file's name,
// who imported it and when, and what the import did; "rows.<id>.<n>"
// hold each row's line and request_id (or its problems, for a row that
// never validated), a thousand rows a key. The id is a hash of the file's
// content, so importing the same file again updates its record. A dry run
// records nothing.
//
// # Where a row stands
//
// Checker reads a row's state from the ledger, the dead letters of
// creations and the creations waiting in the commands stream: created
// (with the transaction), failed (dead-lettered or refused, with the
// reason), pending (waiting in the commands stream or being created), not
// queued (valid, but no creation of it is queued: import the file again),
// or invalid (never queued).
//
// # NATS requests
//
// Every request Queue and Checker make to NATS runs under the timeout the
// caller passes (omq's commands pass internal/cli's DefaultNATSTimeout),
// and a failure names its cause through internal/natserr: a full store,
// no JetStream leader, no answer.
package imports
