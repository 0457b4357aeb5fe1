package workers

import (
	"time"

	"github.com/openmoove/omq/internal/natserr"
)

// probePause is the pause after a failed probe and what to log. A probe
// NATS refused (a full store refused the budget's write) never reached the
// API, so it says nothing about the API: the pause is not doubled, and the
// next probe comes as soon as there may be room again, instead of up to
// PauseMax after space is back.
func probePause(last, pauseMax time.Duration, cause error) (time.Duration, string) {
	if natserr.StoreFull(cause) {
		return last, "probe not sent: NATS refused the write of the API budget (its JetStream store is full); pause extended, the API is not known to be down"
	}
	return min(2*last, pauseMax), "probe failed; pause extended"
}
