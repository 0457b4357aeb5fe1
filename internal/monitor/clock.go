package monitor

import (
	"time"

	"github.com/openmoove/omq/internal/poller"
)

// APINow returns OpenMoove's time at local: local plus the offset of the
// API's clock that the poller recorded at its latest poll (Snapshot.
// ClockOffset), so a report judges due dates as the monitor does without
// an API call. With nothing polled yet it is local.
func APINow(ts []*poller.Tracked, local time.Time) time.Time {
	var latest *poller.Snapshot
	for _, t := range ts {
		if s := t.Snapshot; s != nil && (latest == nil || s.PolledAt.After(latest.PolledAt)) {
			latest = s
		}
	}
	if latest == nil {
		return local
	}
	return local.Add(latest.ClockOffset)
}
