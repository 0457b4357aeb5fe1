package openmoove

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Version is the omq version sent in the default User-Agent ("omq/"+Version).
// The build sets it with -ldflags "-X github.com/openmoove/omq/openmoove.Version=…".
var Version = "dev"

// StagingURL and ProductionURL are the vendor's published base URLs.
const (
	StagingURL    = "https://staging.openmoove.com/api/v1/partners/"
	ProductionURL = "https://api.openmoove.com/api/v1/partners/"
)

// DefaultTimeout bounds one HTTP attempt when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("openmoove: invalid config")

// RequestInfo describes an HTTP attempt about to be made; BeforeRequest
// receives it.
type RequestInfo struct {
	Method string // "GET", "POST" or "PATCH"
	Path   string // relative to the base URL, with its leading and trailing slash: "/clients/"
	// Mutation is true for calls that change state (POST, PATCH). A shared
	// budget serves mutations before polling reads.
	Mutation bool
}

// RateLimit is what one answer said about the key's budget, from its
// X-RateLimit-* headers. A header the answer lacked leaves its field at -1
// (Limit, Remaining) or zero (Reset).
type RateLimit struct {
	Limit     int       // X-RateLimit-Limit: requests allowed per window
	Remaining int       // X-RateLimit-Remaining: requests left in the window
	Reset     time.Time // X-RateLimit-Reset: when the window resets (Unix seconds)
}

// Config configures a Client. The zero value of every field but APIKey has
// a documented default, filled by WithDefaults.
type Config struct {
	// BaseURL is the API root including "/api/v1/partners/". Default
	// StagingURL. A missing trailing slash is added.
	BaseURL string
	// APIKey is sent as X-API-KEY. Required; it starts with "om_". It is
	// never logged, printed or put in an error.
	APIKey string
	// Timeout bounds one HTTP attempt, body included. Default 10s
	// (DefaultTimeout). The caller's ctx deadline still applies when shorter.
	Timeout time.Duration
	// HTTPClient sends the requests. Default: a client with a keep-alive
	// transport cloned from http.DefaultTransport. Its own Timeout, if any,
	// applies on top of Timeout.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent. Default "omq/"+Version.
	UserAgent string
	// OnRateLimit, if set, receives the X-RateLimit-* headers of every
	// answer, errors included. It must be quick and safe for concurrent use.
	OnRateLimit func(RateLimit)
	// BeforeRequest, if set, runs before every HTTP attempt (omq's shared API
	// budget plugs in here). When it returns an error the call returns that
	// error, wrapped with the method and path, and sends nothing.
	BeforeRequest func(ctx context.Context, r RequestInfo) error
	// OnResponse, if set, runs after every HTTP attempt that was sent, with
	// the answer's status (0 when no answer came) and how long the attempt
	// took; omq's API metrics plug in here. It must be quick and safe for
	// concurrent use.
	OnResponse func(r RequestInfo, status int, d time.Duration)
}

// WithDefaults returns a copy of c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = StagingURL
	}
	if !strings.HasSuffix(c.BaseURL, "/") {
		c.BaseURL += "/"
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		c.HTTPClient = &http.Client{Transport: t}
	}
	if c.UserAgent == "" {
		c.UserAgent = "omq/" + Version
	}
	return c
}

// Validate reports the first field that is unusable, naming it.
func (c Config) Validate() error {
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: BaseURL %q must be an absolute http(s) URL such as %s", ErrInvalidConfig, redactURL(c.BaseURL, u, err), StagingURL)
	}
	if u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("%w: BaseURL must not carry credentials or a query", ErrInvalidConfig)
	}
	if c.APIKey == "" {
		return fmt.Errorf("%w: APIKey is required (a key starting with \"om_\")", ErrInvalidConfig)
	}
	if strings.ContainsAny(c.APIKey, " \t\r\n") {
		return fmt.Errorf("%w: APIKey must not contain white space", ErrInvalidConfig)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("%w: Timeout must be positive, got %s", ErrInvalidConfig, c.Timeout)
	}
	return nil
}

// String describes c with the API key redacted, so %v and %+v are safe.
func (c Config) String() string {
	return fmt.Sprintf("openmoove.Config{BaseURL:%s APIKey:%s Timeout:%s UserAgent:%s}",
		c.BaseURL, redactKey(c.APIKey), c.Timeout, c.UserAgent)
}

// GoString keeps %#v as safe as %v.
func (c Config) GoString() string { return c.String() }

// Format makes every verb, %+v included, use String.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue implements slog.LogValuer with the key redacted.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("base_url", c.BaseURL),
		slog.String("api_key", redactKey(c.APIKey)),
		slog.Duration("timeout", c.Timeout),
	)
}

// redactURL is a BaseURL fit for an error: its user:password hidden, and
// the whole of it when it does not parse yet may hold credentials.
func redactURL(raw string, u *url.URL, err error) string {
	switch {
	case err == nil:
		return u.Redacted()
	case strings.Contains(raw, "@"):
		return "[redacted]"
	}
	return raw
}

// redactKey keeps only the "om_" prefix so an operator can tell a key is set.
func redactKey(k string) string {
	switch {
	case k == "":
		return "(unset)"
	case strings.HasPrefix(k, "om_"):
		return "om_[REDACTED]"
	default:
		return "[REDACTED]"
	}
}
