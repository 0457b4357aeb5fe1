// Package failover holds omq's failover tests and nothing else: a
// three-node JetStream cluster in process (internal/natstest), omq's
// streams and buckets at three replicas, two omq replicas
// (internal/system, as two `omq run --nats-url … --replicas 3`) and the
// sandbox over real HTTP with API latency. During a mixed run of milestone
// events and property creations, a node, an omq replica or the whole
// cluster goes down and comes back; every test then checks that every
// event is reflected in the sandbox, every creation made exactly once,
// nothing dead-lettered, no API call made outside the shared budget, and
// prints the stall (the longest time no API write succeeded).
//
// They are the heavy tests of the suite, alone in this package so that
// go test runs them beside the other packages.
package failover
