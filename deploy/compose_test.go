package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/cli"
	"github.com/openmoove/omq/internal/system"
)

// checkCommand runs omq's own command line on args plus --help: cobra
// refuses an unknown command or flag before it prints help, so exit 0
// means every word of args is one omq takes. --only's roles are checked
// against the roles omq run knows.
func checkCommand(t *testing.T, where string, args []string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), append(slices.Clone(args), "--help"), &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut})
	if code != 0 {
		t.Errorf("%s: omq %s: exit %d: %s", where, strings.Join(args, " "), code, errOut.String())
	}
	known := map[string]bool{}
	for _, r := range system.Roles() {
		known[r.Name] = true
	}
	for i, a := range args {
		if a == "--only" && i+1 < len(args) {
			for _, r := range strings.Split(args[i+1], ",") {
				if !known[r] {
					t.Errorf("%s: --only %s: no role %q", where, args[i+1], r)
				}
			}
		}
	}
}

// knownEnv is every OMQ_* variable omq reads: each setting's, and
// OMQ_<NAME>_FILE for secrets.
func knownEnv() map[string]bool {
	env := map[string]bool{"OMQ_CONFIG": true}
	for _, s := range config.Settings() {
		env[s.Env] = true
		if s.Secret {
			env[s.Env+"_FILE"] = true
		}
	}
	return env
}

func checkEnv(t *testing.T, where string, env map[string]string) {
	t.Helper()
	known := knownEnv()
	for k, v := range env {
		if strings.HasPrefix(k, "OMQ_") && !known[k] {
			t.Errorf("%s: %s is not a variable omq reads", where, k)
		}
		for _, s := range []string{"OMQ_NATS_PASSWORD", "OMQ_OPENMOOVE_API_KEY", "OMQ_INGEST_TOKEN", "OMQ_WEBHOOK_SECRET", "OMQ_NATS_TOKEN"} {
			if k == s {
				t.Errorf("%s: secret %s given as a value; use %s_FILE", where, k, k)
			}
		}
		if env["OMQ_NATS_URL"] != "" && k == "OMQ_REPLICAS" && v != "3" {
			t.Errorf("%s: OMQ_REPLICAS %s on a cluster, want 3", where, v)
		}
	}
	if env["OMQ_NATS_URL"] != "" && env["OMQ_REPLICAS"] == "" {
		t.Errorf("%s: OMQ_NATS_URL without OMQ_REPLICAS: streams would be R1 on the cluster", where)
	}
}

// natsServerVersion is the nats-server version go.mod pins, without "v".
func natsServerVersion(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join("..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "github.com/nats-io/nats-server/v2" {
			return strings.TrimPrefix(f[1], "v")
		}
	}
	t.Fatal("go.mod does not require github.com/nats-io/nats-server/v2")
	return ""
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Build       any               `yaml:"build"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Secrets     []string          `yaml:"secrets"`
		Volumes     []string          `yaml:"volumes"`
		Deploy      struct {
			Replicas int `yaml:"replicas"`
		} `yaml:"deploy"`
	} `yaml:"services"`
	Secrets map[string]struct {
		File string `yaml:"file"`
	} `yaml:"secrets"`
}

// docker-compose.yml: three NATS nodes of the version omq is built with,
// each with its cluster config; every omq service's command and OMQ_*
// variables are ones omq takes, secrets are files, and the workers run as
// two replicas.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	wantImage := "nats:" + natsServerVersion(t) + "-alpine"
	workerReplicas := 0
	for _, n := range []string{"nats-1", "nats-2", "nats-3"} {
		s, ok := c.Services[n]
		if !ok {
			t.Fatalf("no service %s", n)
		}
		if s.Image != wantImage {
			t.Errorf("%s: image %s, want %s (go.mod's nats-server)", n, s.Image, wantImage)
		}
		conf := strings.SplitN(s.Volumes[0], ":", 2)[0]
		if want := "./deploy/cluster/" + n + ".conf"; conf != want {
			t.Errorf("%s: config %s, want %s", n, conf, want)
		}
	}
	for name, s := range c.Services {
		if s.Image != "omq:dev" {
			continue
		}
		if s.Build == nil {
			t.Errorf("%s: image omq:dev without build: compose would try to pull it", name)
		}
		checkCommand(t, "docker-compose.yml "+name, s.Command)
		checkEnv(t, "docker-compose.yml "+name, s.Environment)
		for k, v := range s.Environment {
			if !strings.HasSuffix(k, "_FILE") {
				continue
			}
			secret, ok := strings.CutPrefix(v, "/run/secrets/")
			if !ok || !slices.Contains(s.Secrets, secret) {
				t.Errorf("%s: %s=%s is not one of its secrets %v", name, k, v, s.Secrets)
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := c.Secrets[sec]; !ok {
				t.Errorf("%s: secret %s is not declared", name, sec)
			}
		}
		if slices.Contains(s.Command, "milestones,properties,deadletters") {
			workerReplicas = s.Deploy.Replicas
		}
	}
	if workerReplicas != 2 {
		t.Errorf("workers run %d replicas, want 2", workerReplicas)
	}
}

// The Kubernetes manifests' commands and variables are omq's (their types
// are checked strictly in the module deploy/kubernetes/test).
func TestKubernetesCommandsAndEnv(t *testing.T) {
	files, _ := filepath.Glob("kubernetes/base/*.yaml")
	overlay, _ := filepath.Glob("kubernetes/overlays/*/*.yaml")
	files = append(files, overlay...)
	if len(files) < 5 {
		t.Fatalf("found %v", files)
	}
	commands := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc struct {
				Kind string            `yaml:"kind"`
				Data map[string]string `yaml:"data"`
				Spec struct {
					Template struct {
						Spec struct {
							Containers []struct {
								Args []string `yaml:"args"`
								Env  []struct {
									Name  string `yaml:"name"`
									Value string `yaml:"value"`
								} `yaml:"env"`
							} `yaml:"containers"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			}
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if strings.Contains(f, "overlays") {
					break // JSON patches are lists, not objects
				}
				t.Fatalf("%s: %v", f, err)
			}
			if doc.Kind == "ConfigMap" {
				checkEnv(t, f, doc.Data)
			}
			for _, c := range doc.Spec.Template.Spec.Containers {
				checkCommand(t, f, c.Args)
				commands++
				env := map[string]string{}
				for _, e := range c.Env {
					env[e.Name] = e.Value
				}
				if !strings.Contains(f, "overlays") {
					env["OMQ_REPLICAS"], env["OMQ_NATS_URL"] = "3", "from the ConfigMap"
				}
				checkEnv(t, f, env)
			}
		}
	}
	if commands < 6 {
		t.Errorf("checked %d containers, want the 5 Deployments and the Job", commands)
	}
}

