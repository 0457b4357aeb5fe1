// Package webhooks is the webhook worker: it consumes the verified OpenMoove
// webhooks that the receiver (package internal/webhook) stored in the
// OPENMOOVE_WEBHOOKS stream, on the shared worker runtime (package
// workers), durable consumer "webhooks".
//
//   - property.created: the property is tracked by the poller (TRACKING
//     bucket), with its numeric id.
//   - property.milestone.* (updated, completed, created): the milestone
//     worker's cache (MILESTONES bucket) is updated, and when the milestone's
//     state is news — the poller's snapshot does not already hold it — the
//     same milestone_completed / milestone_reopened outcome the poller would
//     publish is published, with the same id (poller.MilestoneOutcome), so a
//     downstream system need not care which path saw it. The snapshot is
//     then updated so the next poll does not announce it again. A milestone
//     new to the snapshot is announced as milestone_added, as a poll would.
//   - property.updated: the tracked property is polled at the next tick.
//   - any other event is logged once per event name and acknowledged: it
//     stays in the stream (limits retention, 7 days) for whoever needs it,
//     and is never dead-lettered.
//
// The numeric property_id of a webhook is resolved to its transaction
// through the TRACKING index; for a property omq does not track, one read
// of GET /properties/{id}/ (through the shared budget) finds it.
package webhooks
