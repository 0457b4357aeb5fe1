package deadletter

import (
	"context"
	"time"
)

// Stats describes the DLQ as a whole.
type Stats struct {
	// Count and Bytes (body and headers) of every dead letter.
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
	// ByKind and BySubject (the original subject) split Count and Bytes.
	ByKind    map[string]Tally `json:"by_kind"`
	BySubject map[string]Tally `json:"by_subject"`
	// Oldest and Newest are the earliest and latest FailedAt; zero when
	// the DLQ is empty.
	Oldest time.Time `json:"oldest"`
	Newest time.Time `json:"newest"`
	// StreamBytes is the stream's own byte count (with its overhead), the
	// figure MaxBytes caps.
	StreamBytes uint64 `json:"stream_bytes"`
	// MaxBytes is the DLQ's cap; -1 or 0 for none.
	MaxBytes int64 `json:"max_bytes"`
	// FillPercent is StreamBytes as a percentage of MaxBytes, 0 without a
	// cap. At 100 the DLQ refuses new dead letters, which the workers then
	// keep retrying; omq warns from 80.
	FillPercent float64 `json:"fill_percent"`
}

// Tally is a count of dead letters and their bytes.
type Tally struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
}

// Stats reads every dead letter once and sums them up.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	st := Stats{ByKind: map[string]Tally{}, BySubject: map[string]Tally{}}
	err := s.Scan(ctx, Filter{}, func(l Letter) error {
		st.Count++
		st.Bytes += int64(l.Size)
		add := func(m map[string]Tally, k string) {
			t := m[k]
			t.Count++
			t.Bytes += int64(l.Size)
			m[k] = t
		}
		kind := l.Kind
		if kind == "" {
			kind = "unknown"
		}
		add(st.ByKind, kind)
		add(st.BySubject, l.OriginalSubject)
		if st.Oldest.IsZero() || l.FailedAt.Before(st.Oldest) {
			st.Oldest = l.FailedAt
		}
		if l.FailedAt.After(st.Newest) {
			st.Newest = l.FailedAt
		}
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	stream, err := s.dlq(ctx)
	if err != nil {
		return Stats{}, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return Stats{}, err
	}
	st.StreamBytes = info.State.Bytes
	st.MaxBytes = info.Config.MaxBytes
	if st.MaxBytes > 0 {
		st.FillPercent = 100 * float64(st.StreamBytes) / float64(st.MaxBytes)
	}
	return st, nil
}
