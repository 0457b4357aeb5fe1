package events

import (
	"fmt"
	"strings"
)

// Lane is the share of the shared API budget a message's calls draw on.
// Live work takes a token before every other lane whenever it is waiting,
// and only live work may spend a window's reserve; bulk, replay and reads
// take what live work leaves, each with a small guaranteed floor. The lane
// travels with the message in the HeaderLane header.
type Lane string

// The lanes, highest priority first.
const (
	// LaneLive is work published one at a time: events, single creations.
	// A message without a lane header, or with one omq does not know, is
	// live.
	LaneLive Lane = "live"
	// LaneBulk is work queued in bulk: omq import, batch ingest.
	LaneBulk Lane = "bulk"
	// LaneReplay is dead letters replayed by an operator (omq dlq replay).
	LaneReplay Lane = "replay"
	// LaneReads is omq's own reads: the poller and the monitor.
	LaneReads Lane = "reads"
)

// HeaderLane is the NATS header naming a message's lane.
const HeaderLane = "Omq-Lane"

// Lanes lists every lane, highest priority first.
func Lanes() []Lane { return []Lane{LaneLive, LaneBulk, LaneReplay, LaneReads} }

// ParseLane reads a lane name; anything but the four names is an error that
// lists them.
func ParseLane(s string) (Lane, error) {
	for _, l := range Lanes() {
		if s == string(l) {
			return l, nil
		}
	}
	return "", fmt.Errorf("lane %q: accepted lanes are %s", s, laneNames())
}

// LaneOfHeader is the lane a worker honours for a message whose HeaderLane
// holds v: a known lane, else live (no header, or one omq does not know:
// an unknown lane is never a reason to hold work back).
func LaneOfHeader(v string) Lane {
	if l, err := ParseLane(v); err == nil {
		return l
	}
	return LaneLive
}

func laneNames() string {
	names := make([]string, 0, 4)
	for _, l := range Lanes() {
		names = append(names, string(l))
	}
	return strings.Join(names, ", ")
}
