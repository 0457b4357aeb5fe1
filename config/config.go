package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openmoove/omq/internal/budget"
	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/internal/monitor"
	"github.com/openmoove/omq/internal/poller"
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
	// Replicas is the replica count of every stream and bucket. Default 1;
	// use 3 on a three-node cluster.
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

	// MilestoneMap is a YAML or JSON file that overrides the event type →
	// milestone names table. Empty uses the built-in table.
	MilestoneMap string
	// MilestoneMode is "complete" (the default: call the milestone update)
	// or "notify" (publish the outcome without the update call, for an API
	// without the update endpoint).
	MilestoneMode string
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
	if c.DLQMaxBytes == 0 {
		c.DLQMaxBytes = streams.DefaultDLQMaxBytes
	}
	setDefault(&c.MilestoneMode, milestones.ModeComplete)
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

// FieldError is a setting that failed validation. Its message names the
// setting as a user writes it (--flag) and says what is accepted.
type FieldError struct {
	Flag   string // the flag name without dashes, e.g. "http"
	Value  string // the offending value; "" for secrets
	Accept string // what is accepted
}

func (e *FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("invalid --%s: want %s", e.Flag, e.Accept)
	}
	return fmt.Sprintf("invalid --%s %q: want %s", e.Flag, e.Value, e.Accept)
}

// Is makes every *FieldError a usage error: errors.Is(err, ErrUsage).
func (e *FieldError) Is(target error) bool { return target == ErrUsage }