// deploy/cluster/local: three nodes one machine can run side by side,
// loopback only, each routing to the others, each with its own store.
func TestLocalClusterConfigs(t *testing.T) {
	t.Setenv("OMQ_NATS_PASSWORD", "test-password")
	ports, stores := map[int]bool{}, map[string]bool{}
	for i := 1; i <= 3; i++ {
		f := filepath.Join("cluster", "local", fmt.Sprintf("nats-%d.conf", i))
		o, err := server.ProcessConfigFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if o.Host != "127.0.0.1" || o.Cluster.Host != "127.0.0.1" || o.HTTPHost != "127.0.0.1" {
			t.Errorf("%s: listens on %s, %s, %s; want loopback only", f, o.Host, o.Cluster.Host, o.HTTPHost)
		}
		for _, p := range []int{o.Port, o.Cluster.Port, o.HTTPPort} {
			if ports[p] {
				t.Errorf("%s: port %d used by another node", f, p)
			}
			ports[p] = true
		}
		if !o.JetStream || stores[o.StoreDir] {
			t.Errorf("%s: JetStream %v, store %s; want JetStream in a store of its own", f, o.JetStream, o.StoreDir)
		}
		stores[o.StoreDir] = true
		if len(o.Routes) != 3 {
			t.Errorf("%s: %d routes, want the three nodes", f, len(o.Routes))
		}
	}
}

// The omq user's password is the one in $OMQ_NATS_PASSWORD: nats-server
// expands a variable only unquoted, so "$OMQ_NATS_PASSWORD" would be taken
// literally and every omq client refused.
func TestNATSConfigsTakePasswordFromEnvironment(t *testing.T) {
	const pw = "b1946ac92492d2347c6235b4d2611184"
	t.Setenv("OMQ_NATS_PASSWORD", pw)
	t.Setenv("NATS_SYS_PASSWORD", "sys-"+pw)
	files, _ := filepath.Glob("nats/*.conf")
	for _, g := range []string{"cluster/*.conf", "cluster/local/*.conf"} {
		more, _ := filepath.Glob(g)
		files = append(files, more...)
	}
	if len(files) != 7 {
		t.Fatalf("found %v, want the single node, three cluster and three local nodes", files)
	}
	for _, f := range files {
		o, err := server.ProcessConfigFile(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		found := false
		for _, u := range o.Users {
			if u.Username == "omq" {
				found = true
				if u.Password != pw {
					t.Errorf("%s: user omq's password is %q, want $OMQ_NATS_PASSWORD", f, u.Password)
				}
			}
		}
		if !found {
			t.Errorf("%s: no user omq", f)
		}
	}
}
