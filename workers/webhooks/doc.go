// Package webhooks is the webhook worker: it consumes the verified OpenMoove
// webhooks that the receiver (package internal/webhookreceiver) stored in the
// OPENMOOVE_WEBHOOKS stream, on the shared worker runtime (package
// workers), durable consumer "webhooks".
//
//   - property.created: the property is tracked by the poller (TRACKING
//     bucket), with its numeric id, and its first address line goes into
//     the milestone worker's cache for its outcomes (milestones.FillAddress).
//   - property.milestone.created: the milestone goes into the milestone
//     worker's cache (milestones.FillMilestone: an entry is made if there
//     is none, a state it holds is never changed), so the property's first
//     event needs no milestones read; announced as milestone_added if the
//     snapshot lacks it. The property is resolved only without a call —
//     tracked, or created by omq (the ledger links its numeric id and
//     transaction id); otherwise the webhook is tried again for 10 seconds
//     after its receipt (its property.created or the ledger entry is
//     usually just behind), then acknowledged unapplied
//     ("unknown_property"): a read to save a read saves nothing. It claims
//     no freshness stamp, since it changes no state omq holds.
//   - property.milestone.* (updated, completed): the milestone
//     worker's cache (MILESTONES bucket) is updated, and when the milestone's
//     state is news — the poller's snapshot does not already hold it — the
//     same milestone_completed / milestone_reopened outcome the poller would
//     publish is published, with the same id (poller.MilestoneOutcome), so a
//     downstream system need not care which path saw it. The snapshot is
//     then updated so the next poll does not announce it again. A milestone
//     new to the snapshot is announced as milestone_added, as a poll would.
//   - property.updated: the tracked property is polled at the next tick.
//   - any other event is logged once per event name (the first 100 names)
//     and acknowledged: it stays in the stream (limits retention, 7 days)
//     for whoever needs it, and is never dead-lettered.
//
// # Freshness: never backwards
//
// The receiver drops only byte-identical copies within 30 minutes, so the
// worker places every webhook it acts on in time by its envelope timestamp:
//
//   - older than Options.MaxAge (--webhook-max-age, 30m) at its
//     receipt — the stream's publish time, so a backlog held by an outage
//     is not lost — it is stale ("too_old");
//   - older than the last webhook applied to the same milestone (key
//     webhook.<property id>.<milestone id> of the MILESTONES bucket) or, for
//     property.created and property.updated, the same property
//     (webhook.<property id>), it is stale ("superseded").
//
// A stale webhook is acknowledged (it is not a failure), counted in
// omq_webhook_stale_total{reason} and logged at info with its ids; it
// changes nothing. A webhook acted on without a timestamp, with one that is
// not RFC 3339, or with one more than MaxAhead (5m) ahead of its receipt is
// dead-lettered with the reason: the first two cannot be told from a
// replay, and a far-future stamp would make every genuine webhook of the
// milestone look older until the clocks caught up.
//
// Age and "ahead" are judged on OpenMoove's clock, which stamps the
// webhooks: the receipt is moved by the API client's ClockOffset (measured
// from the Date of the API's answers, to the second), so a host or an API
// whose clock is off by minutes or days loses no webhook, once any call of
// omq's has had an answer since the clocks parted.
//
// An equal timestamp is not older: OpenMoove's timestamps have whole
// seconds, so two changes in one second tie. A tie that agrees with the
// stamp is applied again (harmless, and it is how a delivery cut off after
// its claim finishes); one that disagrees is settled by one read of the
// milestone from the API, whose state is applied.
//
// The stamp is claimed by compare-and-set before the state is written, so
// of two replicas only one believes it applied the newest; after writing,
// the worker reads the stamp again and, if a newer webhook was claimed
// meanwhile, writes that one's state (kept in the stamp), so whoever writes
// last writes the newest. Stamps live apart from the cache entry and the
// snapshot, which the milestone worker and the poller rebuild from the API,
// and exist for properties omq neither caches nor tracks.
//
// omq_webhook_events_total{event,result} labels only the known event names;
// any other is "other".
//
// The numeric property_id of a webhook is resolved to its transaction
// through the TRACKING index, then the ledger (properties omq created); for
// any other property, one read of GET /properties/{id}/ (through the shared
// budget) finds it — except for property.milestone.created, above.
package webhooks
