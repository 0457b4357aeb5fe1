package console

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/openmoove/omq/internal/status"
)

// The overview's last hour: a sample of the streams every sampleEvery,
// shown in buckets of bucketEvery. The samples live in memory, so the
// hour starts when the console does.
const (
	sampleEvery = 30 * time.Second
	bucketEvery = 5 * time.Minute
	keepFor     = time.Hour
)

type sample struct {
	at      time.Time
	streams map[string]streamSample
}

type streamSample struct {
	lastSeq uint64
	// unfinished is its worker's pending plus in flight.
	unfinished uint64
	// wait is the age of its worker's oldest unfinished message.
	wait float64
}

type sampler struct {
	mu  sync.Mutex
	now func() time.Time
	s   []sample
}

func newSampler(now func() time.Time) *sampler { return &sampler{now: now} }

func (sp *sampler) run(ctx context.Context, read func(context.Context) (*status.Status, error), log *slog.Logger) {
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		st, err := read(rctx)
		cancel()
		if err == nil {
			sp.add(sp.now(), st)
		} else if ctx.Err() == nil {
			log.Debug("console: sample of the streams failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (sp *sampler) add(at time.Time, st *status.Status) {
	smp := sample{at: at, streams: map[string]streamSample{}}
	for _, s := range st.Streams {
		if !s.Work || s.Missing {
			continue
		}
		ss := streamSample{lastSeq: s.LastSeq}
		if len(s.Consumers) > 0 {
			c := s.Consumers[0]
			ss.unfinished = c.Pending + uint64(max(c.AckPending, 0))
			ss.wait = c.OldestPendingAgeSeconds
		}
		smp.streams[s.Name] = ss
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.s = append(sp.s, smp)
	for len(sp.s) > 0 && at.Sub(sp.s[0].at) > keepFor+bucketEvery {
		sp.s = sp.s[1:]
	}
}

// rateRow is one work stream's last hour, oldest bucket first.
type rateRow struct {
	Stream  string
	Buckets []bucket
	In      uint64
	Done    uint64
	MaxWait float64
}

// bucket is bucketEvery of one stream: messages published (In) and
// finished by its worker (Done), and the longest any waited (Wait, s).
type bucket struct {
	From time.Time
	In   uint64
	Done uint64
	Wait float64
	// Seen is false for a bucket before the console started.
	Seen bool
}

func (sp *sampler) rates(now time.Time) []rateRow {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.s) == 0 {
		return nil
	}
	var names []string
	for n := range sp.s[len(sp.s)-1].streams {
		names = append(names, n)
	}
	slices.Sort(names)
	start := now.Add(-keepFor).Truncate(bucketEvery)
	var out []rateRow
	for _, n := range names {
		row := rateRow{Stream: n}
		for b := start; b.Before(now); b = b.Add(bucketEvery) {
			row.Buckets = append(row.Buckets, sp.bucket(n, b, b.Add(bucketEvery)))
		}
		for _, b := range row.Buckets {
			row.In += b.In
			row.Done += b.Done
			row.MaxWait = max(row.MaxWait, b.Wait)
		}
		out = append(out, row)
	}
	return out
}

// bucket sums the differences between consecutive samples that end within
// [from, to): a message published is a step of the last sequence; one
// finished is a step of it the unfinished count did not take up.
func (sp *sampler) bucket(name string, from, to time.Time) bucket {
	b := bucket{From: from}
	for i := 1; i < len(sp.s); i++ {
		cur, prev := sp.s[i], sp.s[i-1]
		if cur.at.Before(from) || !cur.at.Before(to) {
			continue
		}
		c, ok1 := cur.streams[name]
		p, ok2 := prev.streams[name]
		if !ok1 || !ok2 || c.lastSeq < p.lastSeq {
			continue
		}
		b.Seen = true
		in := c.lastSeq - p.lastSeq
		b.In += in
		if done := int64(in) - (int64(c.unfinished) - int64(p.unfinished)); done > 0 {
			b.Done += uint64(done)
		}
		b.Wait = max(b.Wait, c.wait)
	}
	return b
}
