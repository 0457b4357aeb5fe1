package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
)

// lanesResult is one run of the lanes row.
type lanesResult struct {
	p50, p99, worst time.Duration
	// drain is the import's calls in each full hour window over what the
	// budget left it there (the limit less live work's calls).
	drain               float64
	bulkCalls, liveCall int
	throttled           int
	deadLettered        uint64
	bulkDone            time.Duration
}

// runLanes is the lanes section: the API's real limits (1000 an hour, 100
// a minute) scaled in time, an import of bulk creations queued at once,
// then live milestone events published one by one at random moments; the
// same run with lanes off (omq before lanes) and on.
func runLanes(ctx context.Context, t *table) error {
	if !want("lanes") {
		return nil
	}
	hour, bulk, txs := 60*time.Second, 3000, 20 // 20 transactions × 5 events: 100 live events
	if *quick {
		hour, bulk, txs = 12*time.Second, 1500, 4
	}
	for _, mode := range []string{"off", budget.DefaultLanes} {
		lanes, err := budget.ParseLanes(mode)
		if err != nil {
			return err
		}
		r, err := lanesRun(ctx, hour, bulk, txs, lanes)
		if err != nil {
			return err
		}
		minute := hour / 60
		target := ""
		if !lanes.Off {
			target = fmt.Sprintf("p99 ≤ a minute window (%s) %s; drain ≥ 0.95 %s", minute, ok(r.p99 <= minute), ok(r.drain >= 0.95))
		}
		t.add("8 lanes", fmt.Sprintf("--budget-lanes %s: %d creations (omq import) + %d live events, 1000/%s and 100/%s", mode, bulk, txs*5, hour, minute),
			fmt.Sprintf("live wait publish → API call p50 %s, p99 %s, max %s; import drain %.2f of what live left it (%d POST, %d live calls, %d × 429, %d dead-lettered, done at +%.0fs)",
				r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.worst.Round(time.Millisecond), r.drain, r.bulkCalls, r.liveCall, r.throttled, r.deadLettered, r.bulkDone.Seconds()),
			target)
	}
	return nil
}

