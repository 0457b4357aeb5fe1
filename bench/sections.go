package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
)

func sandboxUnlimited(latencyMS int) sandbox.Config {
	return sandbox.Config{RateLimit: -1, Faults: sandbox.Faults{LatencyMS: latencyMS}}
}

// latencyRun publishes n events at a steady rate (one at a time, waiting
// for each publish's ack) into a running engine and measures, per event,
// the time from just before its publish to its milestone_completed
// outcome arriving on a core subscription.
func latencyRun(ctx context.Context, e *natsEnv, eng engine, n int, perSecond float64) (p50, p99 time.Duration, err error) {
	sb, api, err := newSandbox(ctx, sandboxUnlimited(0))
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = sb.Close(context.Background()); api.CloseIdleConnections() }()
	txs, err := seed(sb, (n+4)/5)
	if err != nil {
		return 0, 0, err
	}
	list := backlog(txs, 1)[:n]
	_, stop, err := eng.start(ctx, e, api, 8)
	if err != nil {
		return 0, 0, err
	}
	defer func() { stop(); e.deleteConsumer(ctx, eng.consumer) }()
	var mu sync.Mutex
	sent := make(map[string]time.Time, n)
	lat := make([]time.Duration, 0, n)
	done := make(chan struct{})
	sub, err := e.nc.Subscribe(e.top.OutcomeSubject(events.OutcomeMilestoneCompleted), func(m *nats.Msg) {
		at := time.Now()
		o, err := events.ParseOutcome(m.Data)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if t, ok := sent[o.EventID]; ok {
			lat = append(lat, at.Sub(t))
			delete(sent, o.EventID)
			if len(lat) == n {
				close(done)
			}
		}
	})
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := e.nc.Flush(); err != nil {
		return 0, 0, err
	}
	p, err := publisher.New(e.nc)
	if err != nil {
		return 0, 0, err
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
	defer tick.Stop()
	for _, ev := range list {
		<-tick.C
		mu.Lock()
		sent[ev.ID] = time.Now()
		mu.Unlock()
		if _, err := p.Publish(ctx, ev); err != nil {
			return 0, 0, err
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return 0, 0, fmt.Errorf("%s: only %d of %d outcomes", eng.name, len(lat), n)
	}
	return percentile(lat, 0.50), percentile(lat, 0.99), nil
}

// creationsRun queues n property creations and runs the property worker
// until each is created; it returns the API calls made.
func creationsRun(ctx context.Context, e *natsEnv, n int) (calls int, err error) {
	sb, api, err := newSandbox(ctx, sandboxUnlimited(0))
	if err != nil {
		return 0, err
	}
	defer func() { _ = sb.Close(context.Background()); api.CloseIdleConnections() }()
	nc, js, err := e.conn("properties")
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	p, err := publisher.New(e.nc)
	if err != nil {
		return 0, err
	}
	b := p.NewBatch()
	for i := range n {
		req := events.CreateProperty{CreateClientRequest: openmoove.CreateClientRequest{
			FirstName: "Grace", LastName: "Hopper", Email: fmt.Sprintf("grace%d@example.com", i),
			PhoneNumber: "+447700900002", PropertyAddress: fmt.Sprintf("%d Mill Lane, Leeds", i+1),
			PropertyPostcode: "LS1 1AA", EstateAgentEmail: "agent@example.com", SaleMethod: openmoove.SaleStandard,
		}}
		if _, err := b.AddProperty(ctx, req); err != nil {
			return 0, err
		}
	}
	if res := b.Flush(ctx); len(res.Failures) > 0 {
		return 0, fmt.Errorf("queue creations: %v", res.Failures[0])
	}
	w, err := properties.New(ctx, properties.Options{Worker: workerConfig(8).Worker(), JS: js, Topology: e.top, API: api})
	if err != nil {
		return 0, err
	}
	if err := w.Start(ctx); err != nil {
		return 0, err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(c)
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s, err := e.js.Stream(ctx, e.top.CommandsStream())
		if err != nil {
			return 0, err
		}
		if info, err := s.Info(ctx); err == nil && info.State.Msgs == 0 {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("creations not done in 2m")
		}
		time.Sleep(10 * time.Millisecond)
	}
	created := 0
	for _, r := range sb.Requests() {
		if r.Method == "POST" && r.Status == 201 {
			created++
		}
	}
	if created != n {
		return 0, fmt.Errorf("%d properties created, want %d", created, n)
	}
	return len(sb.Requests()), nil
}

// drainResult is the budget drain row.
type drainResult struct {
	events, calls, minCalls, throttled int
	elapsed, ideal, literal            time.Duration
	limit                              int
	wcalls                             []int
	window                             time.Duration
}

// drainRun: a sandbox limited to limit calls per window (one fixed window;
// see BENCHMARKS.md for why the burst window is not scaled below a
// second), a budget with the same limits wired into the client as omq
// does (budget.Hooks), a backlog of txCount×5 events, and the milestone
// worker at its default concurrency. The ideal is what a client that
// knows the windows could do: every full window used, the last one at
// once: (⌈calls/limit⌉−1) × window.
func drainRun(ctx context.Context, e *natsEnv, txCount, limit int, window time.Duration) (drainResult, error) {
	var r drainResult
	sb, err := newSandboxServer(sandbox.Config{RateLimit: limit, BurstLimit: limit, RateWindow: window, BurstWindow: window})
	if err != nil {
		return r, err
	}
	if err := sb.Start(ctx); err != nil {
		return r, err
	}
	defer func() { _ = sb.Close(context.Background()) }()
	nc, js, err := e.conn("drain")
	if err != nil {
		return r, err
	}
	defer nc.Close()
	bud, err := budget.New(ctx, js, e.top, budget.Limits{PerHour: limit, PerMinute: limit, Hour: window, Minute: window})
	if err != nil {
		return r, err
	}
	api, err := openmoove.New(bud.Hooks(openmoove.Config{BaseURL: sb.URL(), APIKey: apiKey}))
	if err != nil {
		return r, err
	}
	defer api.CloseIdleConnections()
	txs, err := seed(sb, txCount)
	if err != nil {
		return r, err
	}
	list := backlog(txs, 1)
	if err := publishAll(ctx, e.nc, list, 1024); err != nil {
		return r, err
	}
	cfg := workerConfig(8)
	w, err := milestones.New(ctx, milestones.Options{Worker: cfg.Worker(), Mode: cfg.MilestoneMode, Grace: cfg.TransactionGrace, JS: js, API: api, Topology: e.top})
	if err != nil {
		return r, err
	}
	start := time.Now()
	if err := w.Start(ctx); err != nil {
		return r, err
	}
	err = e.waitDrained(ctx, 5*time.Minute)
	r.elapsed = time.Since(start)
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = w.Stop(c)
	cancel()
	e.deleteConsumer(ctx, milestones.Name)
	if err != nil {
		return r, err
	}
	// A throttle after the update (the address read) hands the message back;
	// its redelivery republishes: completed once either way.
	if got := w.Handler.Count(milestones.ResultCompleted) + w.Handler.Count(milestones.ResultRepublished); got != len(list) {
		return r, fmt.Errorf("drain: %d completed, want %d", got, len(list))
	}
	r.events, r.limit, r.window = len(list), limit, window
	reqs := sb.Requests()
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].At.Before(reqs[j].At) })
	// The sandbox's fixed windows, rebuilt from the journal: where the time
	// went.
	var wstart time.Time
	for i, q := range reqs {
		if wstart.IsZero() || !q.At.Before(wstart.Add(window)) {
			if !wstart.IsZero() {
				fmt.Fprintf(os.Stderr, "  drain: window at +%.2fs: %d calls, last at +%.2fs\n", wstart.Sub(start).Seconds(), r.wcalls[len(r.wcalls)-1], reqs[i-1].At.Sub(start).Seconds())
			}
			wstart = q.At
			r.wcalls = append(r.wcalls, 0)
		}
		r.wcalls[len(r.wcalls)-1]++
	}
	if len(reqs) > 0 {
		fmt.Fprintf(os.Stderr, "  drain: window at +%.2fs: %d calls, last at +%.2fs\n", wstart.Sub(start).Seconds(), r.wcalls[len(r.wcalls)-1], reqs[len(reqs)-1].At.Sub(start).Seconds())
	}
	for _, q := range reqs {
		r.calls++
		if q.Status == 429 {
			r.throttled++
		}
	}
	r.minCalls = txCount * 6
	windows := int(math.Ceil(float64(r.minCalls) / float64(limit)))
	r.ideal = time.Duration(windows-1) * window
	r.literal = time.Duration(float64(r.minCalls) / float64(limit) * float64(window))
	return r, nil
}

// publishRun publishes n events with omq's publisher (a Batch, inFlight
// unacknowledged at most) into the events stream and returns msgs/s and
// the size of one body.
func publishRun(ctx context.Context, e *natsEnv, n, inFlight int) (rate float64, size int, err error) {
	list := make([]events.Event, n)
	for i := range list {
		list[i] = events.Event{ID: fmt.Sprintf("pub-%08d", i), Type: events.TypeOfferAccepted, TransactionID: "00000000-0000-7000-8000-000000000000", Actor: "bench"}
	}
	b, _ := json.Marshal(list[0])
	nc, _, err := e.conn("publisher")
	if err != nil {
		return 0, 0, err
	}
	defer nc.Close()
	start := time.Now()
	if err := publishAll(ctx, nc, list, inFlight); err != nil {
		return 0, 0, err
	}
	rate = float64(n) / time.Since(start).Seconds()
	s, err := e.js.Stream(ctx, e.top.EventsStream())
	if err != nil {
		return 0, 0, err
	}
	return rate, len(b), s.Purge(ctx)
}
