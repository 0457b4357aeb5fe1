package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/webhookreceiver"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/properties"
	"github.com/openmoove/omq/workers/webhooks"
)

// callsResult is a row of the efficiency section for properties created
// through omq.
type callsResult struct {
	events, calls, reads, withAddress int
}

// callsRun creates txCount standard properties through omq's property
// worker (so the ledger knows them); with hooks, the sandbox's webhooks go
// to omq's receiver and the webhook worker until every transaction's cache
// entry holds its milestones and address. Then the milestone worker runs
// five events per transaction. It returns the calls those events cost (the
// creations' POSTs are not counted), the reads among them and how many
// milestone_completed outcomes name the address.
func callsRun(ctx context.Context, e *natsEnv, txCount int, hooks bool) (callsResult, error) {
	var r callsResult
	label := "read-once"
	cfg := sandboxUnlimited(0)
	var stopHooks func()
	if hooks {
		label = "webhooks"
		_, js, err := e.conn("receiver")
		if err != nil {
			return r, err
		}
		mux := http.NewServeMux()
		if _, err := webhookreceiver.Register(mux, webhookreceiver.Options{Secrets: []string{"whsec-bench"}, JS: js, Topology: e.top}); err != nil {
			return r, err
		}
		hs := httptest.NewServer(mux)
		defer hs.Close()
		cfg.WebhookURL, cfg.WebhookSecret, cfg.TimeScale = hs.URL+webhookreceiver.Path, "whsec-bench", 0.001
	}
	sb, api, err := newSandbox(ctx, cfg)
	if err != nil {
		return r, err
	}
	defer func() { _ = sb.Close(context.Background()); api.CloseIdleConnections() }()
	nc, js, err := e.conn("calls-" + label)
	if err != nil {
		return r, err
	}
	defer nc.Close()
	if hooks {
		w, err := webhooks.New(ctx, webhooks.Options{Worker: workerConfig(8).Worker(), JS: js, API: api, Topology: e.top})
		if err != nil {
			return r, err
		}
		if err := w.Start(ctx); err != nil {
			return r, err
		}
		stopHooks = func() {
			c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = w.Stop(c)
		}
		defer stopHooks()
	}
	txs, err := createThroughOMQ(ctx, e, js, api, label, txCount)
	if err != nil {
		return r, err
	}
	if hooks {
		if err := waitCacheFilled(ctx, sb, js, e, txs); err != nil {
			return r, err
		}
		stopHooks() // so that only the milestone worker's calls are counted
	}
	var withAddress atomic.Int64
	sub, err := e.nc.Subscribe(e.top.OutcomeSubject(events.OutcomeMilestoneCompleted), func(m *nats.Msg) {
		if o, err := events.ParseOutcome(m.Data); err == nil && o.EventID != "" && o.Data["address"] != nil {
			withAddress.Add(1)
		}
	})
	if err != nil {
		return r, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	sb.ResetRequests()
	list := backlog(txs, 1)
	if err := publishAll(ctx, e.nc, list, 1024); err != nil {
		return r, err
	}
	w, err := milestones.New(ctx, milestones.Options{Worker: workerConfig(8).Worker(), JS: js, API: api, Topology: e.top})
	if err != nil {
		return r, err
	}
	if err := w.Start(ctx); err != nil {
		return r, err
	}
	err = e.waitDrained(ctx, 5*time.Minute)
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_ = w.Stop(c)
	cancel()
	e.deleteConsumer(ctx, milestones.Name)
	if err != nil {
		return r, err
	}
	_ = e.nc.Flush()
	r.events, r.withAddress = len(list), int(withAddress.Load())
	for _, q := range sb.Requests() {
		r.calls++
		if q.Method == http.MethodGet {
			r.reads++
		}
	}
	return r, nil
}

// createThroughOMQ queues n creations and runs the property worker until
// the ledger records each; it returns their transaction ids.
func createThroughOMQ(ctx context.Context, e *natsEnv, js jetstream.JetStream, api *openmoove.Client, label string, n int) ([]string, error) {
	w, err := properties.New(ctx, properties.Options{Worker: workerConfig(8).Worker(), JS: js, Topology: e.top, API: api})
	if err != nil {
		return nil, err
	}
	if err := w.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(c)
	}()
	p, err := publisher.New(e.nc)
	if err != nil {
		return nil, err
	}
	b := p.NewBatch()
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("bench-%s-%d-%d", label, time.Now().UnixNano(), i)
		req := events.CreateProperty{RequestID: ids[i], CreateClientRequest: openmoove.CreateClientRequest{
			FirstName: "Grace", LastName: "Hopper", Email: fmt.Sprintf("grace%d@example.com", i),
			PhoneNumber: "+447700900002", PropertyAddress: fmt.Sprintf("%d Mill Lane, Leeds", i+1),
			PropertyPostcode: "LS1 1AA", EstateAgentEmail: "agent@example.com", SaleMethod: openmoove.SaleStandard,
		}}
		if _, err := b.AddProperty(ctx, req); err != nil {
			return nil, err
		}
	}
	if res := b.Flush(ctx); len(res.Failures) > 0 {
		return nil, fmt.Errorf("queue creations: %v", res.Failures[0])
	}
	txs := make([]string, n)
	deadline := time.Now().Add(3 * time.Minute)
	for i := 0; i < n; {
		le, _, err := w.Creator.Ledger().Get(ctx, ids[i])
		if err == nil && le.State == properties.StateCreated {
			txs[i] = le.TransactionID
			i++
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: creation %d of %d not recorded in 3m", label, i, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return txs, nil
}

// waitCacheFilled waits until the webhook worker has cached every
// milestone and the address of each transaction.
func waitCacheFilled(ctx context.Context, sb *sandbox.Server, js jetstream.JetStream, e *natsEnv, txs []string) error {
	kv, err := js.KeyValue(ctx, e.top.MilestonesBucket())
	if err != nil {
		return err
	}
	deadline := time.Now().Add(3 * time.Minute)
	for i := 0; i < len(txs); {
		p, _ := sb.Lookup(txs[i])
		kve, err := kv.Get(ctx, txs[i])
		if err == nil && filled(kve.Value(), len(p.Milestones)) {
			i++
			continue
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("webhooks: the cache of transaction %d of %d not filled in 3m", i, len(txs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// filled reports whether a cache entry holds n milestones and the address.
func filled(b []byte, n int) bool {
	var entry struct {
		Milestones []json.RawMessage `json:"milestones"`
		HasAddress bool              `json:"has_address"`
	}
	return json.Unmarshal(b, &entry) == nil && len(entry.Milestones) == n && entry.HasAddress
}

// callsRows adds the efficiency rows of properties created through omq:
// read-once (addresses from the ledger) and webhooks filling the cache.
func callsRows(ctx context.Context, t *table, txCount int) error {
	for _, hooks := range []bool{false, true} {
		// A server of its own each: every sandbox numbers its properties
		// from 1, and the ledger's property-id claims of one run would
		// name another run's transactions.
		e, err := startNATS(ctx)
		if err != nil {
			return err
		}
		r, err := callsRun(ctx, e, txCount, hooks)
		e.close()
		if err != nil {
			return err
		}
		what := "read-once: properties created through omq, no webhooks"
		if hooks {
			what = "webhooks on: property.milestone.created filled the cache"
		}
		t.add("4 API", fmt.Sprintf("milestone events, %s: calls for %d events of %d transactions", what, r.events, txCount),
			fmt.Sprintf("%d = %.2f per event (%d reads); %d of %d outcomes name the address", r.calls, float64(r.calls)/float64(r.events), r.reads, r.withAddress, r.events), "")
	}
	return nil
}
