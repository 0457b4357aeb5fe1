package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/internal/httpserve/httpservetest"
)

func TestHTTPLimitDefaultsAreHTTPServes(t *testing.T) {
	t.Parallel()
	d := config.Defaults()
	l := httpserve.Limits{}.WithDefaults()
	if d.HTTPReadTimeout != l.ReadTimeout || d.HTTPWriteTimeout != l.WriteTimeout || d.HTTPIdleTimeout != l.IdleTimeout || d.HTTPMaxConns != l.MaxConns {
		t.Fatalf("config defaults %v/%v/%v/%d differ from httpserve's %+v", d.HTTPReadTimeout, d.HTTPWriteTimeout, d.HTTPIdleTimeout, d.HTTPMaxConns, l)
	}
	if d.WebhookMaxBytes != 64<<10 {
		t.Fatalf("webhook-max-bytes default = %d, want 64 KiB", d.WebhookMaxBytes)
	}
	c, err := load(t, nil, env{"OMQ_HTTP_IDLE_TIMEOUT": "2s", "OMQ_HTTP_MAX_CONNS": "40", "OMQ_WEBHOOK_MAX_BYTES": "4096"}, nil, "")
	if err != nil || c.HTTPIdleTimeout != 2*time.Second || c.HTTPMaxConns != 40 || c.WebhookMaxBytes != 4096 {
		t.Fatalf("from the environment: %v, %d, %d, err %v", c.HTTPIdleTimeout, c.HTTPMaxConns, c.WebhookMaxBytes, err)
	}
}

func TestHTTPLimitErrorsNameFlagAndRange(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		args          []string
		flag, message string
	}{
		{[]string{"--http-read-timeout", "0s"}, "http-read-timeout", "from 1s to 1h0m0s"},
		{[]string{"--http-read-timeout", "2h"}, "http-read-timeout", "from 1s to 1h0m0s"},
		{[]string{"--http-read-timeout", "40s"}, "http-write-timeout", "from --http-read-timeout (40s) to 1h"},
		{[]string{"--http-idle-timeout", "500ms"}, "http-idle-timeout", "from 1s to 1h0m0s"},
		{[]string{"--http-max-conns", "-3"}, "http-max-conns", "from 1 to 100000"},
		{[]string{"--webhook-max-bytes", "100"}, "webhook-max-bytes", "from 1024 to 16777216"},
	} {
		_, err := load(t, tt.args, nil, nil, "")
		requireFieldError(t, err, tt.flag, tt.message)
	}
}

func TestHTTPTLSValidation(t *testing.T) {
	t.Parallel()
	good := httpservetest.SelfSigned(t)
	other := httpservetest.SelfSigned(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not PEM"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, tt := range []struct {
		name          string
		cert, key     string
		flag, message string
	}{
		{"cert without key", good.CertFile, "", "http-tls-cert", "--http-tls-cert and --http-tls-key together, or neither"},
		{"key without cert", "", good.KeyFile, "http-tls-key", "--http-tls-cert and --http-tls-key together, or neither"},
		{"unreadable cert", missing, good.KeyFile, "http-tls-cert", "a readable PEM certificate file (no such file"},
		{"unreadable key", good.CertFile, missing, "http-tls-key", "a readable PEM private key file (no such file"},
		{"not PEM", garbage, good.KeyFile, "http-tls-cert", "a PEM certificate whose private key is --http-tls-key"},
		{"key of another certificate", good.CertFile, other.KeyFile, "http-tls-cert", "private key does not match"},
	} {
		_, err := load(t, []string{"--http-tls-cert=" + tt.cert, "--http-tls-key=" + tt.key}, nil, nil, "")
		requireFieldError(t, err, tt.flag, tt.message)
		key, _ := os.ReadFile(good.KeyFile)
		if strings.Contains(err.Error(), strings.TrimSpace(string(key))[30:60]) {
			t.Fatalf("%s: the error holds key material: %v", tt.name, err)
		}
	}
	c, err := load(t, []string{"--http-tls-cert", good.CertFile, "--http-tls-key", good.KeyFile}, nil, nil, "")
	if err != nil || c.HTTPTLSCert != good.CertFile {
		t.Fatalf("a matching pair: %v", err)
	}
}

func requireFieldError(t *testing.T, err error, flag, message string) {
	t.Helper()
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Flag != flag || !strings.Contains(err.Error(), message) {
		t.Fatalf("err = %v, want --%s and %q", err, flag, message)
	}
}
