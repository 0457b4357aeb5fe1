package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
	"github.com/openmoove/omq/internal/status"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
	"github.com/openmoove/omq/workers/milestones"
	"github.com/openmoove/omq/workers/webhooks"
)

// Config is every setting of omq. The zero value is not usable; call
// WithDefaults (the loader does) and then Validate.
type Config struct {
	// DataDir is where the embedded NATS server keeps its file store and
	// the password it generates for its clients (nats-password, mode
	// 0600); commands that connect to a running omq read it there.
	// Default "./omq-data".
	DataDir string
	// NATSURL names an external NATS server or cluster (comma-separated
	// URLs). Empty (the default) starts an embedded server.
	NATSURL string
	// NATSListen is the host:port on which the embedded server accepts
	// clients from other processes (omq publish, omq status, any NATS
	// client). "off" disables it. Default "127.0.0.1:4222".
	NATSListen string
	// NATSCreds is a NATS credentials (.creds) file for an external server.
	NATSCreds string
	// NATSNKey is an NKey seed file for an external server.
	NATSNKey string
	// NATSUser and NATSPassword authenticate to an external server. With
	// the embedded server they replace the generated credentials: the
	// server then accepts only them, and a non-loopback NATSListen requires
	// them. Secret (the password).
	NATSUser     string
	NATSPassword string
	// NATSToken authenticates to an external server.
	NATSToken string
	// NATSTLSCA, NATSTLSCert and NATSTLSKey configure TLS to an external
	// server: a CA bundle to trust, and a client certificate and key.
	NATSTLSCA   string
	NATSTLSCert string
	NATSTLSKey  string
	// SubjectPrefix is the first token of every subject and, upper-cased, of
	// every stream name. Default "openmoove".
	SubjectPrefix string
	// Replicas is the replica count of new streams and buckets and the
	// count existing ones are raised to; a higher existing count is kept
	// (streams.Topology.LowerReplicas). Default 1; use 3 on a three-node
	// cluster.
	Replicas int

	// HTTP is the host:port of the one HTTP listener (health, metrics,
	// ingest, webhooks, console). "off" disables it. Default
	// "127.0.0.1:8080".
	HTTP string
	// HTTPReadTimeout, HTTPWriteTimeout, HTTPIdleTimeout and HTTPMaxConns
	// are the limits of the HTTP listener (httpserve.Limits); defaults 15s,
	// 30s, 60s and 512, whose reasons httpserve gives.
	HTTPReadTimeout  time.Duration
	HTTPWriteTimeout time.Duration
	HTTPIdleTimeout  time.Duration
	HTTPMaxConns     int
	// HTTPTLSCert and HTTPTLSKey, both set, make the HTTP listener serve
	// HTTPS only (webhooks need HTTPS when no proxy is in front). Files of
	// PEM; both or neither.
	HTTPTLSCert string
	HTTPTLSKey  string

	// OpenMooveURL is the Partner API base URL, for example
	// https://api.openmoove.com/api/v1/partners/. Empty (the default) starts
	// the local sandbox in process and points the workers at it.
	OpenMooveURL string
	// OpenMooveAPIKey is the Partner API key (om_…). Required with
	// OpenMooveURL. Secret.
	OpenMooveAPIKey string
	// SandboxAddr is where the in-process sandbox listens when OpenMooveURL
	// is empty. Default "127.0.0.1:8090".
	SandboxAddr string

	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string
	// LogFormat is auto (coloured text on a terminal, JSON otherwise), text
	// or json. Default auto.
	LogFormat string
	// ShutdownTimeout bounds a graceful shutdown: in-flight work gets this
	// long to finish before the process stops anyway. Default 30s.
	ShutdownTimeout time.Duration

	// IngestToken is the bearer token of POST /v1/events and
	// /v1/properties. Empty disables HTTP ingest. Secret.
	IngestToken string
	// IngestMaxBytes caps an ingest request body. Default 1 MiB.
	IngestMaxBytes int
	// IngestMaxItems caps the items of one ingest request. Default 1000.
	IngestMaxItems int
	// WebhookSecrets verify X-OpenMoove-Signature; several allow rotation.
	// Empty disables the webhook receiver. Secret.
	WebhookSecrets []string
	// WebhookMaxBytes caps a webhook body: OpenMoove's are a few KB, and
	// the body is read before its signature can be checked, so a stranger
	// can make omq hold this much per connection. Default 64 KiB.
	WebhookMaxBytes int
	// WebhookMaxAge is the oldest a webhook may be, from its timestamp to
	// when omq received it, and still change state. Default 30m: OpenMoove
	// retries for about 20 minutes, and the 10 more cover its queueing and
	// clock skew; it also matches the WEBHOOKS stream's 30-minute duplicate
	// window, so a byte-identical replay is refused by one or the other.
	WebhookMaxAge time.Duration

	// The numbers of every worker, from Concurrency to PauseMax, mean what
	// the workers.Config fields of the same names do, and default to its
	// Default… constants; Worker copies them into a workers.Config.
	Concurrency          int
	AckWait              time.Duration
	MaxDeliver           int
	MaxFailures          int
	RetryMin             time.Duration
	RetryMax             time.Duration
	InProcessRetries     int
	InProcessRetryWindow time.Duration
	BreakerTransient     int
	PauseMin             time.Duration
	PauseMax             time.Duration
	// BudgetPerHour and BudgetPerMinute are the shared API budget of every
	// replica. Defaults 1000 and 100, the API's published limits.
	BudgetPerHour   int
	BudgetPerMinute int
	// DLQMaxBytes caps the dead-letter stream; omq warns from 80%.
	// Default 1 GiB.
	DLQMaxBytes int64
	// StuckAfter is the age of a worker's oldest unfinished message past
	// which the status model says stuck. Default 15m.
	StuckAfter time.Duration

	// MilestoneMap is a YAML or JSON file that overrides the event type →
	// milestone names table. Empty uses the built-in table.
	MilestoneMap string
	// MilestoneMode is "complete" (the default: call the milestone update)
	// or "notify" (publish the outcome without the update call, for an API
	// without the update endpoint).
	MilestoneMode string
	// OutcomeAddress is "known" (the default: a milestone_completed
	// outcome names the address omq knows without a call, else none) or
	// "read" (else one GET /properties/{id}/ per transaction).
	OutcomeAddress string
	// DefaultEstateAgentEmail is given to a property creation that names no
	// professional at all.
	DefaultEstateAgentEmail string
	// Assignments is a YAML file of the professional assignment table.
	Assignments string
	// TransactionGrace is how long, counted from an event's publish time,
	// a 404 for its transaction is retried (the property's creation may
	// still be queued) before the event is dead-lettered. Default 10m.
	TransactionGrace time.Duration

	// PollOverdue is how often the poller reads a tracked property that has
	// an overdue milestone. Default 5m.
	PollOverdue time.Duration
	// PollDueSoon is how often it reads one with a milestone due within a
	// day. Default 15m.
	PollDueSoon time.Duration
	// PollInterval is how often it reads every other tracked property.
	// Default 30m.
	PollInterval time.Duration
	// AtRiskWithin is how close to its due date an open milestone is "at
	// risk" in omq report and the monitor's alerts. Default 48h.
	AtRiskWithin time.Duration
	// AlertEvery is how often the monitor analyses the portfolio and
	// publishes alert.overdue / alert.at_risk (each at most once per
	// milestone per day) and alert.invitation_pending. Default 1h.
	AlertEvery time.Duration
	// InvitationPendingDays is how many days a professional may stay
	// "invited" before alert.invitation_pending, repeated at most once per
	// that many days per invitation. Default 3.
	InvitationPendingDays int
	// PollReadShare is the fraction of each budget window (--budget-per-hour,
	// --budget-per-minute) the poller may spend on its reads, counted per
	// replica; the rest is left to creations and milestone updates, so
	// polling slows them by at most this share. A number in (0, 1].
	// Default 0.1: at the default budget, 100 reads (50 polls) an hour.
	PollReadShare float64

	// Console is "on" (the default) or "off": the operator console under
	// /console/ on the HTTP listener.
	Console string
	// ConsoleUsers is a file of console users, one "name:role:bcrypt-hash"
	// a line (omq console adduser writes one). With neither it nor
	// ConsoleToken, the console is read-only and only on a loopback address.
	ConsoleUsers string
	// ConsoleToken, when set, logs in as the operator "token". Secret.
	ConsoleToken string
	// ConsoleSessionTTL is how long a console login lasts. Default 12h.
	ConsoleSessionTTL time.Duration
}

