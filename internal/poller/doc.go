// Package poller follows properties on OpenMoove where no webhook tells omq
// what happened: it polls each tracked property and its milestones at
// smart intervals and publishes what changed to the outcomes stream.
//
// # What is tracked
//
// Every property omq created (the Follower consumes the property worker's
// property_created outcomes through the durable consumer "poller-track", so
// a poller that was down catches up), every property a property.created
// webhook announces, and any added by hand with `omq track TXID` (removed
// with `omq untrack TXID`). The TRACKING bucket holds one entry per
// transaction ("tx.<uuid>": the Tracked record with its last Snapshot), an
// index from the numeric property id ("pid.<n>"), and the monitor's alert
// marks.
//
// # How often
//
// A property with an overdue milestone is polled every 5 minutes, one with
// a milestone due within a day every 15, any other every 30 (--poll-overdue,
// --poll-due-soon, --poll-interval). A poll costs two reads (the property
// and its milestones) and its client takes them from the shared API budget
// (package budget). On top of the budget's own read reserve, the poller spends
// at most its read share (--poll-read-share, default 0.1: 10%) of each
// budget window, and after a throttle it waits a little past the reset
// (Config.Yield, one tick; not a setting, see New for why) so the
// mutations held by the same throttle go first: polling slows creations and
// milestone updates by at most that share (BENCHMARKS.md, "Polling does not
// starve creations"). At the default budget that is 100 reads, 50 polls, an
// hour per replica.
//
// # What is announced
//
// Each poll is diffed against the snapshot of the previous one and
// publishes status_changed, participant_changed, milestone_added,
// milestone_completed and milestone_reopened outcomes; the snapshot is
// written only after they are acknowledged. The first poll of a property
// records its snapshot and announces nothing, and since snapshots live in
// the bucket a restart re-announces nothing. Outcome ids are derived from
// the fact (MilestoneOutcome: transaction, milestone id and completion
// time), so the webhook worker, which reports the same milestone changes
// when OpenMoove pushes them, publishes the same id, and it updates the
// snapshot so the next poll does not report them again.
package poller