// lanesRun runs one side of the lanes row on a server of its own.
func lanesRun(ctx context.Context, hour time.Duration, bulk, txCount int, lanes budget.Lanes) (lanesResult, error) {
	var r lanesResult
	e, err := startNATS(ctx)
	if err != nil {
		return r, err
	}
	defer e.close()
	minute := hour / 60
	sb, err := newSandboxServer(sandbox.Config{RateLimit: 1000, RateWindow: hour, BurstLimit: 100, BurstWindow: minute})
	if err != nil {
		return r, err
	}
	if err := sb.Start(ctx); err != nil {
		return r, err
	}
	defer func() { _ = sb.Close(context.Background()) }()
	nc, js, err := e.conn("lanes")
	if err != nil {
		return r, err
	}
	defer nc.Close()
	bud, err := budget.New(ctx, js, e.top, budget.Limits{PerHour: 1000, PerMinute: 100, Hour: hour, Minute: minute, Lanes: lanes})
	if err != nil {
		return r, err
	}
	// The first update call of each live event, by its stream and sequence
	// (the work id the runtime gives each message): the budget's hook runs
	// first, so this is when the call got its token.
	var mu sync.Mutex
	called := map[string]time.Time{}
	api, err := openmoove.New(bud.Hooks(openmoove.Config{BaseURL: sb.URL(), APIKey: apiKey,
		BeforeRequest: func(ctx context.Context, ri openmoove.RequestInfo) error {
			if w := budget.WorkOf(ctx); ri.Mutation && w != "" {
				mu.Lock()
				if _, seen := called[w]; !seen {
					called[w] = time.Now()
				}
				mu.Unlock()
			}
			return nil
		}}))
	if err != nil {
		return r, err
	}
	defer api.CloseIdleConnections()
	txs, err := seed(sb, txCount)
	if err != nil {
		return r, err
	}
	live := backlog(txs, 1)
	rand.Shuffle(len(live), func(i, j int) { live[i], live[j] = live[j], live[i] })
	if err := queueImport(ctx, e, bulk); err != nil {
		return r, err
	}
	cfg := workerConfig(8)
	pw, err := properties.New(ctx, properties.Options{Worker: cfg.Worker(), JS: js, Topology: e.top, API: api})
	if err != nil {
		return r, err
	}
	mw, err := milestones.New(ctx, milestones.Options{Worker: cfg.Worker(), Mode: cfg.MilestoneMode, Grace: cfg.TransactionGrace, JS: js, API: api, Topology: e.top})
	if err != nil {
		return r, err
	}
	start := time.Now()
	for _, c := range []interface{ Start(context.Context) error }{pw, mw} {
		if err := c.Start(ctx); err != nil {
			return r, err
		}
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = mw.Stop(c)
		_ = pw.Stop(c)
	}()
	// Live events at random moments over the import's first two and a half
	// hours (it needs a little over three): some while the hour is fresh,
	// most after the import has spent it.
	at := make([]time.Duration, len(live))
	for i := range at {
		at[i] = time.Duration(rand.Int64N(int64(hour * 5 / 2)))
	}
	slices.Sort(at)
	p, err := publisher.New(e.nc)
	if err != nil {
		return r, err
	}
	published := map[string]time.Time{}
	pubDone := make(chan error, 1)
	go func() {
		for i, ev := range live {
			time.Sleep(time.Until(start.Add(at[i])))
			ack, err := p.Publish(ctx, ev)
			if err != nil {
				pubDone <- err
				return
			}
			mu.Lock()
			published[ack.Stream+":"+strconv.FormatUint(ack.Sequence, 10)] = time.Now()
			mu.Unlock()
		}
		close(pubDone)
	}()
	deadline := start.Add(6 * hour)
	allPublished := false
	for {
		select {
		case err, open := <-pubDone:
			if err != nil {
				return r, err
			}
			allPublished = !open
		default:
		}
		n, err := e.streamMsgs(ctx, e.top.CommandsStream())
		if err != nil {
			return r, err
		}
		if n == 0 && r.bulkDone == 0 {
			r.bulkDone = time.Since(start)
		}
		mu.Lock()
		done := 0
		for k := range published {
			if _, ok := called[k]; ok {
				done++
			}
		}
		mu.Unlock()
		if r.bulkDone > 0 && allPublished && done == len(published) {
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("lanes: not done after %s: %d creations queued, %d of %d live events called", 6*hour, n, done, len(published))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var waits []time.Duration
	mu.Lock()
	for k, pub := range published {
		w := called[k].Sub(pub)
		waits = append(waits, w)
		if w > minute {
			fmt.Fprintf(os.Stderr, "  lanes: live event %s published at +%.2fs waited %s\n", k, pub.Sub(start).Seconds(), w.Round(time.Millisecond))
		}
	}
	mu.Unlock()
	r.p50, r.p99 = percentile(waits, 0.50), percentile(waits, 0.99)
	r.worst = slices.Max(waits)
	r.drain, r.bulkCalls, r.liveCall, r.throttled = drainOfImport(sb.Requests(), start.Add(r.bulkDone), hour)
	// Waiting is never a failure: a dead letter here is a message exhausted
	// by hand-backs while its lane waited.
	if r.deadLettered, err = e.streamMsgs(ctx, e.top.DLQStream()); err != nil {
		return r, err
	}
	return r, nil
}

// queueImport queues n creations as omq import does: a batch in the bulk
// lane.
func queueImport(ctx context.Context, e *natsEnv, n int) error {
	p, err := publisher.New(e.nc, publisher.WithLane(events.LaneBulk), publisher.WithTimeout(30*time.Second))
	if err != nil {
		return err
	}
	b := p.NewBatch()
	for i := range n {
		req := events.CreateProperty{CreateClientRequest: openmoove.CreateClientRequest{
			FirstName: "Grace", LastName: "Hopper", Email: fmt.Sprintf("grace%d@example.com", i),
			PhoneNumber: "+447700900002", PropertyAddress: fmt.Sprintf("%d Mill Lane, Leeds", i+1),
			PropertyPostcode: "LS1 1AA", EstateAgentEmail: "agent@example.com", SaleMethod: openmoove.SaleStandard,
		}}
		if _, err := b.AddProperty(ctx, req); err != nil {
			return err
		}
	}
	if res := b.Flush(ctx); len(res.Failures) > 0 {
		return fmt.Errorf("queue creations: %v", res.Failures[0])
	}
	return nil
}

// drainOfImport rebuilds the sandbox's hour windows from its journal (a
// window opens at the first call after the last one ended) and, over the
// windows that ended before the import did, divides the import's calls
// (POST: creations) by what live work (every other call) left of the
// limit.
func drainOfImport(reqs []sandbox.Request, bulkDone time.Time, hour time.Duration) (drain float64, bulk, live, throttled int) {
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) })
	type win struct {
		start      time.Time
		bulk, live int
	}
	var ws []win
	for _, q := range reqs {
		if q.Status == 429 {
			throttled++
		}
		if len(ws) == 0 || !q.At.Before(ws[len(ws)-1].start.Add(hour)) {
			ws = append(ws, win{start: q.At})
		}
		w := &ws[len(ws)-1]
		if q.Method == "POST" {
			w.bulk++
			bulk++
		} else {
			w.live++
			live++
		}
	}
	used, left := 0, 0
	for _, w := range ws {
		if w.start.Add(hour).After(bulkDone) {
			continue // the import's last hour: it did not need all of it
		}
		used += w.bulk
		left += 1000 - w.live
		fmt.Fprintf(os.Stderr, "  lanes: hour window at %s: %d import calls, %d live calls\n", w.start.Format("15:04:05"), w.bulk, w.live)
	}
	if left > 0 {
		drain = float64(used) / float64(left)
	}
	return drain, bulk, live, throttled
}

// streamMsgs is how many messages stream holds.
func (e *natsEnv) streamMsgs(ctx context.Context, stream string) (uint64, error) {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.Msgs, nil
}
