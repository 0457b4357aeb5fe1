package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultAddr       = "127.0.0.1:0"
	DefaultAPIKey     = "om_test_key"
	DefaultPartner    = "partner-1"
	DefaultRateLimit  = 1000
	DefaultBurstLimit = 100
	DefaultRateWindow = time.Hour
)

// DefaultWebhookRetries is the vendor's retry schedule for failed webhooks,
// before Config.TimeScale.
var DefaultWebhookRetries = []time.Duration{10 * time.Second, 100 * time.Second, 1000 * time.Second}

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("sandbox: invalid config")

// Config configures a Server. Every field has a documented default, filled by
// WithDefaults; the zero Config is a working sandbox with one key,
// "om_test_key".
type Config struct {
	// Addr is where Start listens. Default "127.0.0.1:0" (a free port; read
	// it back with URL). Handler works without listening at all.
	Addr string
	// Keys maps each accepted API key to its partner. A partner sees only the
	// properties created with one of its keys; another partner's property
	// answers 403. Default {"om_test_key": "partner-1"}.
	Keys map[string]string

	// RateLimit is how many calls one key may make per RateWindow (the API's
	// "1000 an hour"). Default 1000; negative turns rate limiting off (and
	// the X-RateLimit-* headers with it).
	RateLimit int
	// BurstLimit is how many calls one key may make per BurstWindow (the
	// API's "bursts of 100 a minute"). Default 100.
	BurstLimit int
	// RateWindow is the window of RateLimit. Default 1h. Windows are fixed:
	// a key's window opens at its first call and its count restarts when the
	// window has passed. Scale it down so tests see a reset quickly.
	RateWindow time.Duration
	// BurstWindow is the window of BurstLimit. Default RateWindow/60 (one
	// minute for the default hour).
	BurstWindow time.Duration

	// Faults are the faults in force at start; SetFaults and
	// POST /_sandbox/faults change them at run time.
	Faults Faults
	// Rejects make the sandbox answer 400 to creations the local validator
	// accepts; see Reject.
	Rejects []Reject
	// ErrorEnvelope, when true, sends validation errors in the
	// {"detail","field_errors":{…}} shape instead of DRF's plain
	// {"field":["msg"]}. Both appear in the spec.
	ErrorEnvelope bool

	// WebhookURL, when set, receives signed property.created,
	// property.milestone.created and property.milestone.updated webhooks.
	// Default: none sent.
	WebhookURL string
	// WebhookSecret signs webhooks (X-OpenMoove-Signature: sha256=<hex
	// HMAC-SHA256 of the body>). Required with WebhookURL.
	WebhookSecret string
	// WebhookRetries is the wait before each retry of a failed webhook, before
	// TimeScale. Default DefaultWebhookRetries (10s, 100s, 1000s).
	WebhookRetries []time.Duration
	// TimeScale multiplies the webhook retry waits: 0.001 turns 10s into
	// 10ms. Default 1.
	TimeScale float64

	// Seed is how many demo properties New creates (a mix of sale methods and
	// milestone states, some overdue), owned by the partner of "om_test_key"
	// if configured, else of the first key in sorted order. Default 0.
	// SeededIDs lists their transaction ids.
	Seed int
	// RandSeed seeds the ids (transaction UUIDs) and the fault dice, so a
	// sandbox run is reproducible: the same calls get the same UUIDs.
	// Default 1.
	RandSeed uint64
	// Now is the clock the sandbox clock starts from; AdvanceClock moves the
	// sandbox clock ahead of it. Default time.Now. Rate windows always use
	// the real clock.
	Now func() time.Time
	// Limits bound the listener Start opens — read, write and idle
	// timeouts, header size, open connections — as on omq's own listener;
	// zero fields take the defaults of omq's listener (15s, 30s, 60s,
	// 32 KiB, 512).
	// A LatencyMS fault past the write timeout ends in a dropped
	// connection, as behind a real load balancer.
	Limits Limits
	// Logger receives a debug line per call and warnings for webhook
	// failures. It never sees an API key. Default: discard.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if len(c.Keys) == 0 {
		c.Keys = map[string]string{DefaultAPIKey: DefaultPartner}
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.BurstLimit == 0 {
		c.BurstLimit = DefaultBurstLimit
	}
	if c.RateWindow == 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.BurstWindow == 0 {
		c.BurstWindow = c.RateWindow / 60
	}
	if c.WebhookRetries == nil {
		c.WebhookRetries = DefaultWebhookRetries
	}
	if c.TimeScale == 0 {
		c.TimeScale = 1
	}
	if c.RandSeed == 0 {
		c.RandSeed = 1
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first unusable field.
func (c Config) Validate() error {
	for k, p := range c.Keys {
		if k == "" || p == "" || strings.ContainsAny(k, " \t\r\n") {
			return fmt.Errorf("%w: Keys: every key and partner must be non-empty, without spaces", ErrInvalidConfig)
		}
	}
	if c.RateLimit > 0 && (c.BurstLimit < 1 || c.RateWindow <= 0 || c.BurstWindow <= 0) {
		return fmt.Errorf("%w: BurstLimit, RateWindow and BurstWindow must be positive", ErrInvalidConfig)
	}
	if err := c.Faults.Validate(); err != nil {
		return err
	}
	for i, r := range c.Rejects {
		if err := r.Validate(); err != nil {
			return fmt.Errorf("Rejects[%d]: %w", i, err)
		}
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: WebhookURL %q must be an absolute http(s) URL", ErrInvalidConfig, c.WebhookURL)
		}
		if c.WebhookSecret == "" {
			return fmt.Errorf("%w: WebhookSecret is required with WebhookURL", ErrInvalidConfig)
		}
	}
	if c.TimeScale < 0 {
		return fmt.Errorf("%w: TimeScale must be positive, got %g", ErrInvalidConfig, c.TimeScale)
	}
	if c.Seed < 0 || c.Seed > 10000 {
		return fmt.Errorf("%w: Seed must be between 0 and 10000, got %d", ErrInvalidConfig, c.Seed)
	}
	return nil
}

// String describes c without its keys or webhook secret.
func (c Config) String() string {
	return fmt.Sprintf("sandbox.Config{Addr:%s Keys:%d RateLimit:%d/%s BurstLimit:%d/%s WebhookURL:%s Seed:%d}",
		c.Addr, len(c.Keys), c.RateLimit, c.RateWindow, c.BurstLimit, c.BurstWindow, c.WebhookURL, c.Seed)
}

// Format makes every verb, %+v included, use String.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue implements slog.LogValuer without secrets.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// demoPartner owns the demo properties: the partner of DefaultAPIKey when
// it is configured, else of the first key in sorted order.
func (c Config) demoPartner() string {
	if p, ok := c.Keys[DefaultAPIKey]; ok {
		return p
	}
	keys := make([]string, 0, len(c.Keys))
	for k := range c.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return c.Keys[keys[0]]
}

// Limits bound what one client can hold of the sandbox's listener: the
// limits of omq's own listener, field for field, as a type of this public
// package so the sandbox can be configured from outside omq. Zero fields
// take the defaults.
type Limits struct {
	ReadHeaderTimeout time.Duration // Default 10s, or ReadTimeout when shorter.
	ReadTimeout       time.Duration // A whole request, body included. Default 15s.
	WriteTimeout      time.Duration // End of headers to end of answer. Default 30s.
	IdleTimeout       time.Duration // A keep-alive connection with no request. Default 60s.
	MaxHeaderBytes    int           // Default 32 KiB.
	MaxConns          int           // Open connections; more wait in the accept queue. Default 512.
}
