package system

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// apiHandle is the OpenMoove client and, in sandbox mode, the sandbox it
// talks to.
type apiHandle struct {
	client  *openmoove.Client
	config  openmoove.Config
	sandbox *sandbox.Server
}

// startAPI starts the sandbox when no API URL is set and builds the client.
// Every call of the client takes a token of the shared budget first (the
// BUDGET bucket, shared by every replica), its X-RateLimit-* answers correct
// the budget, and each attempt is counted in omq_api_requests_total.
func startAPI(ctx context.Context, d *Deps, tweak func(*sandbox.Config)) (*apiHandle, error) {
	cfg, log := d.Config, d.Logger
	h := &apiHandle{}
	if cfg.Sandbox() {
		sb, key, err := startSandbox(ctx, cfg, tweak, log)
		if err != nil {
			return nil, err
		}
		h.sandbox = sb
		h.config = openmoove.Config{BaseURL: sb.URL(), APIKey: key}
	} else {
		h.config = openmoove.Config{BaseURL: cfg.OpenMooveURL, APIKey: cfg.OpenMooveAPIKey}
		log.Info("using the OpenMoove API", "url", config.RedactURL(cfg.OpenMooveURL))
	}
	b, err := budget.New(ctx, d.JS, d.Topology, budget.Limits{PerHour: cfg.BudgetPerHour, PerMinute: cfg.BudgetPerMinute,
		Logger: log.With("component", "budget"), Store: d.Store})
	if err == nil {
		h.config = b.Hooks(h.config)
		h.config.OnResponse = apiMetrics(d.Metrics, b)
	}
	var c *openmoove.Client
	if err == nil {
		c, err = openmoove.New(h.config)
	}
	if err != nil {
		if h.sandbox != nil {
			_ = h.sandbox.Close(ctx)
		}
		return nil, err
	}
	h.client = c
	return h, nil
}

func (h *apiHandle) sandboxURL() string {
	if h == nil || h.sandbox == nil {
		return ""
	}
	return h.sandbox.URL()
}

func (h *apiHandle) close(ctx context.Context) error {
	if h.sandbox == nil {
		return nil
	}
	return h.sandbox.Close(ctx)
}

// apiMetrics registers the API call metrics and the budget gauge, and returns
// the OnResponse hook that feeds them.
func apiMetrics(reg *prometheus.Registry, b *budget.Budget) func(openmoove.RequestInfo, int, time.Duration) {
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "omq_api_requests_total", Help: "OpenMoove API calls by endpoint, method and status (0: no answer).",
	}, []string{"endpoint", "method", "status"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "omq_api_request_seconds", Help: "OpenMoove API call latency by endpoint and method.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 9),
	}, []string{"endpoint", "method"})
	budgetLeft := budgetCollector{b: b, desc: prometheus.NewDesc("omq_api_budget_left",
		"Calls left in the shared API budget's window (hour, minute), for every replica together.", []string{"window"}, nil)}
	if reg != nil {
		reg.MustRegister(calls, latency, budgetLeft)
	}
	return func(r openmoove.RequestInfo, status int, d time.Duration) {
		ep := endpoint(r.Path)
		calls.WithLabelValues(ep, r.Method, strconv.Itoa(status)).Inc()
		latency.WithLabelValues(ep, r.Method).Observe(d.Seconds())
	}
}

// endpoint turns a path into its route: ids become {id}, so the label has
// a handful of values ("/properties/{id}/milestones/").
func endpoint(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p != "" && (strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }) < 0 || len(p) >= 32) {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}

// budgetCollector reads the shared budget at scrape time.
type budgetCollector struct {
	b    *budget.Budget
	desc *prometheus.Desc
}

func (c budgetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c budgetCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	hour, minute, err := c.b.Left(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(hour), "hour")
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(minute), "minute")
}
