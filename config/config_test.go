package config_test

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/openmoove/omq/config"
)

type env map[string]string

func (e env) source(files map[string]string) config.Source {
	return config.Source{
		LookupEnv: func(k string) (string, bool) { v, ok := e[k]; return v, ok },
		ReadFile: func(p string) ([]byte, error) {
			if v, ok := files[p]; ok {
				return []byte(v), nil
			}
			return nil, fs.ErrNotExist
		},
	}
}

func load(t *testing.T, args []string, e env, files map[string]string, path string) (config.Config, error) {
	t.Helper()
	c := config.Defaults()
	fset := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.Bind(fset, &c, config.AllGroups()...)
	if err := fset.Parse(args); err != nil {
		t.Fatalf("parse: %v", err)
	}
	err := config.Load(fset, &c, path, e.source(files))
	return c, err
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	files := map[string]string{"omq.yaml": "log-level: warn\nhttp: 127.0.0.1:9000\ndata-dir: /from/file\nshutdown-timeout: 1m\n"}
	tests := []struct {
		name string
		args []string
		env  env
		want func(c config.Config) error
	}{
		{"file over default", nil, env{}, func(c config.Config) error {
			return expect(c.LogLevel == "warn" && c.HTTP == "127.0.0.1:9000" && c.ShutdownTimeout == time.Minute, c)
		}},
		{"env over file", nil, env{"OMQ_LOG_LEVEL": "error"}, func(c config.Config) error {
			return expect(c.LogLevel == "error" && c.DataDir == "/from/file", c)
		}},
		{"flag over env and file", []string{"--log-level", "debug"}, env{"OMQ_LOG_LEVEL": "error"}, func(c config.Config) error {
			return expect(c.LogLevel == "debug", c)
		}},
		{"default when nothing set", nil, env{}, func(c config.Config) error {
			return expect(c.NATSListen == "127.0.0.1:4222" && c.LogFormat == "auto" && c.SandboxAddr == "127.0.0.1:8090", c)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := load(t, tt.args, tt.env, files, "omq.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.want(c); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func expect(ok bool, c config.Config) error {
	if ok {
		return nil
	}
	return fmt.Errorf("unexpected config: %s", c)
}

func TestSecretFromFileAndRedaction(t *testing.T) {
	t.Parallel()
	files := map[string]string{"/run/secrets/key": "om_secret_value\n"}
	c, err := load(t, []string{"--openmoove-url", "https://api.example.test/api/v1/partners/"},
		env{"OMQ_OPENMOOVE_API_KEY_FILE": "/run/secrets/key"}, files, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.OpenMooveAPIKey != "om_secret_value" {
		t.Fatalf("key = %q, want the file's content without the newline", c.OpenMooveAPIKey)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", c.LogValue())} {
		if strings.Contains(s, "om_secret_value") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     env
		path    string
		files   map[string]string
		flag    string
		message string
	}{
		{"http not host:port", []string{"--http", "nonsense"}, nil, "", nil, "http", `invalid --http "nonsense": want host:port`},
		{"log level", []string{"--log-level", "loud"}, nil, "", nil, "log-level", "one of debug, info, warn, error"},
		{"log format", []string{"--log-format", "xml"}, nil, "", nil, "log-format", "auto, text, json"},
		{"negative duration", []string{"--shutdown-timeout", "-5s"}, nil, "", nil, "shutdown-timeout", "zero or more"},
		{"bad duration from env", nil, env{"OMQ_SHUTDOWN_TIMEOUT": "soon"}, "", nil, "shutdown-timeout", "OMQ_SHUTDOWN_TIMEOUT"},
		{"nats url scheme", []string{"--nats-url", "http://x:4222"}, nil, "", nil, "nats-url", "nats://host:port"},
		{"nats listen", []string{"--nats-listen", "4222"}, nil, "", nil, "nats-listen", "or off"},
		{"replicas", []string{"--replicas", "7"}, nil, "", nil, "replicas", "from 1 to 5"},
		{"ingest max items", nil, env{"OMQ_INGEST_MAX_ITEMS": "100000"}, "", nil, "ingest-max-items", "from 1 to 10000"},
		{"prefix with dot", []string{"--subject-prefix", "a.b"}, nil, "", nil, "subject-prefix", "no dots"},
		{"api url", []string{"--openmoove-url", "ftp://x"}, nil, "", nil, "openmoove-url", "http(s) URL"},
		{"api url without key", []string{"--openmoove-url", "https://api.example.test/"}, nil, "", nil, "openmoove-api-key", "OMQ_OPENMOOVE_API_KEY"},
		{"missing secret file", []string{"--openmoove-url", "https://api.example.test/"}, env{"OMQ_OPENMOOVE_API_KEY_FILE": "/nope"}, "", nil, "openmoove-api-key", "OMQ_OPENMOOVE_API_KEY_FILE"},
		{"tls cert without key", []string{"--nats-tls-cert", "c.pem"}, nil, "", nil, "nats-tls-cert", "--nats-tls-key"},
		{"unknown yaml key", nil, nil, "c.yaml", map[string]string{"c.yaml": "log-levle: debug\n"}, "config", "unknown: log-levle"},
		{"bad yaml", nil, nil, "c.yaml", map[string]string{"c.yaml": "::: ["}, "config", "YAML"},
		{"missing config file", nil, nil, "nope.yaml", nil, "config", "readable YAML"},
		{"transaction grace", []string{"--transaction-grace", "-1m"}, nil, "", nil, "transaction-grace", "positive duration"},
		{"webhook max age too short", []string{"--webhook-max-age", "10s"}, nil, "", nil, "webhook-max-age", "from 1m to 168h"},
		{"webhook max age too long", nil, env{"OMQ_WEBHOOK_MAX_AGE": "200h"}, "", nil, "webhook-max-age", "about 20 minutes"},
		{"budget lanes unknown share", []string{"--budget-lanes", "bulk=0.5"}, nil, "", nil, "budget-lanes", `invalid --budget-lanes "bulk=0.5": want off, or live-reserve=<share>,floor=<share>`},
		{"budget lanes share of one", nil, env{"OMQ_BUDGET_LANES": "live-reserve=1"}, "", nil, "budget-lanes", "shares from 0 to below 1"},
		{"poll read share zero", []string{"--poll-read-share", "0"}, nil, "", nil, "poll-read-share", `invalid --poll-read-share "0": want a fraction`},
		{"poll read share above one", []string{"--poll-read-share", "1.5"}, nil, "", nil, "poll-read-share", "at most 1"},
		{"poll read share not a number", nil, env{"OMQ_POLL_READ_SHARE": "ten percent"}, "", nil, "poll-read-share", "a number (the value came from OMQ_POLL_READ_SHARE)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := load(t, tt.args, tt.env, tt.files, tt.path)
			var fe *config.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *config.FieldError", err)
			}
			if fe.Flag != tt.flag || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("err = %q (flag %q), want flag %q and text %q", err, fe.Flag, tt.flag, tt.message)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		})
	}
}

func TestClientNATSURL(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	if got := c.ClientNATSURL(); got != "nats://127.0.0.1:4222" {
		t.Fatalf("embedded default = %q", got)
	}
	c.NATSURL = "nats://a:1,nats://b:2"
	if got := c.ClientNATSURL(); got != c.NATSURL {
		t.Fatalf("external = %q", got)
	}
}

func TestSettingsDocumented(t *testing.T) {
	t.Parallel()
	for _, s := range config.Settings() {
		if s.Usage == "" || !strings.HasPrefix(s.Env, "OMQ_") {
			t.Errorf("setting %q lacks usage or env name", s.Flag)
		}
	}
}

func TestPollReadShare(t *testing.T) {
	t.Parallel()
	if d := config.Defaults(); d.PollReadShare != 0.1 {
		t.Fatalf("default = %g, want 0.1", d.PollReadShare)
	}
	for _, tt := range []struct {
		args []string
		env  env
		want float64
	}{
		{[]string{"--poll-read-share", "1"}, nil, 1},
		{nil, env{"OMQ_POLL_READ_SHARE": "0.25"}, 0.25},
		{nil, nil, 0.1},
	} {
		c, err := load(t, tt.args, tt.env, nil, "")
		if err != nil || c.PollReadShare != tt.want {
			t.Errorf("%v %v: share = %g, err = %v; want %g", tt.args, tt.env, c.PollReadShare, err, tt.want)
		}
	}
}

// A server listening beyond loopback with only the generated password (which
// never leaves the data dir) is one an operator has not secured: refuse it,
// in one line that says what to set.
func TestNonLoopbackNATSListenNeedsCredentials(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"0.0.0.0:4222", ":4222", "[::]:4222", "10.0.0.5:4222", "nats.internal:4222"} {
		_, err := load(t, []string{"--nats-listen", addr}, env{}, nil, "")
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Flag != "nats-listen" {
			t.Errorf("%s without credentials: %v, want a --nats-listen error", addr, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "--nats-user") || !strings.Contains(msg, "OMQ_NATS_PASSWORD_FILE") || strings.Contains(msg, "\n") {
			t.Errorf("%s: %q, want one line naming --nats-user and OMQ_NATS_PASSWORD_FILE", addr, msg)
		}
	}
	for _, addr := range []string{"127.0.0.1:4222", "localhost:4222", "[::1]:4222", "127.0.0.2:0", "off"} {
		if _, err := load(t, []string{"--nats-listen", addr}, env{}, nil, ""); err != nil {
			t.Errorf("%s: %v, want loopback accepted without credentials", addr, err)
		}
	}
	files := map[string]string{"/run/pw": "operator-password\n"}
	c, err := load(t, []string{"--nats-listen", "0.0.0.0:4222", "--nats-user", "ops"}, env{"OMQ_NATS_PASSWORD_FILE": "/run/pw"}, files, "")
	if err != nil || c.NATSPassword != "operator-password" {
		t.Errorf("with --nats-user and OMQ_NATS_PASSWORD_FILE: %v (password %t), want accepted", err, c.NATSPassword != "")
	}
	if _, err := load(t, []string{"--nats-url", "nats://10.0.0.5:4222", "--nats-listen", "0.0.0.0:4222"}, env{}, nil, ""); err != nil {
		t.Errorf("--nats-listen is unused with --nats-url: %v", err)
	}
}

func TestEmbeddedCredentialsComeInPairs(t *testing.T) {
	t.Parallel()
	_, err := load(t, []string{"--nats-user", "ops"}, env{}, nil, "")
	if err == nil || !strings.Contains(err.Error(), "--nats-user") || !strings.Contains(err.Error(), "OMQ_NATS_PASSWORD_FILE") {
		t.Errorf("a user without a password: %v, want an error naming both", err)
	}
	_, err = load(t, nil, env{"OMQ_NATS_PASSWORD": "SECRET_alone"}, nil, "")
	if err == nil || strings.Contains(err.Error(), "SECRET_alone") {
		t.Errorf("a password without a user: %v, want an error without the password", err)
	}
}

// URLs may carry user:password@; no rendering of the settings and no error
// shows it.
func TestURLCredentialsRedacted(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	c.NATSURL = "nats://omq:SECRET_nats@10.0.0.5:4222,nats://omq:SECRET_nats2@10.0.0.6:4222"
	c.OpenMooveURL, c.OpenMooveAPIKey = "https://partner:SECRET_api@api.example.com/api/v1/partners/", "om_x"
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("settings", "config", c)
	shown := fmt.Sprintf("%v %+v %#v %s", c, c, c, c.String()) + logs.String()
	if err := c.Validate(); err != nil {
		shown += err.Error()
	} else {
		t.Error("an OpenMoove URL with user:password@ was accepted; the API key is the credential")
	}
	bad := config.Defaults()
	bad.OpenMooveURL, bad.OpenMooveAPIKey = "ftp://u:SECRET_ftp@host/", "om_x"
	shown += bad.Validate().Error()
	bad = config.Defaults()
	bad.NATSURL = "http://u:SECRET_http@host:4222"
	shown += bad.Validate().Error()
	if strings.Contains(shown, "SECRET") {
		t.Errorf("a URL password is shown: %s", shown)
	}
	if !strings.Contains(shown, "10.0.0.6:4222") || !strings.Contains(shown, "api.example.com") {
		t.Errorf("the redacted URLs lost their host: %s", shown)
	}
	if got := config.RedactURL("nats://u:p@%zz,nats://h:1"); strings.Contains(got, "u:p") {
		t.Errorf("RedactURL of an unparsable URL kept its credentials: %s", got)
	}
}

func TestSecretFlagsNamesOnlySecretsGivenAsFlags(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	fset := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.Bind(fset, &c, config.GroupNATS, config.GroupIngest, config.GroupAPI)
	if err := fset.Parse([]string{"--nats-password", "x", "--webhook-secret", "y", "--nats-user", "u", "--openmoove-url", "https://a.example/"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(config.SecretFlags(fset)); got != "[nats-password webhook-secret]" {
		t.Errorf("SecretFlags = %s, want [nats-password webhook-secret]", got)
	}
}

// omq run binds AllGroups: a setting of a group missing from it would be
// no flag of omq run at all.
func TestAllGroupsBindsEverySetting(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	fset := pflag.NewFlagSet("run", pflag.ContinueOnError)
	config.Bind(fset, &c, config.AllGroups()...)
	for _, s := range config.Settings() {
		f := fset.Lookup(s.Flag)
		if f == nil {
			t.Fatalf("--%s (group %s) is not bound by AllGroups", s.Flag, s.Group)
		}
		if got := f.Annotations[config.GroupAnnotation]; len(got) != 1 || got[0] != string(s.Group) {
			t.Fatalf("--%s: annotation %v, want its group %s", s.Flag, got, s.Group)
		}
	}
}
