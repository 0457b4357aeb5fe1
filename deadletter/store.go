package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/streams"
)

// ErrNotFound matches (errors.Is) a dead letter that does not exist: a
// wrong id, or one already replayed or purged.
var ErrNotFound = errors.New("no such dead letter")

// ErrEmptyFilter is returned by Purge for a filter that selects everything.
var ErrEmptyFilter = errors.New("deadletter: purge needs a filter; to delete every dead letter, list them and Delete their ids")

// fetchBatch is how many letters a List round trip reads.
const fetchBatch = 256

// clockSlack widens a Since filter on the stream's clock: HeaderFailedAt is
// set by the worker's clock, before the publish.
const clockSlack = 5 * time.Minute

// Store reads, replays and deletes the dead letters of one topology. It
// reads the DLQ stream with GetMsg and ordered consumers only, so reading
// never changes the stream's state. It is safe for concurrent use.
type Store struct {
	js  jetstream.JetStream
	top streams.Topology

	// Validators check edited bodies. Default DefaultValidators.
	Validators Validators
	// TracerProvider receives a span per replay, which starts a new trace
	// linked to the dead letter's (its traceparent) and whose context the
	// replayed message carries. Default: the global provider, a no-op
	// unless the program installed one.
	TracerProvider trace.TracerProvider

	mu     sync.Mutex
	stream jetstream.Stream
}

// NewStore returns a Store over the DLQ stream of top.
func NewStore(js jetstream.JetStream, top streams.Topology) *Store {
	return &Store{js: js, top: top.WithDefaults(), Validators: DefaultValidators}
}

// Topology is the layout the store works on.
func (s *Store) Topology() streams.Topology { return s.top }

func (s *Store) dlq(ctx context.Context) (jetstream.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream != nil {
		return s.stream, nil
	}
	st, err := s.js.Stream(ctx, s.top.DLQStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("the dead-letter stream %s does not exist: is this the right NATS and --subject-prefix? (omq streams apply creates it)", s.top.DLQStream())
	}
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream %s: %w", s.top.DLQStream(), err)
	}
	s.stream = st
	return st, nil
}

// Validate checks f for this store: Filter.Validate, and a subject pattern
// that can match the store's subjects.
func (s *Store) Validate(f Filter) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if f.Subject != "" {
		first, _, _ := strings.Cut(f.Subject, ".")
		if first != s.top.Prefix && first != "*" && first != ">" {
			return &FilterError{Field: "subject", Value: f.Subject,
				Want: "original subjects start with " + s.top.Prefix + "., such as " + s.top.Prefix + ".events.>, " + s.top.CreatePropertySubject() + " or " + s.top.BulkCreatePropertySubject()}
		}
	}
	return nil
}

// Get returns the dead letter id, or an error matching ErrNotFound.
func (s *Store) Get(ctx context.Context, id uint64) (Letter, error) {
	st, err := s.dlq(ctx)
	if err != nil {
		return Letter{}, err
	}
	m, err := st.GetMsg(ctx, id)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return Letter{}, fmt.Errorf("dead letter %d: %w (a wrong id, or already replayed or purged)", id, ErrNotFound)
	}
	if err != nil {
		return Letter{}, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	return newLetter(m.Sequence, m.Subject, m.Header, m.Data, m.Time), nil
}

// List returns the dead letters f selects, oldest first.
func (s *Store) List(ctx context.Context, f Filter) ([]Letter, error) {
	var out []Letter
	err := s.Scan(ctx, f, func(l Letter) error {
		out = append(out, l)
		return nil
	})
	return out, err
}

// Scan calls fn for each dead letter f selects, oldest first, and stops at
// fn's first error, which it returns.
func (s *Store) Scan(ctx context.Context, f Filter, fn func(Letter) error) error {
	if err := s.Validate(f); err != nil {
		return err
	}
	n := 0
	emit := func(l Letter) (stop bool, err error) {
		if !f.match(&l) {
			return false, nil
		}
		if err := fn(l); err != nil {
			return true, err
		}
		n++
		return f.Limit > 0 && n >= f.Limit, nil
	}
	if len(f.IDs) > 0 {
		ids := slices.Compact(slices.Sorted(slices.Values(f.IDs)))
		for _, id := range ids {
			l, err := s.Get(ctx, id)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if stop, err := emit(l); stop || err != nil {
				return err
			}
		}
		return nil
	}
	return s.scanStream(ctx, f, emit)
}

