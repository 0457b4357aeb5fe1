// Package audit is the audit trail: every operator action taken in the
// console (who, when, what, the filter, how many, the diff of an edit, the
// result) appended to the AUDIT stream (streams.Topology.AuditStream), and
// read back newest first by the console's Audit page and omq audit.
//
// An entry holds names, counts, filters and diffs typed by an operator,
// never a password, token or session id.
package audit
