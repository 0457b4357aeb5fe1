package system

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/webhookreceiver"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// SandboxKey is the API key of the in-process sandbox, the same one the
// README's curl examples use. It is not a secret: the sandbox is a local
// simulator and no real API ever sees it.
const SandboxKey = "om_test_key"

// sandboxSeed is how many demo properties the in-process sandbox starts
// with, so a newcomer has transactions to publish events for.
const sandboxSeed = 3

func startSandbox(ctx context.Context, cfg config.Config, tweak func(*sandbox.Config), log *slog.Logger) (*sandbox.Server, string, error) {
	sc := sandbox.Config{
		Addr:   cfg.SandboxAddr,
		Keys:   map[string]string{SandboxKey: "local-partner"},
		Seed:   sandboxSeed,
		Logger: log.With(logging.KeyComponent, "sandbox"),
	}
	if tweak != nil {
		tweak(&sc)
	}
	sb, err := sandbox.New(sc)
	if err != nil {
		return nil, "", err
	}
	if err := sb.Start(ctx); err != nil {
		return nil, "", fmt.Errorf("sandbox on %s: %w; set --sandbox-addr to a free address", cfg.SandboxAddr, err)
	}
	log.Warn("sandbox mode: no real OpenMoove API is called; set --openmoove-url and OMQ_OPENMOOVE_API_KEY for the real one",
		"sandbox", sb.URL(), "api_key", SandboxKey)
	for _, id := range sb.SeededIDs() {
		p, _ := sb.Lookup(id)
		log.Info("sandbox demo property", logging.KeyTx, id, "address", p.Request.PropertyAddress, "sale_method", p.Request.SaleMethod)
	}
	return sb, SandboxKey, nil
}

// Sandbox is the in-process sandbox, or nil when omq talks to a real API.
// Tests use it to inject faults, move the clock and inspect the journal.
func (s *System) Sandbox() *sandbox.Server {
	if s.api == nil {
		return nil
	}
	return s.api.sandbox
}

// webhookSandbox returns tweak preceded by pointing the in-process sandbox's
// webhooks at omq's own receiver, signed with the first --webhook-secret,
// when a secret is set and the HTTP listener is on. So `omq run` in sandbox
// mode exercises the whole webhook path: a milestone completed through the
// sandbox's admin API comes back as a verified webhook in OPENMOOVE_WEBHOOKS.
// A tweak that sets WebhookURL itself wins.
//
// Over HTTPS the sandbox would have to trust omq's certificate for
// 127.0.0.1, which a real certificate does not name; so with --http-tls-cert
// the sandbox sends no webhooks unless the tweak says where.
func (s *System) webhookSandbox(tweak func(*sandbox.Config)) func(*sandbox.Config) {
	secrets := s.deps.Config.WebhookSecrets
	addr := s.HTTPAddr()
	plain := s.HTTPScheme() == "http"
	return func(c *sandbox.Config) {
		if len(secrets) > 0 && secrets[0] != "" && addr != "" && plain {
			host, port, err := net.SplitHostPort(addr)
			if err == nil {
				if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
					host = "127.0.0.1"
				}
				c.WebhookURL = "http://" + net.JoinHostPort(host, port) + webhookreceiver.Path
				c.WebhookSecret = secrets[0]
			}
		}
		if tweak != nil {
			tweak(c)
		}
	}
}
