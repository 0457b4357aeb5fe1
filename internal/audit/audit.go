package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/streams"
)

// Entry is one operator action.
type Entry struct {
	At   time.Time `json:"at"`
	User string    `json:"user"`
	Role string    `json:"role"`
	// Remote is the client address the action came from.
	Remote string `json:"remote,omitempty"`
	// Kind names the action, dotted: "breaker.probe", "dlq.replay".
	Kind string `json:"kind"`
	// Target is what it acted on: a worker, a dead letter's id.
	Target string `json:"target,omitempty"`
	// Filter is the filter of a bulk action, as the operator gave it.
	Filter string `json:"filter,omitempty"`
	// Count is how many messages it touched.
	Count int `json:"count,omitempty"`
	// Diff is the change of an edit, unified.
	Diff string `json:"diff,omitempty"`
	// Result is "ok" or the error, one line.
	Result string `json:"result"`
	// Seq is the entry's sequence in the stream (set when read).
	Seq uint64 `json:"seq,omitempty"`
}

// Append stores e in the audit trail. The subject carries the kind, so a
// NATS client can follow one kind of action alone.
func Append(ctx context.Context, js jetstream.JetStream, top streams.Topology, e Entry) error {
	if e.Kind == "" || strings.ContainsAny(e.Kind, " *>") {
		return fmt.Errorf("audit: kind %q: want a dotted name such as breaker.probe", e.Kind)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := js.Publish(ctx, top.AuditSubject(e.Kind), b); err != nil {
		return fmt.Errorf("audit: append %s to %s: %w (run omq streams apply if the stream is missing)", e.Kind, top.AuditStream(), err)
	}
	return nil
}

// Recent returns up to limit entries, newest first, with Seq below before
// (0 for the newest): the pages of the audit trail.
func Recent(ctx context.Context, js jetstream.JetStream, top streams.Topology, limit int, before uint64) ([]Entry, error) {
	s, err := js.Stream(ctx, top.AuditStream())
	if err != nil {
		return nil, fmt.Errorf("audit: stream %s: %w (run omq streams apply)", top.AuditStream(), err)
	}
	state := s.CachedInfo().State
	seq := state.LastSeq
	if before > 0 && before-1 < seq {
		seq = before - 1
	}
	out := []Entry{}
	// Walk back one sequence at a time: the trail is small and read a page
	// at a time, and a gap (an entry aged out) is skipped.
	for ; seq >= state.FirstSeq && seq > 0 && len(out) < limit; seq-- {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("audit: read %d: %w", seq, err)
		}
		var e Entry
		if json.Unmarshal(m.Data, &e) != nil {
			continue
		}
		e.Seq = m.Sequence
		out = append(out, e)
	}
	return out, nil
}
