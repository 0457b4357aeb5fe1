package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openmoove/omq/internal/budget"
)

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
		func() error { return oneOf("console", c.Console, "on", "off") },
		func() error {
			return durationRange("console-session-ttl", c.ConsoleSessionTTL, time.Minute, 30*24*time.Hour)
		},
		func() error { return c.otelEndpoint() },
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
		func() error { return positiveDuration("stuck-after", c.StuckAfter) },
		func() error { return intRange("budget-per-hour", c.BudgetPerHour, 1, 1_000_000) },
		func() error { return intRange("budget-per-minute", c.BudgetPerMinute, 1, c.BudgetPerHour) },
		func() error {
			if _, err := budget.ParseLanes(c.BudgetLanes); err != nil {
				return &FieldError{Flag: "budget-lanes", Value: c.BudgetLanes, Accept: "off, or live-reserve=<share>,floor=<share> with shares from 0 to below 1, such as " + budget.DefaultLanes}
			}
			return nil
		},
		func() error {
			if c.DLQMaxBytes < 1<<20 {
				return &FieldError{Flag: "dlq-max-bytes", Value: strconv.FormatInt(c.DLQMaxBytes, 10), Accept: "at least 1048576 (1 MiB)"}
			}
			return nil
		},
		func() error { return oneOf("milestone-mode", c.MilestoneMode, "complete", "notify") },
		func() error { return oneOf("outcome-address", c.OutcomeAddress, "known", "read") },
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
	if c.NATSUser != "" || strings.EqualFold(c.NATSListen, "off") || Loopback(c.NATSListen) {
		return nil
	}
	return &FieldError{Flag: "nats-listen", Value: c.NATSListen, Accept: "a loopback address such as 127.0.0.1:4222, or set --nats-user and OMQ_NATS_PASSWORD_FILE so the embedded server requires your own credentials from every client"}
}

// Loopback reports whether host:port can only be reached from this
// machine: a loopback IP or localhost. A host name other than localhost may
// resolve anywhere, and an empty host listens on every interface.
func Loopback(hostport string) bool {
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