// Validate checks every field and returns the first problem as a
// *FieldError.
func (c *Config) Validate() error {
	checks := []func() error{
		func() error { return nonEmpty("data-dir", c.DataDir, "a directory path") },
		func() error { return natsURLs(c.NATSURL) },
		func() error { return hostPort("nats-listen", c.NATSListen, true) },
		func() error { return c.embeddedAuth() },
		func() error { return subjectToken("subject-prefix", c.SubjectPrefix) },
		func() error { return intRange("replicas", c.Replicas, 1, 5) },
		func() error { return hostPort("http", c.HTTP, true) },
		func() error { return c.openMoove() },
		func() error { return hostPort("sandbox-addr", c.SandboxAddr, false) },
		func() error { return oneOf("log-level", c.LogLevel, "debug", "info", "warn", "error") },
		func() error { return oneOf("log-format", c.LogFormat, "auto", "text", "json") },
		func() error { return nonNegative("shutdown-timeout", c.ShutdownTimeout) },
		func() error { return c.natsTLS() },
		func() error { return durationRange("http-read-timeout", c.HTTPReadTimeout, time.Second, time.Hour) },
		func() error { return c.httpWriteTimeout() },
		func() error { return durationRange("http-idle-timeout", c.HTTPIdleTimeout, time.Second, time.Hour) },
		func() error { return intRange("http-max-conns", c.HTTPMaxConns, 1, 100_000) },
		func() error { return c.httpTLS() },
		func() error { return intRange("ingest-max-bytes", c.IngestMaxBytes, 1024, 64<<20) },
		func() error { return intRange("webhook-max-bytes", c.WebhookMaxBytes, 1024, 16<<20) },
		func() error { return intRange("ingest-max-items", c.IngestMaxItems, 1, 10_000) }, // ingest.MaxMaxItems
		func() error { return c.webhookMaxAge() },
		func() error { return intRange("concurrency", c.Concurrency, 1, 1024) },
		func() error { return positiveDuration("ack-wait", c.AckWait) },
		func() error { return intRange("max-deliver", c.MaxDeliver, 2, 1000) },
		func() error { return intRange("max-failures", c.MaxFailures, 1, c.MaxDeliver-1) },
		func() error { return positiveDuration("retry-min", c.RetryMin) },
		func() error { return atLeast("retry-max", c.RetryMax, "--retry-min", c.RetryMin) },
		func() error { return intRange("in-process-retries", c.InProcessRetries, 0, 10) },
		func() error {
			return shorterThan("in-process-retry-window", c.InProcessRetryWindow, "--ack-wait", c.AckWait)
		},
		func() error { return intRange("breaker-transient", c.BreakerTransient, 1, 1000) },
		func() error { return positiveDuration("pause-min", c.PauseMin) },
		func() error { return atLeast("pause-max", c.PauseMax, "--pause-min", c.PauseMin) },
		func() error { return intRange("budget-per-hour", c.BudgetPerHour, 1, 1_000_000) },
		func() error { return intRange("budget-per-minute", c.BudgetPerMinute, 1, c.BudgetPerHour) },
		func() error {
			if c.DLQMaxBytes < 1<<20 {
				return &FieldError{Flag: "dlq-max-bytes", Value: strconv.FormatInt(c.DLQMaxBytes, 10), Accept: "at least 1048576 (1 MiB)"}
			}
			return nil
		},
		func() error { return oneOf("milestone-mode", c.MilestoneMode, "complete", "notify") },
		func() error { return positiveDuration("transaction-grace", c.TransactionGrace) },
		func() error { return positiveDuration("poll-overdue", c.PollOverdue) },
		func() error { return atLeast("poll-due-soon", c.PollDueSoon, "--poll-overdue", c.PollOverdue) },
		func() error { return atLeast("poll-interval", c.PollInterval, "--poll-due-soon", c.PollDueSoon) },
		func() error {
			if !(c.PollReadShare > 0 && c.PollReadShare <= 1) { // also rejects NaN
				return &FieldError{Flag: "poll-read-share", Value: strconv.FormatFloat(c.PollReadShare, 'g', -1, 64), Accept: "a fraction of the API budget greater than 0 and at most 1, such as 0.1"}
			}
			return nil
		},
		func() error { return positiveDuration("at-risk-within", c.AtRiskWithin) },
		func() error { return positiveDuration("alert-every", c.AlertEvery) },
		func() error { return intRange("invitation-pending-days", c.InvitationPendingDays, 1, 365) },
		func() error {
			if c.DefaultEstateAgentEmail != "" && !strings.Contains(c.DefaultEstateAgentEmail, "@") {
				return &FieldError{Flag: "default-estate-agent-email", Value: c.DefaultEstateAgentEmail, Accept: "an email address"}
			}
			return nil
		},
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) openMoove() error {
	if c.OpenMooveURL == "" {
		return nil
	}
	u, err := url.Parse(c.OpenMooveURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{Flag: "openmoove-url", Value: RedactURL(c.OpenMooveURL), Accept: "an http(s) URL such as https://api.openmoove.com/api/v1/partners/, or empty for the local sandbox"}
	}
	if u.User != nil {
		return &FieldError{Flag: "openmoove-url", Value: RedactURL(c.OpenMooveURL), Accept: "a URL without user:password@; the API authenticates with --openmoove-api-key (OMQ_OPENMOOVE_API_KEY_FILE)"}
	}
	if c.OpenMooveAPIKey == "" {
		return &FieldError{Flag: "openmoove-api-key", Accept: "the partner API key (om_…) when --openmoove-url is set; set OMQ_OPENMOOVE_API_KEY or OMQ_OPENMOOVE_API_KEY_FILE"}
	}
	return nil
}

// embeddedAuth checks the credentials of the embedded server: both of
// --nats-user and --nats-password or neither (the generated ones), and
// credentials of the operator's own before the server listens beyond this
// machine, where the generated password file cannot reach the clients.
func (c *Config) embeddedAuth() error {
	if !c.EmbeddedNATS() {
		return nil
	}
	if (c.NATSUser == "") != (c.NATSPassword == "") {
		return &FieldError{Flag: "nats-user", Value: c.NATSUser, Accept: "a user with a password (OMQ_NATS_PASSWORD_FILE) for the embedded server, or neither to use the generated credentials in --data-dir"}
	}
	if c.NATSUser != "" || strings.EqualFold(c.NATSListen, "off") || loopback(c.NATSListen) {
		return nil
	}
	return &FieldError{Flag: "nats-listen", Value: c.NATSListen, Accept: "a loopback address such as 127.0.0.1:4222, or set --nats-user and OMQ_NATS_PASSWORD_FILE so the embedded server requires your own credentials from every client"}
}

// loopback reports whether host:port can only be reached from this
// machine. A host name other than localhost may resolve anywhere.
func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) httpWriteTimeout() error {
	if c.HTTPWriteTimeout < c.HTTPReadTimeout || c.HTTPWriteTimeout > time.Hour {
		// Go's write deadline starts when the headers are read, so it must
		// also cover reading the body.
		return &FieldError{Flag: "http-write-timeout", Value: c.HTTPWriteTimeout.String(),
			Accept: "a duration from --http-read-timeout (" + c.HTTPReadTimeout.String() + ") to 1h; raise it or lower --http-read-timeout"}
	}
	return nil
}

// httpTLS checks that the certificate and key are both set or both empty,
// readable, and a pair, so omq run fails at start and names the flag.
func (c *Config) httpTLS() error {
	if c.HTTPTLSCert == "" && c.HTTPTLSKey == "" {
		return nil
	}
	if c.HTTPTLSCert == "" || c.HTTPTLSKey == "" {
		flag, v := "http-tls-cert", c.HTTPTLSCert
		if c.HTTPTLSCert == "" {
			flag, v = "http-tls-key", c.HTTPTLSKey
		}
		return &FieldError{Flag: flag, Value: v, Accept: "--http-tls-cert and --http-tls-key together, or neither for plain HTTP"}
	}
	cert, err := os.ReadFile(c.HTTPTLSCert)
	if err != nil {
		return &FieldError{Flag: "http-tls-cert", Value: c.HTTPTLSCert, Accept: fmt.Sprintf("a readable PEM certificate file (%v)", unwrapPathErr(err))}
	}
	key, err := os.ReadFile(c.HTTPTLSKey)
	if err != nil {
		return &FieldError{Flag: "http-tls-key", Value: c.HTTPTLSKey, Accept: fmt.Sprintf("a readable PEM private key file (%v)", unwrapPathErr(err))}
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		return &FieldError{Flag: "http-tls-cert", Value: c.HTTPTLSCert, Accept: fmt.Sprintf("a PEM certificate whose private key is --http-tls-key %s (%v)", c.HTTPTLSKey, err)}
	}
	return nil
}

