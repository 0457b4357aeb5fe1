package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/openmoove/omq/streams"
)

// ReplayOptions change what Replay and ReplayMany do.
type ReplayOptions struct {
	// DryRun checks everything and publishes and deletes nothing.
	DryRun bool
	// Body, when not nil, replaces the original body (omq dlq edit). It
	// must pass the Validator of the original subject, else Replay returns
	// an *InvalidBodyError and leaves the dead letter in place.
	Body []byte
	// Rate caps ReplayMany at that many replays a second; 0 means no cap.
	Rate float64
}

// ReplayResult says what a replay did.
type ReplayResult struct {
	ID uint64 // the dead letter's id
	// Subject and MsgID are what was (or, on a dry run, would be) published.
	Subject string
	MsgID   string
	// Stream and Seq are where JetStream stored the replay.
	Stream string
	Seq    uint64
	// Duplicate is true when JetStream already held this replay, from an
	// earlier replay interrupted before it removed the dead letter: nothing
	// was published twice, and the dead letter is removed now.
	Duplicate bool
	DryRun    bool
}

// InvalidBodyError is an edited body that its subject's Validator refused.
type InvalidBodyError struct {
	ID      uint64
	Subject string
	Err     error
}

func (e *InvalidBodyError) Error() string {
	return fmt.Sprintf("dead letter %d: the new body for %s is invalid: %v", e.ID, e.Subject, e.Err)
}

func (e *InvalidBodyError) Unwrap() error { return e.Err }

// ReplayMsgID is the Nats-Msg-Id of l's replay:
// "<idempotency key>:replay:<dead letter id>". The original id alone could
// still be inside the stream's duplicate window and be dropped.
func ReplayMsgID(l *Letter) string {
	return l.IdempotencyKey() + replaySuffix + strconv.FormatUint(l.ID, 10)
}

// ReplayMsg builds the message that replays l with body: the original
// subject, the original headers (see Letter.OriginalHeader), Nats-Msg-Id
// ReplayMsgID, HeaderReplayOf the letter's id, HeaderOriginalMsgID the
// idempotency key the workers pass to the API, and HeaderLane LaneReplay,
// so that the workers pace its API calls in the budget's replay lane.
func ReplayMsg(l *Letter, body []byte) (*nats.Msg, error) {
	if l.OriginalSubject == "" {
		return nil, fmt.Errorf("dead letter %d has no %s header, so there is nowhere to replay it; export it and republish by hand", l.ID, HeaderOriginalSubject)
	}
	// The header is only as trustworthy as whoever wrote to the DLQ stream:
	// a wildcard or malformed subject must not be published to.
	if err := streams.CheckLiteralSubject(l.OriginalSubject); err != nil {
		return nil, fmt.Errorf("dead letter %d: its %s header: %w; export it and republish by hand", l.ID, HeaderOriginalSubject, err)
	}
	h := l.OriginalHeader()
	h.Set(jetstream.MsgIDHeader, ReplayMsgID(l))
	h.Set(HeaderReplayOf, strconv.FormatUint(l.ID, 10))
	h.Set(HeaderOriginalMsgID, l.IdempotencyKey())
	h.Set(HeaderLane, LaneReplay)
	return &nats.Msg{Subject: l.OriginalSubject, Header: h, Data: body}, nil
}

// Replay publishes dead letter id back to its original subject, waits for
// JetStream's acknowledgement, and only then deletes the dead letter. A
// dead letter that no longer exists (already replayed) is an error
// matching ErrNotFound; a replay JetStream already holds is not published
// twice (ReplayResult.Duplicate).
func (s *Store) Replay(ctx context.Context, id uint64, o ReplayOptions) (ReplayResult, error) {
	l, err := s.Get(ctx, id)
	if err != nil {
		return ReplayResult{ID: id}, err
	}
	body := l.Data
	if o.Body != nil {
		if err := s.Validators.Validate(s.top.Prefix, l.OriginalSubject, o.Body); err != nil {
			return ReplayResult{ID: id}, &InvalidBodyError{ID: id, Subject: l.OriginalSubject, Err: err}
		}
		body = o.Body
	}
	msg, err := ReplayMsg(&l, body)
	if err != nil {
		return ReplayResult{ID: id}, err
	}
	r := ReplayResult{ID: id, Subject: msg.Subject, MsgID: msg.Header.Get(jetstream.MsgIDHeader), DryRun: o.DryRun}
	if o.DryRun {
		return r, nil
	}
	ack, err := s.js.PublishMsg(ctx, msg)
	if err != nil {
		return r, fmt.Errorf("replay dead letter %d to %s: %w; the dead letter is kept", id, msg.Subject, err)
	}
	r.Stream, r.Seq, r.Duplicate = ack.Stream, ack.Sequence, ack.Duplicate
	if _, err := s.Delete(ctx, id); err != nil {
		return r, fmt.Errorf("dead letter %d was replayed (%s #%d) but is still in the DLQ: %w; replaying it again is safe, JetStream drops the duplicate", id, ack.Stream, ack.Sequence, err)
	}
	return r, nil
}

// Summary counts what ReplayMany did.
type Summary struct {
	// Replayed were published (or, on a dry run, would be) and removed.
	Replayed int
	// Skipped no longer existed: already replayed or purged.
	Skipped int
	// Failed could not be replayed and are still in the DLQ.
	Failed int
}

// ReplayMany replays ids in order at most o.Rate a second, calling each
// (if not nil) after every one. It goes on past failures, counts them in
// the Summary, and stops early only when ctx ends. o.Body must be nil.
func (s *Store) ReplayMany(ctx context.Context, ids []uint64, o ReplayOptions, each func(ReplayResult, error)) (Summary, error) {
	if o.Body != nil {
		return Summary{}, errors.New("deadletter: ReplayMany replays original bodies; use Replay for an edited one")
	}
	if o.Rate < 0 {
		return Summary{}, &FilterError{Field: "rate", Value: strconv.FormatFloat(o.Rate, 'g', -1, 64), Want: "want a number of replays a second above 0, or 0 for no cap"}
	}
	lim := rate.NewLimiter(rate.Inf, 1)
	if o.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(o.Rate), 1)
	}
	var sum Summary
	for _, id := range ids {
		if !o.DryRun {
			if err := lim.Wait(ctx); err != nil {
				return sum, err
			}
		}
		r, err := s.Replay(ctx, id, o)
		switch {
		case err == nil:
			sum.Replayed++
		case errors.Is(err, ErrNotFound):
			sum.Skipped++
		default:
			if ctx.Err() != nil {
				return sum, ctx.Err()
			}
			sum.Failed++
		}
		if each != nil {
			each(r, err)
		}
	}
	return sum, nil
}
