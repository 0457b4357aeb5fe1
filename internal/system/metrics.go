package system

import (
	"context"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
)

func registerMetrics(reg *prometheus.Registry, nc *nats.Conn, js jetstream.JetStream, top streams.Topology, api *openmoove.Client) {
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "omq_nats_connected", Help: "1 when the NATS connection is up, else 0.",
		}, func() float64 {
			if nc.IsConnected() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "omq_nats_reconnects_total", Help: "Reconnections of the NATS connection.",
		}, func() float64 { return float64(nc.Stats().Reconnects) }),
		&streamCollector{js: js, top: top},
		buildInfo(),
		// The monitor, the poller and webhook freshness judge time by the
		// API's clock; a large offset explains alerts that seem early or late.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "omq_api_clock_offset_seconds",
			Help: "How far OpenMoove's clock (the Date of its latest answer) is ahead of this host's; negative when behind, 0 before any answer.",
		}, func() float64 { return api.ClockOffset().Seconds() }),
	)
}

// buildInfo is omq_build_info: always 1, its labels say which omq runs, so
// a dashboard can tell replicas of different builds apart.
func buildInfo() prometheus.Collector {
	version, revision := openmoove.Version, "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if (version == "" || version == "dev") && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	if version == "" {
		version = "dev"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "omq_build_info", Help: "Always 1; the labels name the omq build (version as omq version prints it).",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version(), "revision": revision},
	})
	g.Set(1)
	return g
}

// streamCollector reads each stream's state at scrape time, so the figures
// are the server's, shared by every replica, not one process's view.
type streamCollector struct {
	js  jetstream.JetStream
	top streams.Topology
}

var (
	streamSeenDesc = prometheus.NewDesc("omq_stream_messages_seen_total",
		"Messages a stream has ever stored (its last sequence).", []string{"stream"}, nil)
	streamMsgsDesc = prometheus.NewDesc("omq_stream_messages",
		"Messages a stream holds now.", []string{"stream"}, nil)
	streamBytesDesc = prometheus.NewDesc("omq_stream_bytes",
		"Bytes a stream holds now.", []string{"stream"}, nil)
)

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- streamSeenDesc
	ch <- streamMsgsDesc
	ch <- streamBytesDesc
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, sc := range c.top.Streams() {
		st, err := c.js.Stream(ctx, sc.Name)
		if err != nil {
			continue
		}
		state := st.CachedInfo().State
		ch <- prometheus.MustNewConstMetric(streamSeenDesc, prometheus.CounterValue, float64(state.LastSeq), sc.Name)
		ch <- prometheus.MustNewConstMetric(streamMsgsDesc, prometheus.GaugeValue, float64(state.Msgs), sc.Name)
		ch <- prometheus.MustNewConstMetric(streamBytesDesc, prometheus.GaugeValue, float64(state.Bytes), sc.Name)
	}
}
