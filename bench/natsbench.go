package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsCLI finds the nats CLI: on PATH, else in $(go env GOPATH)/bin.
func natsCLI() string {
	if p, err := exec.LookPath("nats"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "nats")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// natsBench runs `nats bench js pub async` on the same server: one client,
// n messages of size bytes, batch unacknowledged publishes per batch, a
// Msg-Id on each (--dedup, as omq's publisher sets one), into its own file
// stream. Without the CLI it runs replicaBench, the same loop in Go, and
// says so.
func natsBench(ctx context.Context, e *natsEnv, n, size, batch int) (rate float64, how string, err error) {
	cli := natsCLI()
	if cli == "" {
		r, err := replicaBench(ctx, e, n, size, batch)
		return r, fmt.Sprintf("nats CLI not found: its async loop replicated in Go (%d msgs of %d B, batches of %d, Msg-Id)", n, size, batch), err
	}
	csvFile := filepath.Join(e.dir, "natsbench.csv")
	args := []string{"bench", "js", "pub", "async", "benchpub.x", "--no-context", "-s", e.url,
		"--stream", "benchstream", "--create", "--storage", "file", "--dedup", "--purge",
		"--msgs", strconv.Itoa(n), "--size", strconv.Itoa(size), "--batch", strconv.Itoa(batch),
		"--no-progress", "--csv", csvFile}
	cmd := exec.CommandContext(ctx, cli, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, "", fmt.Errorf("nats %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	f, err := os.Open(csvFile)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		return 0, "", fmt.Errorf("nats bench csv: %v (%d rows)", err, len(recs))
	}
	col := -1
	for i, h := range recs[0] {
		if strings.EqualFold(strings.TrimSpace(h), "MsgsPerSec") {
			col = i
		}
	}
	if col < 0 {
		return 0, "", fmt.Errorf("nats bench csv: no MsgsPerSec column in %v", recs[0])
	}
	rate, err = strconv.ParseFloat(strings.TrimSpace(recs[1][col]), 64)
	return rate, fmt.Sprintf("nats bench js pub async (natscli %s), %d msgs of %d B, --batch %d, --dedup, file stream", natsCLIVersion, n, size, batch), err
}

// natsCLIVersion is the pinned natscli the Makefile installs.
const natsCLIVersion = "v0.5.0"

// replicaBench is nats bench's async publish loop: batch PublishAsync
// calls, then wait for all their acks, repeated.
func replicaBench(ctx context.Context, e *natsEnv, n, size, batch int) (float64, error) {
	nc, err := nats.Connect(e.url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "benchstream", Subjects: []string{"benchpub.>"}, Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute}); err != nil {
		return 0, err
	}
	body := make([]byte, size)
	start := time.Now()
	for i := 0; i < n; {
		for j := 0; j < batch && i < n; j, i = j+1, i+1 {
			if _, err := js.PublishAsync("benchpub.x", body, jetstream.WithMsgID(strconv.Itoa(i))); err != nil {
				return 0, err
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			return 0, fmt.Errorf("replica bench: acks not received")
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}
