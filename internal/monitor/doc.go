// Package monitor is omq's view of the portfolio: how far each tracked
// property has come, which milestones are overdue or at risk, and which
// professionals never accepted their invitation.
//
// Analyze and Portfolio work on the snapshots the poller keeps in the
// TRACKING bucket (package poller), so a report costs no API call. A
// property's completion is its completed milestones over all of them; its
// current milestone is the first open one by order; a milestone is overdue
// when it is open and past due (or the API says is_overdue), at risk when it
// is open and due within --at-risk-within (default 48h). A property is
// overdue if any milestone is, else at risk if any is, else on track.
// `omq report` prints this as a table or JSON.
//
// The Monitor (role "monitor") runs the same analysis every --alert-every
// (default 1h) and publishes to the outcomes stream:
//   - alert.overdue and alert.at_risk, once per milestone per day (UTC):
//     Nats-Msg-Id "<kind>:<transaction>:<milestone id>:<date>", and a mark in
//     the TRACKING bucket ("alert.<kind>.<transaction>.<milestone id>" =
//     date) so the next check that day stays quiet, replicas included;
//   - alert.invitation_pending for a team member of the property detail
//     still "invited" --invitation-pending-days (default 3) after the
//     invitation, at most once every that many days per invitation (mark
//     "alert.invitation_pending.<transaction>.<role>"). The detail is read
//     (one API read, through the shared budget) only for properties whose
//     team is unknown or still has someone invited.
//
// The clock (Config.Now) is OpenMoove's, since it stamps due dates and
// invited_at with its own: omq run passes the API client's Now, the local
// clock plus the offset the Date header of the API's latest answer gave (to
// the second), so alerts, days_until_due and days_pending agree with what
// OpenMoove shows even when the local clock is skewed, and follow the
// sandbox's clock when it is moved. Any role's answer updates that offset;
// a check uses the offset known when it starts. `omq report` uses the
// offset the poller recorded at its latest poll, or --at.
package monitor