func (c *Config) natsTLS() error {
	if (c.NATSTLSCert == "") != (c.NATSTLSKey == "") {
		return &FieldError{Flag: "nats-tls-cert", Value: c.NATSTLSCert, Accept: "a client certificate and --nats-tls-key together, or neither"}
	}
	return nil
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

func nonEmpty(flag, v, accept string) error {
	if strings.TrimSpace(v) == "" {
		return &FieldError{Flag: flag, Value: v, Accept: accept}
	}
	return nil
}

func oneOf(flag, v string, accepted ...string) error {
	for _, a := range accepted {
		if v == a {
			return nil
		}
	}
	return &FieldError{Flag: flag, Value: v, Accept: "one of " + strings.Join(accepted, ", ")}
}

func nonNegative(flag string, d time.Duration) error {
	if d < 0 {
		return &FieldError{Flag: flag, Value: d.String(), Accept: "a duration of zero or more, such as 30s or 2m"}
	}
	return nil
}

func positiveDuration(flag string, d time.Duration) error {
	if d <= 0 {
		return &FieldError{Flag: flag, Value: d.String(), Accept: "a positive duration, such as 30s or 2m"}
	}
	return nil
}

func atLeast(flag string, d time.Duration, other string, min time.Duration) error {
	if d < min {
		return &FieldError{Flag: flag, Value: d.String(), Accept: "a duration no shorter than " + other + " (" + min.String() + ")"}
	}
	return nil
}

func shorterThan(flag string, d time.Duration, other string, limit time.Duration) error {
	if d <= 0 || d >= limit {
		return &FieldError{Flag: flag, Value: d.String(), Accept: "a positive duration shorter than " + other + " (" + limit.String() + ")"}
	}
	return nil
}

func durationRange(flag string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return &FieldError{Flag: flag, Value: d.String(), Accept: "a duration from " + lo.String() + " to " + hi.String() + ", such as 15s"}
	}
	return nil
}

func intRange(flag string, v, lo, hi int) error {
	if v < lo || v > hi {
		return &FieldError{Flag: flag, Value: strconv.Itoa(v), Accept: fmt.Sprintf("a whole number from %d to %d", lo, hi)}
	}
	return nil
}

func hostPort(flag, v string, allowOff bool) error {
	if allowOff && strings.EqualFold(v, "off") {
		return nil
	}
	accept := "host:port, such as 127.0.0.1:8080"
	if allowOff {
		accept += ", or off"
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return &FieldError{Flag: flag, Value: v, Accept: accept}
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return &FieldError{Flag: flag, Value: v, Accept: accept}
	}
	if strings.ContainsAny(host, " /") {
		return &FieldError{Flag: flag, Value: v, Accept: accept}
	}
	return nil
}

func natsURLs(v string) error {
	if v == "" {
		return nil
	}
	for _, part := range strings.Split(v, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Host == "" || !validNATSScheme(u.Scheme) {
			return &FieldError{Flag: "nats-url", Value: RedactURL(v), Accept: "nats://host:port (tls://, ws:// and wss:// too; comma-separated for a cluster), or empty for the embedded server"}
		}
	}
	return nil
}

func validNATSScheme(s string) bool {
	switch s {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}

// RedactURL hides any user:password in a URL, or a comma-separated list of
// them, before it is logged or put in an error. A part that does not parse
// is hidden whole when it may hold credentials (an "@"), since its password
// cannot be told from the rest.
func RedactURL(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil && strings.Contains(p, "@"):
			parts[i] = "[redacted]"
		case err == nil && u.User != nil:
			u.User = url.User("[redacted]")
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}

func subjectToken(flag, v string) error {
	if v == "" || strings.ContainsAny(v, ".*> \t") {
		return &FieldError{Flag: flag, Value: v, Accept: "one subject token: letters, digits, - or _, with no dots or wildcards"}
	}
	return nil
}

// ErrUsage marks errors that are the user's to fix (bad flags, bad
// settings): errors.Is(err, ErrUsage) holds for a *FieldError and for the
// command line's own usage errors, and the CLI exits with status 2 for
// them.
var ErrUsage = errors.New("usage")

// webhookMaxAge bounds the window: under a minute would refuse ordinary
// delivery delays and clock skew; past the WEBHOOKS stream's 7 days it
// could not matter.
func (c *Config) webhookMaxAge() error {
	if c.WebhookMaxAge < time.Minute || c.WebhookMaxAge > 7*24*time.Hour {
		return &FieldError{Flag: "webhook-max-age", Value: c.WebhookMaxAge.String(),
			Accept: "a duration from 1m to 168h, such as 30m (OpenMoove retries a webhook for about 20 minutes)"}
	}
	return nil
}
