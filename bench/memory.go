package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers/milestones"
)

var (
	childWorker = flag.Bool("child-worker", false, "internal: run the milestone worker against -child-nats and -child-api until SIGTERM")
	childNATS   = flag.String("child-nats", "", "internal: NATS URL for -child-worker")
	childAPI    = flag.String("child-api", "", "internal: sandbox base URL for -child-worker")
)

// runChild is the worker process of the memory rows: the real milestone
// worker, omq's default settings, its own connection and API client. It
// prints "ready" once consuming and stops on SIGTERM.
func runChild() error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	nc, err := nats.Connect(*childNATS, nats.Name("omq-child"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	api, err := openmoove.New(openmoove.Config{BaseURL: *childAPI, APIKey: apiKey})
	if err != nil {
		return err
	}
	w, err := milestones.New(ctx, milestones.Options{Worker: workerConfig(8).Worker(), JS: js, API: api, Topology: streams.New("openmoove")})
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return w.Stop(c)
}

// memResult is one memory row.
type memResult struct {
	backlog        int
	hwm, rss       int64 // kB
	handled        uint64
	publishElapsed time.Duration
}

// memoryRun publishes a backlog of n small events (over 1,000 sandbox
// transactions: after the first five per transaction the cache answers
// them) with async publishes, then runs the worker as a child process for
// run and reads its VmHWM and VmRSS from /proc.
func memoryRun(ctx context.Context, e *natsEnv, n int, run time.Duration) (memResult, error) {
	r := memResult{backlog: n}
	sb, api, err := newSandbox(ctx, sandboxUnlimited(0))
	if err != nil {
		return r, err
	}
	defer func() { _ = sb.Close(context.Background()); api.CloseIdleConnections() }()
	txs, err := seed(sb, min(1000, max(1, n/5)))
	if err != nil {
		return r, err
	}
	start := time.Now()
	if err := publishSmall(ctx, e, txs, n); err != nil {
		return r, err
	}
	r.publishElapsed = time.Since(start)
	self, err := os.Executable()
	if err != nil {
		return r, err
	}
	cmd := exec.CommandContext(ctx, self, "-child-worker", "-child-nats", e.url, "-child-api", sb.URL())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		return r, fmt.Errorf("child worker did not start: %q %v", line, err)
	}
	before, _ := e.pending(ctx)
	time.Sleep(run)
	r.hwm, r.rss, err = procStatus(cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	after, _ := e.pending(ctx)
	r.handled = before - after
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	e.deleteConsumer(ctx, milestones.Name)
	s, err := e.js.Stream(ctx, e.top.EventsStream())
	if err != nil {
		return r, err
	}
	return r, s.Purge(ctx)
}

// publishSmall publishes n events with small bodies as fast as the server
// takes them: async publishes, 4,096 in flight.
func publishSmall(ctx context.Context, e *natsEnv, txs []string, n int) error {
	js, err := jetstream.New(e.nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return err
	}
	types := events.Types()
	prefix := "m" + strconv.Itoa(n) + "-"
	for i := range n {
		typ := types[i%len(types)]
		tx := txs[(i/len(types))%len(txs)]
		body := `{"id":"` + prefix + strconv.Itoa(i) + `","type":"` + typ + `","transaction_id":"` + tx + `"}`
		msg := &nats.Msg{Subject: e.top.EventSubject(typ), Data: []byte(body), Header: nats.Header{jetstream.MsgIDHeader: []string{prefix + strconv.Itoa(i)}}}
		if _, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(30*time.Second)); err != nil {
			return err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("backlog of %d not acknowledged in 5m", n)
	case <-ctx.Done():
		return ctx.Err()
	}
	left, err := e.pending(ctx)
	if err != nil {
		return err
	}
	if left != uint64(n) {
		return fmt.Errorf("backlog: %d stored, want %d", left, n)
	}
	return nil
}

// procStatus reads VmHWM and VmRSS (kB) of pid.
func procStatus(pid int) (hwm, rss int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	return hwm, rss, nil
}
