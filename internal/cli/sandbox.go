package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/openmoove/sandbox"
)

type sandboxFlags struct {
	addr, apiKey, webhookURL, webhookSecret string
	rateLimit, burstLimit, seed             int
	rateWindow, latency, jitter             time.Duration
	errorRate, timeScale                    float64
}

func newSandboxCmd(e *Env) *cobra.Command {
	var f sandboxFlags
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Serve a local, in-memory OpenMoove Partner API (no account, no network)",
		Long: `Serve the OpenMoove Partner API v1 on this machine, in memory: every
endpoint, its validation, milestones, rate limits and signed webhooks, plus
an admin API under /_sandbox/ to inject faults (outage, latency, errors),
read the request journal, move the clock and complete milestones.
See docs/sandbox.md for curl calls that work as printed.

The webhook secret may also come from OMQ_WEBHOOK_SECRET or a file named by
OMQ_WEBHOOK_SECRET_FILE. The first SIGINT or SIGTERM stops it.`,
		Example: `  omq sandbox --addr 127.0.0.1:8090 --api-key om_test_key
  omq sandbox --seed 5 --latency 200ms --error-rate 0.05
  omq sandbox --rate-limit 50 --burst-limit 10 --rate-window 1m
  OMQ_WEBHOOK_SECRET=whsec omq sandbox --webhook-url http://127.0.0.1:8080/webhooks/openmoove --time-scale 0.01`,
		Args: cobra.NoArgs,
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8090", "address to listen on (127.0.0.1:0 picks a free port)")
	fl.StringVar(&f.apiKey, "api-key", sandbox.DefaultAPIKey, "the API key the sandbox accepts (X-API-KEY)")
	fl.IntVar(&f.rateLimit, "rate-limit", sandbox.DefaultRateLimit, "calls per key per --rate-window; negative turns limits off")
	fl.IntVar(&f.burstLimit, "burst-limit", sandbox.DefaultBurstLimit, "calls per key per --rate-window/60")
	fl.DurationVar(&f.rateWindow, "rate-window", sandbox.DefaultRateWindow, "window of --rate-limit; the burst window is 1/60 of it")
	fl.DurationVar(&f.latency, "latency", 0, "delay added to every partner call")
	fl.DurationVar(&f.jitter, "jitter", 0, "random extra delay, up to this much")
	fl.Float64Var(&f.errorRate, "error-rate", 0, "probability (0..1) that a partner call answers 500")
	fl.StringVar(&f.webhookURL, "webhook-url", "", "where to send signed property.created and property.milestone.updated webhooks")
	fl.StringVar(&f.webhookSecret, "webhook-secret", "", "HMAC secret of the webhooks (or OMQ_WEBHOOK_SECRET, OMQ_WEBHOOK_SECRET_FILE)")
	fl.Float64Var(&f.timeScale, "time-scale", 1, "multiplies the webhook retry waits (10s, 100s, 1000s); 0.001 for tests")
	fl.IntVar(&f.seed, "seed", 0, "create this many demo properties at start and print their transaction ids")
	// The log settings of omq run, so both log alike (JSON off a terminal).
	cfg := bindConfig(cmd, config.GroupLog)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		return e.runSandbox(cmd.Context(), f, cfg)
	}
	return cmd
}

func (e *Env) runSandbox(ctx context.Context, f sandboxFlags, cfg *config.Config) error {
	secret, err := e.webhookSecret(f.webhookSecret)
	if err != nil {
		return err
	}
	log, err := logging.New(e.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return usage(err)
	}
	sb, err := sandbox.New(sandbox.Config{
		Addr: f.addr, Keys: map[string]string{f.apiKey: sandbox.DefaultPartner},
		RateLimit: f.rateLimit, BurstLimit: f.burstLimit, RateWindow: f.rateWindow,
		Faults: sandbox.Faults{LatencyMS: int(f.latency / time.Millisecond), JitterMS: int(f.jitter / time.Millisecond),
			ErrorRate: f.errorRate},
		WebhookURL: f.webhookURL, WebhookSecret: secret, TimeScale: f.timeScale, Seed: f.seed, Logger: log,
	})
	if err != nil {
		return usageErrorf("%v; see omq sandbox --help", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := e.onSignals(cancel, log)
	defer stopSignals()
	if err := sb.Start(ctx); err != nil {
		_ = sb.Close(context.Background())
		return err
	}
	fmt.Fprintf(e.Stdout, "OpenMoove sandbox: no real API is called\n  partner API  %s\n  admin API    %s\n",
		sb.URL(), sb.AdminURL())
	for _, id := range sb.SeededIDs() {
		fmt.Fprintf(e.Stdout, "  demo property %s\n", id)
	}
	fmt.Fprintf(e.Stdout, "try: curl -H \"X-API-KEY: <your --api-key>\" %sproducts/\n", sb.URL())
	<-ctx.Done()
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	return sb.Close(stopCtx)
}

// webhookSecret picks the flag, then OMQ_WEBHOOK_SECRET, then the file named
// by OMQ_WEBHOOK_SECRET_FILE.
func (e *Env) webhookSecret(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if v, ok := e.lookupEnv("OMQ_WEBHOOK_SECRET"); ok && v != "" {
		return v, nil
	}
	if path, ok := e.lookupEnv("OMQ_WEBHOOK_SECRET_FILE"); ok && path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", usageErrorf("OMQ_WEBHOOK_SECRET_FILE: %v; name a readable file holding the secret", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", nil
}