// Defaults returns a Config with every default filled in.
func Defaults() Config {
	var c Config
	c.WithDefaults()
	return c
}

// WithDefaults fills every unset field with its default and returns c. A
// default the packages that use the setting also apply is named there
// (workers.DefaultAckWait, streams.DefaultPrefix, …) and used here, so the
// two cannot drift apart.
func (c *Config) WithDefaults() *Config {
	setDefault(&c.DataDir, "./omq-data")
	setDefault(&c.NATSListen, "127.0.0.1:4222")
	setDefault(&c.SubjectPrefix, streams.DefaultPrefix)
	setDefault(&c.HTTP, "127.0.0.1:8080")
	setDefault(&c.SandboxAddr, "127.0.0.1:8090")
	setDefault(&c.Console, "on")
	setDefaultDur(&c.ConsoleSessionTTL, 12*time.Hour)
	setDefault(&c.LogLevel, "info")
	setDefault(&c.LogFormat, "auto")
	setDefaultInt(&c.Replicas, streams.DefaultReplicas)
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	setDefaultDur(&c.HTTPReadTimeout, httpserve.DefaultReadTimeout)
	setDefaultDur(&c.HTTPWriteTimeout, httpserve.DefaultWriteTimeout)
	setDefaultDur(&c.HTTPIdleTimeout, httpserve.DefaultIdleTimeout)
	setDefaultInt(&c.HTTPMaxConns, httpserve.DefaultMaxConns)
	setDefaultInt(&c.IngestMaxBytes, 1<<20)
	setDefaultInt(&c.WebhookMaxBytes, 64<<10)
	setDefaultInt(&c.IngestMaxItems, 1000)
	setDefaultDur(&c.WebhookMaxAge, webhooks.DefaultMaxAge)
	setDefaultInt(&c.Concurrency, workers.DefaultConcurrency)
	setDefaultDur(&c.AckWait, workers.DefaultAckWait)
	setDefaultInt(&c.MaxDeliver, workers.DefaultMaxDeliver)
	setDefaultInt(&c.MaxFailures, workers.DefaultMaxFailures)
	setDefaultDur(&c.RetryMin, workers.DefaultRetryMin)
	setDefaultDur(&c.RetryMax, workers.DefaultRetryMax)
	setDefaultInt(&c.InProcessRetries, workers.DefaultInProcessRetries)
	setDefaultDur(&c.InProcessRetryWindow, workers.DefaultInProcessRetryWindow)
	setDefaultInt(&c.BreakerTransient, workers.DefaultBreakerTransient)
	setDefaultDur(&c.PauseMin, workers.DefaultPauseMin)
	setDefaultDur(&c.PauseMax, workers.DefaultPauseMax)
	setDefaultInt(&c.BudgetPerHour, budget.DefaultPerHour)
	setDefaultInt(&c.BudgetPerMinute, budget.DefaultPerMinute)
	setDefaultDur(&c.StuckAfter, status.DefaultStuckAfter)
	if c.DLQMaxBytes == 0 {
		c.DLQMaxBytes = streams.DefaultDLQMaxBytes
	}
	setDefault(&c.MilestoneMode, milestones.ModeComplete)
	setDefault(&c.OutcomeAddress, milestones.AddressKnown)
	setDefaultDur(&c.TransactionGrace, milestones.DefaultGrace)
	setDefaultDur(&c.PollOverdue, poller.DefaultOverdue)
	setDefaultDur(&c.PollDueSoon, poller.DefaultDueSoon)
	setDefaultDur(&c.PollInterval, poller.DefaultInterval)
	setDefaultDur(&c.AtRiskWithin, monitor.DefaultAtRiskWithin)
	setDefaultDur(&c.AlertEvery, monitor.DefaultEvery)
	setDefaultInt(&c.InvitationPendingDays, monitor.DefaultInvitationDays)
	if c.PollReadShare == 0 {
		c.PollReadShare = poller.DefaultReadShare
	}
	return c
}

func setDefaultInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDefaultDur(p *time.Duration, v time.Duration) {
	if *p == 0 {
		*p = v
	}
}

func setDefault(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// EmbeddedNATS reports whether omq starts its own NATS server.
func (c *Config) EmbeddedNATS() bool { return c.NATSURL == "" }

// Sandbox reports whether omq starts the local OpenMoove sandbox.
func (c *Config) Sandbox() bool { return c.OpenMooveURL == "" }

// ClientNATSURL is the URL a separate process (omq publish, omq status)
// uses: --nats-url when set, else the embedded server's --nats-listen
// address.
func (c *Config) ClientNATSURL() string {
	if c.NATSURL != "" {
		return c.NATSURL
	}
	if strings.EqualFold(c.NATSListen, "off") {
		return ""
	}
	return "nats://" + c.NATSListen
}

// LogValue implements slog.LogValuer; secrets are redacted.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(settings))
	for _, s := range settings {
		attrs = append(attrs, slog.String(s.name, s.printable(&c)))
	}
	return slog.GroupValue(attrs...)
}

// String renders the settings with secrets redacted.
func (c Config) String() string {
	var b strings.Builder
	for i, s := range settings {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%s", s.name, s.printable(&c))
	}
	return b.String()
}

// GoString keeps %#v as safe as %v: secrets redacted.
func (c Config) GoString() string { return "config.Config{" + c.String() + "}" }
