package workers

import (
	"errors"
	"sync"
	"time"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/logging"
)

// laneHolds are the lanes the budget has turned away (budget.ErrLaneYield)
// and until when. A lower-lane message stands aside for live work, so it
// must not hold the worker: live messages queued behind it on the same
// consumer (a replay of events on milestones, an import on properties)
// would wait for it. Instead the worker keeps fetching and hands back each
// message of a held lane as it arrives, without a budget call, to return
// when the hold ends; live messages behind it reach the budget at once.
//
// Churn is bounded by the hold itself: a handed-back message returns no
// sooner than the hold's end, so each lower-lane message is handed back at
// most once per wait the budget names. Each hand-back is a delivery, so a
// message that has spent half of Config.MaxDeliver is no longer handed
// back here: it calls the budget, and a refusal then holds the whole
// worker as any throttle does.
type laneHolds struct {
	mu    sync.Mutex
	until map[events.Lane]time.Time
}

// extend holds lane l until t (or later, if already so).
func (h *laneHolds) extend(l events.Lane, t time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.until == nil {
		h.until = map[events.Lane]time.Time{}
	}
	if t.After(h.until[l]) {
		h.until[l] = t
	}
}

// get is when lane l's hold ends; zero or past when it is not held.
func (h *laneHolds) get(l events.Lane) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.until[l]
}

// standsAside reports whether m may wait for a lane without holding the
// worker: a lower lane, with deliveries to spare, on a consumer that mixes
// lanes. Standing aside costs a delivery per wait to every message of the
// lane queued on the consumer, not only to those in hand, so it stops at
// half of MaxDeliver: the rest is kept for holding the worker as before,
// when only the messages in hand spend deliveries. A consumer of one lane
// (Config.Lane) never stands aside: nothing behind it is of a higher lane,
// and holding spends no deliveries on what is queued.
func (w *Worker) standsAside(m *Message) bool {
	return w.cfg.Lane == "" && m.Lane() != events.LaneLive && m.Deliveries < uint64(w.cfg.MaxDeliver/2)
}

// laneRank is l's place in events.Lanes, 0 for live (the highest
// priority).
func laneRank(l events.Lane) int {
	for i, k := range events.Lanes() {
		if k == l {
			return i
		}
	}
	return 0
}

// laneYield reports whether err is the budget turning m's lane away (not
// a spent window or a 429, which hold every lane), and if so holds the
// lane, not the worker, for the wait.
func (w *Worker) laneYield(m *Message, err error, wait time.Duration) bool {
	if !errors.Is(err, budget.ErrLaneYield) || !w.standsAside(m) {
		return false
	}
	w.lanes.extend(m.Lane(), time.Now().Add(wait))
	return true
}

// handBackHeld hands m back, uncalled, if its lane is held: it returns at
// the hold's end. No jitter: the lane's messages come back in the order
// they went, so the lane keeps its order, and they are the import's whole
// share of the window that opens then.
func (w *Worker) handBackHeld(m *Message) bool {
	if !w.standsAside(m) {
		return false
	}
	d := time.Until(w.lanes.get(m.Lane()))
	if d <= 0 {
		return false
	}
	if err := m.msg.NakWithDelay(d); err != nil {
		w.log.Warn("hand-back failed; the message returns after AckWait", logging.KeyError, err)
	}
	w.metrics.outcome(w.cfg.Name, "yielded")
	return true
}

// holdLane reports whether err is the budget turning away the lane of a
// one-lane consumer (Config.Lane), and if so holds the worker for the wait
// and hands m back to return just before the hold ends. No jitter and a
// lead on the hold: the messages in hand are back in the consumer's
// redelivery queue, which the server serves first, when the worker pulls
// again, so they are the first called in the window that opens and none is
// turned away twice. Only they spend a delivery; what is queued behind
// them is not fetched while the lane waits.
func (w *Worker) holdLane(m *Message, err error, wait time.Duration) bool {
	if w.cfg.Lane == "" || !errors.Is(err, budget.ErrLaneYield) {
		return false
	}
	w.hold.extend(time.Now().Add(wait + laneLead(wait)))
	if err := m.msg.NakWithDelay(wait); err != nil {
		w.log.Warn("hand-back failed; the message returns after AckWait", logging.KeyError, err)
	}
	w.metrics.outcome(w.cfg.Name, "yielded")
	return true
}

// laneLead is how long before a one-lane consumer's hold ends its
// handed-back messages are due again: enough for the server to queue them
// ahead of the worker's next pull, little of the window that opens (the
// worker starts that much into it: with a twentieth of the wait, the
// scaled 1 s windows of bench's lanes row lost the import 2% of its
// drain).
func laneLead(wait time.Duration) time.Duration {
	return min(wait/100, 50*time.Millisecond)
}
