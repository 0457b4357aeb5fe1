package system_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/system"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// net/http keeps idle client connections' goroutines briefly.
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	)
}

func testConfig(t *testing.T) config.Config {
	c := config.Defaults()
	c.DataDir = t.TempDir()
	c.NATSListen = "off"
	c.HTTP = "127.0.0.1:0"
	c.SandboxAddr = "127.0.0.1:0"
	c.ShutdownTimeout = 10 * time.Second
	return c
}

func start(t *testing.T, c config.Config, onStep func(string)) *system.System {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := system.Start(ctx, system.Options{Config: c, OnStep: onStep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, s) })
	return s
}

func stop(t *testing.T, s *system.System) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Errorf("stop: %v", err)
	}
}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func TestReadyzReportsMissingStreams(t *testing.T) {
	t.Parallel()
	s := start(t, testConfig(t), nil)
	url := "http://" + s.HTTPAddr() + "/readyz"
	if code, body := get(t, url); code != http.StatusOK {
		t.Fatalf("readyz %d %v, want 200 once started", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Deps().JS.DeleteStream(ctx, "OPENMOOVE_DLQ"); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, url)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("readyz %d, want 503 with a stream missing", code)
	}
	reasons, _ := json.Marshal(body["reasons"])
	if !strings.Contains(string(reasons), "OPENMOOVE_DLQ") || !strings.Contains(string(reasons), "omq streams apply") {
		t.Fatalf("reasons %s: want the missing stream and what to run", reasons)
	}
}

func TestReadyzWhenNATSIsGone(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t, natstest.Listen())
	c := testConfig(t)
	c.NATSURL = ns.URL
	c.NATSUser, c.NATSPassword = ns.Credentials().User, ns.Credentials().Password
	s := start(t, c, nil)
	url := "http://" + s.HTTPAddr() + "/readyz"
	if code, _ := get(t, url); code != http.StatusOK {
		t.Fatalf("readyz %d, want 200", code)
	}
	ns.Stop(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get(t, url)
		if code == http.StatusServiceUnavailable {
			if r, _ := json.Marshal(body["reasons"]); !strings.Contains(string(r), "NATS is") {
				t.Fatalf("reasons %s, want the NATS state", r)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz still %d after NATS went away", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHealthzFailsWhenNATSIsClosedForGood(t *testing.T) {
	t.Parallel()
	s := start(t, testConfig(t), nil)
	s.Deps().Conn.Close()
	code, body := get(t, "http://"+s.HTTPAddr()+"/healthz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body["reason"].(string), "restart omq") {
		t.Fatalf("healthz %d %v, want 503 asking for a restart", code, body)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	t.Parallel()
	s := start(t, testConfig(t), nil)
	if code, body := get(t, "http://"+s.HTTPAddr()+"/healthz"); code != 200 || body["status"] != "alive" {
		t.Fatalf("healthz %d %v", code, body)
	}
	resp, err := http.Get("http://" + s.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "omq_nats_connected 1", `omq_stream_messages_seen_total{stream="OPENMOOVE_EVENTS"} 0`,
		// Idle: nothing is owed, and the dead-letter series an alert
		// watches exist at 0 before the first one.
		`omq_consumer_oldest_pending_age_seconds{consumer="milestones",stream="OPENMOOVE_EVENTS",worker="milestones"} 0`,
		`omq_worker_dead_letters_total{kind="permanent",worker="milestones"} 0`,
		`omq_worker_dead_letters_total{kind="exhausted",worker="properties"} 0`,
		// The properties role runs the bulk creations' consumer too.
		`omq_consumer_oldest_pending_age_seconds{consumer="properties-bulk",stream="OPENMOOVE_COMMANDS",worker="properties-bulk"} 0`,
		`omq_worker_dead_letters_total{kind="exhausted",worker="properties-bulk"} 0`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	buildInfo := regexp.MustCompile(`(?m)^omq_build_info\{goversion="` + regexp.QuoteMeta(runtime.Version()) + `",revision="[^"]+",version="[^"]+"\} 1$`)
	if !buildInfo.Match(b) {
		t.Errorf("metrics lack omq_build_info with this Go version:\n%s", b)
	}
}

func TestShutdownOrderAndNothingLost(t *testing.T) {
	t.Parallel()
	c := testConfig(t)
	var mu sync.Mutex
	var steps []string
	s := start(t, c, func(step string) { mu.Lock(); steps = append(steps, step); mu.Unlock() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// Publish asynchronously right up to the stop: every publish the server
	// acknowledged must survive it.
	js := s.Deps().JS
	var acked []jetstream.PubAckFuture
	for i := range 500 {
		f, err := js.PublishAsync("openmoove.outcomes.test", []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, f)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishes not acknowledged")
	}
	stop(t, s)
	mu.Lock()
	got := slices.Clone(steps)
	mu.Unlock()
	want := []string{"http", "roles", "nats-drain", "sandbox", "nats-server"}
	if !slices.Equal(got, want) {
		t.Fatalf("shutdown steps %v, want %v", got, want)
	}

	again := start(t, c, nil)
	st, err := again.Deps().JS.Stream(ctx, "OPENMOOVE_OUTCOMES")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != uint64(len(acked)) {
		t.Fatalf("after restart %d messages, want the %d acknowledged", n, len(acked))
	}
}

func TestStartFailsCleanlyOnBusyPort(t *testing.T) {
	t.Parallel()
	first := start(t, testConfig(t), nil)
	c := testConfig(t)
	c.HTTP = first.HTTPAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := system.Start(ctx, system.Options{Config: c})
	if err == nil || !strings.Contains(err.Error(), "--http") {
		t.Fatalf("err = %v, want a message naming --http", err)
	}
}

// omq_api_clock_offset_seconds tells an on-call person whose clock the
// monitor judges by: OpenMoove's, read from the Date of its answers.
func TestMetricsShowTheAPIClockOffset(t *testing.T) {
	t.Parallel()
	s := start(t, testConfig(t), nil)
	s.Sandbox().AdvanceClock(48 * time.Hour)
	if err := s.Deps().API.Probe(t.Context()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + s.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`(?m)^omq_api_clock_offset_seconds (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("metrics lack omq_api_clock_offset_seconds:\n%s", b)
	}
	got, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil || got < 48*3600-2 || got > 48*3600+2 {
		t.Fatalf("omq_api_clock_offset_seconds = %s, want about %d (the sandbox's clock moved 48h)", m[1], 48*3600)
	}
}