// scanStream reads the DLQ with an ordered consumer: ephemeral, no acks,
// deleted when done.
func (s *Store) scanStream(ctx context.Context, f Filter, emit func(Letter) (bool, error)) error {
	st, err := s.dlq(ctx)
	if err != nil {
		return err
	}
	pattern := ">"
	if f.Subject != "" {
		pattern = f.Subject
	}
	cfg := jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{s.top.DLQSubject(pattern)},
		InactiveThreshold: time.Minute,
	}
	switch {
	case f.After > 0:
		// A cursor is exact; Since is still checked by match.
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = f.After + 1
	case !f.Since.IsZero():
		start := f.Since.Add(-clockSlack)
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &start
	}
	cons, err := st.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("read %s: %w", s.top.DLQStream(), err)
	}
	defer s.dropConsumer(st, cons)
	// A page needs Limit letters: fetching a whole batch for it would read
	// (and decode the headers of) five times as many. A sparse filter
	// needs more, so the batch doubles up to fetchBatch.
	size := fetchBatch
	if f.Limit > 0 && f.Limit < size {
		size = f.Limit
	}
	for {
		batch, err := cons.FetchNoWait(size)
		if err != nil {
			return fmt.Errorf("read %s: %w", s.top.DLQStream(), err)
		}
		got, done := 0, false
		var stopErr error
		for m := range batch.Messages() {
			got++
			if done {
				continue // drain the batch
			}
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("read %s: %w", s.top.DLQStream(), err)
			}
			if f.Through != 0 && md.Sequence.Stream > f.Through {
				done = true // past what was counted: the rest is newer still
				continue
			}
			stop, err := emit(newLetter(md.Sequence.Stream, m.Subject(), m.Headers(), m.Data(), md.Timestamp))
			done = stop || md.NumPending == 0
			stopErr = err
		}
		if err := batch.Error(); err != nil && !done {
			return fmt.Errorf("read %s: %w", s.top.DLQStream(), err)
		}
		if stopErr != nil || done || got == 0 {
			return stopErr
		}
		size = min(2*size, fetchBatch)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// dropConsumer deletes the ordered consumer so that it does not linger in
// omq status until its inactivity threshold.
func (s *Store) dropConsumer(st jetstream.Stream, cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = st.DeleteConsumer(ctx, info.Name) // best effort: it expires anyway
}

// Delete removes dead letters by id and returns how many it removed; ids
// that no longer exist are not an error.
func (s *Store) Delete(ctx context.Context, ids ...uint64) (int, error) {
	st, err := s.dlq(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, id := range ids {
		err := st.DeleteMsg(ctx, id)
		switch {
		case err == nil:
			n++
		case isGone(err):
			// already gone
		default:
			errs = append(errs, fmt.Errorf("delete dead letter %d: %w", id, err))
		}
	}
	return n, errors.Join(errs...)
}

// Purge deletes the dead letters f selects and returns how many. It refuses
// an empty filter with ErrEmptyFilter. Set f.Through to what a
// confirmation counted (Count) so that letters arriving since are kept.
func (s *Store) Purge(ctx context.Context, f Filter) (int, error) {
	if f.Empty() {
		return 0, ErrEmptyFilter
	}
	// Deleting as the scan goes keeps one letter in memory, not the
	// selection: a purge of a full DLQ must not load it.
	n := 0
	err := s.Scan(ctx, f, func(l Letter) error {
		d, err := s.Delete(ctx, l.ID)
		n += d
		return err
	})
	return n, err
}

// Export writes the dead letters f selects to w as JSON lines (see
// Letter.MarshalJSON) and returns how many it wrote.
func (s *Store) Export(ctx context.Context, w io.Writer, f Filter) (int, error) {
	enc := json.NewEncoder(w)
	n := 0
	err := s.Scan(ctx, f, func(l Letter) error {
		if err := enc.Encode(l); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		n++
		return nil
	})
	return n, err
}

// isGone reports an error of deleting a message that no longer exists:
// "message not found" (10037) or "sequence not found" (10043).
func isGone(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeMessageNotFound || api.ErrorCode == 10043) {
		return true
	}
	return errors.Is(err, jetstream.ErrMsgNotFound) ||
		(errors.Is(err, jetstream.ErrMsgDeleteUnsuccessful) && strings.Contains(strings.ToLower(err.Error()), "not found"))
}
