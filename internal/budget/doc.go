// Package budget is omq's OpenMoove API budget, shared by every replica of
// every role through the BUDGET key-value bucket: every API call takes a token
// first, so all of omq together stays inside the API's limits (1000 requests
// an hour, bursts of 100 a minute, by default).
//
// The budget counts fixed windows (an hour and a minute by default, scaled in
// tests) in one bucket key updated with compare-and-set, so concurrent takers
// on any replica never over-spend it. Mutations come first: a read may only
// spend a window down to Limits.ReadReserve tokens, and a read refused only
// for that wraps failure.ErrReadsOnly, so the worker runtime keeps taking
// messages whose writes may still go.
//
// # Lanes
//
// Every token is taken in a lane (events.Lane, from the context: WithLane;
// live when none). The state records each lane's spend per window and, per
// replica, how many messages of each lane wait and until when they are
// expected back. The rules, for each window (hour and minute) of limit N:
//
//   - live may spend the whole window, less the floor a waiting lower lane
//     has not yet had;
//   - bulk, replay and reads may spend down to the live reserve
//     (Lanes.LiveReserve × N, above the read reserve, so live reads have it
//     too), except in the hour's last minute window, when both reserves
//     open to them: a lane with no live traffic spends the whole hour (the
//     limit that binds), and live work that then finds it spent waits at
//     most a minute window;
//   - while live work waits on any replica, they yield (an error wrapping
//     ErrLaneYield) until it has had its token, apart from their floor
//     (Lanes.Floor × N each), which they get even from the reserve.
//
// A lane's refusal while tokens are left wraps ErrLaneYield as well as
// ErrSpent: waiting is never a failure, and the worker runtime holds back
// only that lane, so live messages behind it on the same consumer go on.
//
// # The API is the ground truth
//
// The API's X-RateLimit-* answers are the ground truth and correct the
// budget (Observe): when the API says fewer are left, or that its window resets later, the budget believes
// it. A 429 (or an answer with nothing left) stops every taker until the reset
// the API named (Stop429).
//
// A spent budget is not an error of the message: Take returns a
// failure.Throttled error carrying the wait, and the worker runtime hands the
// message back after it without counting a failure. Wire a budget into the
// API client with Hooks:
//
//	b, err := budget.New(ctx, js, top, budget.Limits{PerHour: 1000, PerMinute: 100})
//	client, err := openmoove.New(b.Hooks(openmoove.Config{BaseURL: url, APIKey: key}))
package budget
