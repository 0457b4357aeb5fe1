package deploy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/openmoove/omq/config"
)

// The shipped NATS configs must parse with nats-server's own parser and
// enable JetStream.
func TestNATSConfigsParse(t *testing.T) {
	t.Setenv("OMQ_NATS_PASSWORD", "test-password")
	t.Setenv("NATS_SYS_PASSWORD", "test-sys-password")
	files, _ := filepath.Glob("nats/*.conf")
	cluster, _ := filepath.Glob("cluster/*.conf")
	files = append(files, cluster...)
	if len(files) != 4 {
		t.Fatalf("found %v, want the single-node config and three cluster nodes", files)
	}
	for _, f := range files {
		opts, err := server.ProcessConfigFile(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !opts.JetStream || opts.StoreDir == "" {
			t.Errorf("%s: JetStream %v, store dir %q; want JetStream with a store dir", f, opts.JetStream, opts.StoreDir)
		}
		if opts.MaxPayload < 1<<20 {
			t.Errorf("%s: max_payload %d, want at least 1 MiB", f, opts.MaxPayload)
		}
	}
}

// The example settings file must load with omq's own loader.
func TestExampleSettingsLoad(t *testing.T) {
	c := config.Defaults()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	config.Bind(fs, &c, config.AllGroups()...)
	src := config.Source{LookupEnv: func(k string) (string, bool) {
		if k == "OMQ_OPENMOOVE_API_KEY" {
			return "om_example", true
		}
		return "", false
	}}
	if err := config.Load(fs, &c, filepath.Join("systemd", "omq.yaml"), src); err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/omq/data" || c.OpenMooveURL == "" {
		t.Fatalf("loaded %s", c)
	}
	if _, err := os.Stat(filepath.Join("systemd", "omq.service")); err != nil {
		t.Fatal(err)
	}
}

// The shipped alert rules must be Prometheus rule groups: every rule an
// alert with an expression. (That each metric they name exists is checked
// by internal/system's TestDocumentedMetricsExist.)
func TestAlertRulesParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("prometheus", "omq-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	if len(rules.Groups) == 0 {
		t.Fatal("no rule groups")
	}
	for _, g := range rules.Groups {
		for i, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("group %s rule %d: alert %q, expr %q; want both", g.Name, i, r.Alert, r.Expr)
			}
		}
	}
}
