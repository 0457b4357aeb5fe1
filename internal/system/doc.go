// Package system assembles a running omq: NATS (embedded or external), the
// streams, the OpenMoove client (or the in-process sandbox), the HTTP
// listener with /healthz, /readyz, /status and /metrics, and the worker roles; and it
// takes them down again in order.
//
// Start order: NATS, streams, API, roles, HTTP. Stop order is the reverse,
// so nothing is accepted that cannot be finished: the HTTP listener stops
// accepting first, then the roles stop fetching and finish what they hold,
// then the NATS connection drains (every publish acknowledged), then the
// embedded server shuts down and syncs its store.
//
// A role is a named set of components (omq run --only milestones). Packages
// that add a role register it in roles.go.
package system
