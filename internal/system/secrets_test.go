package system_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/cli"
	"github.com/openmoove/omq/internal/system"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/internal/webhookreceiver"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// Distinctive values of every secret omq holds; none may appear in anything
// omq writes or answers.
const (
	canaryAPIKey   = "om_SECRET_canary_1"
	canaryIngest   = "ingest_SECRET_canary_2"
	canaryWebhook  = "whsec_SECRET_canary_3"
	canaryWebhook2 = "whsec_SECRET_canary_4"
	canaryNATSPass = "nats_SECRET_canary_5"
	canaryWrong    = "SECRET_canary_wrong_6" // a wrong secret a caller sends
)

var canaries = []string{canaryAPIKey, canaryIngest, canaryWebhook, canaryWebhook2, canaryNATSPass, canaryWrong, "SECRET_canary"}

// leakCheck collects every text omq produced and reports any canary in it.
type leakCheck struct {
	t     *testing.T
	texts map[string]string
}

func (c *leakCheck) add(where, text string) { c.texts[where] += text + "\n" }

func (c *leakCheck) verify() {
	c.t.Helper()
	for where, text := range c.texts {
		for _, canary := range canaries {
			if i := strings.Index(text, canary); i >= 0 {
				lo, hi := max(0, i-200), min(len(text), i+len(canary)+100)
				c.t.Errorf("%s holds the secret %q: …%s…", where, canary, text[lo:hi])
			}
		}
	}
}

// startAuthNATS starts a JetStream server that wants a user and password.
func startAuthNATS(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		Username: "omq", Password: canaryNATSPass, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	return ns.ClientURL()
}

// TestSecretsNeverLeak runs a whole omq with a distinctive value for every
// secret, drives every path that could echo one (startup, API 401s, ingest
// with a wrong and a right token, webhooks with a wrong signature, dead
// letters, the operator commands, /metrics, failed starts) and checks that no
// secret appears in the logs, the HTTP answers, the streams and buckets, the
// command output or the errors.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	check := &leakCheck{t: t, texts: map[string]string{}}
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	sbLogs := &testkit.Buffer{}
	sb, err := sandbox.New(sandbox.Config{Keys: map[string]string{canaryAPIKey: "partner"}, Seed: 1,
		Logger: slog.New(slog.NewJSONHandler(sbLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	natsURL := startAuthNATS(t)

	cfg := testConfig(t)
	cfg.NATSURL, cfg.NATSUser, cfg.NATSPassword = natsURL, "omq", canaryNATSPass
	cfg.OpenMooveURL, cfg.OpenMooveAPIKey = sb.URL(), canaryAPIKey
	cfg.IngestToken = canaryIngest
	cfg.WebhookSecrets = []string{canaryWebhook, canaryWebhook2}
	cfg.LogLevel = "debug"
	cfg.RetryMin, cfg.RetryMax = 50*time.Millisecond, 200*time.Millisecond

	// The settings as they can be printed or logged.
	check.add("config %v", fmt.Sprintf("%v", cfg))
	check.add("config %+v", fmt.Sprintf("%+v", cfg))
	check.add("config %#v", fmt.Sprintf("%#v", cfg))
	check.add("config %s", cfg.String())
	apiCfg := openmoove.Config{BaseURL: sb.URL(), APIKey: canaryAPIKey}
	check.add("openmoove.Config", fmt.Sprintf("%v %+v %#v %s", apiCfg, apiCfg, apiCfg, apiCfg))
	sbCfg := sandbox.Config{Keys: map[string]string{canaryAPIKey: "p"}, WebhookURL: "http://127.0.0.1:1/", WebhookSecret: canaryWebhook}
	check.add("sandbox.Config", fmt.Sprintf("%v %+v %#v", sbCfg, sbCfg, sbCfg))
	log.Debug("settings", "config", cfg, "api", apiCfg, "sandbox", sbCfg)

	s, err := system.Start(ctx, system.Options{Config: cfg, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, s) })
	base := "http://" + s.HTTPAddr()
	top := s.Deps().Topology
	tx := sb.SeededIDs()[0]

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	send := func(name, method, path, body string, header map[string]string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			check.add("HTTP error "+name, err.Error())
			return 0
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var h bytes.Buffer
		_ = resp.Header.Write(&h)
		check.add("HTTP answer "+name, h.String()+string(b))
		return resp.StatusCode
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	event := `{"type":"legal_pack_completed","transaction_id":"` + tx + `"}`
	property := `{"first_name":"Ann","last_name":"Lee","email":"ann@example.com","phone_number":"07700900123","property_address":"1 High St","property_postcode":"SW1A 1AA","estate_agent_email":"agent@example.com","sale_method":"private_treaty","products":["moove-ready-pack"]}`

	// Ingest: wrong, missing and malformed tokens, then the right one.
	for _, h := range []map[string]string{bearer(canaryWrong), nil, {"Authorization": canaryIngest}, bearer(canaryIngest + "x")} {
		if code := send("events wrong token", http.MethodPost, "/v1/events", event, h); code != http.StatusUnauthorized {
			t.Errorf("events with a wrong token: %d, want 401", code)
		}
	}
	if code := send("events", http.MethodPost, "/v1/events", event, bearer(canaryIngest)); code != http.StatusAccepted {
		t.Fatalf("events with the token: %d, want 202", code)
	}
	if code := send("bad event", http.MethodPost, "/v1/events", `{"type":"unterminated`, bearer(canaryIngest)); code != http.StatusBadRequest {
		t.Errorf("bad event: %d, want 400", code)
	}
	// Wait for the milestone to be completed with the key.
	waitFor(t, ctx, "the milestone worker's API call", func() bool {
		for _, r := range sb.Requests() {
			if r.Method == http.MethodPatch || r.Method == http.MethodPost {
				return true
			}
		}
		return false
	})

	// Webhooks: no, malformed and wrong signatures; a signed unusable body.
	wh := `{"event":"property.updated","timestamp":"2024-01-01T00:00:00Z","data":{"property_id":1}}`
	for _, sig := range []string{"", "sha256=" + canaryWrong, webhookreceiver.Sign(canaryWrong, []byte(wh)), "sha256=" + canaryWebhook} {
		if code := send("webhook bad signature", http.MethodPost, webhookreceiver.Path, wh, map[string]string{webhookreceiver.SignatureHeader: sig}); code != http.StatusUnauthorized {
			t.Errorf("webhook with signature %q: %d, want 401", sig, code)
		}
	}
	bad := `{"event":"property.created","data":"not an object"}`
	send("webhook signed", http.MethodPost, webhookreceiver.Path, bad, map[string]string{webhookreceiver.SignatureHeader: webhookreceiver.Sign(canaryWebhook2, []byte(bad))})

	// Raw messages no worker can use: each is dead-lettered.
	nc, err := nats.Connect(natsURL, nats.UserInfo("omq", canaryNATSPass))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{top.EventSubject("offer_accepted"), top.CreatePropertySubject(), top.WebhookSubject("property.created")} {
		if _, err := js.Publish(ctx, subj, []byte("not json")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, "three dead letters", func() bool { return streamMsgs(ctx, js, top.DLQStream()) >= 3 })

	// The API refuses the key: every worker meets a 401.
	if err := sb.SetFaults(sandbox.Faults{ForceStatus: http.StatusUnauthorized}); err != nil {
		t.Fatal(err)
	}
	before := len(sb.Requests())
	send("events 401", http.MethodPost, "/v1/events", `{"type":"offer_accepted","transaction_id":"`+tx+`"}`, bearer(canaryIngest))
	send("properties 401", http.MethodPost, "/v1/properties", property, bearer(canaryIngest))
	waitFor(t, ctx, "a 401 logged", func() bool {
		return len(sb.Requests()) > before && strings.Contains(logs.String(), "401 Unauthorized")
	})

	// What an operator reads.
	send("metrics", http.MethodGet, "/metrics", "", nil)
	send("readyz", http.MethodGet, "/readyz", "", nil)
	send("status", http.MethodGet, "/status", "", nil)
	send("healthz", http.MethodGet, "/healthz", "", nil)
	env := func(k string) (string, bool) {
		if k == "OMQ_NATS_PASSWORD" {
			return canaryNATSPass, true
		}
		return "", false
	}
	for _, args := range [][]string{{"status"}, {"status", "--json"}, {"dlq", "list"}, {"dlq", "show", "1"}, {"dlq", "stats"}} {
		var out, errOut bytes.Buffer
		code := cli.Main(ctx, append(args, "--nats-url", natsURL, "--nats-user", "omq"), &cli.Env{Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errOut, LookupEnv: env})
		check.add(fmt.Sprintf("omq %s (exit %d)", strings.Join(args, " "), code), out.String()+errOut.String())
		if code != 0 {
			t.Errorf("omq %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
		}
	}
	// A command with the wrong password says so without echoing it.
	var errOut bytes.Buffer
	if code := cli.Main(ctx, []string{"status", "--nats-url", natsURL, "--nats-user", "omq", "--nats-password", canaryWrong}, &cli.Env{Stdin: bytes.NewReader(nil), Stdout: &errOut, Stderr: &errOut, LookupEnv: func(string) (string, bool) { return "", false }}); code == 0 {
		t.Error("omq status with a wrong password succeeded")
	}
	check.add("omq status wrong password", errOut.String())

	// Every stream and bucket: dead letters (headers and bodies), failure
	// history, outcomes, ledger.
	for name := range js.StreamNames(ctx).Name() {
		check.add("stream "+name, dumpStream(ctx, t, js, name))
	}
	if !strings.Contains(check.texts["stream "+top.DLQStream()], "Omq-") {
		t.Errorf("the dead letters carry no Omq-* headers: %s", check.texts["stream "+top.DLQStream()])
	}

	// Starts that fail: wrong NATS password (as a field and in the URL), and
	// each error.
	for _, c := range []func(*config.Config){
		func(c *config.Config) { c.NATSPassword = canaryWrong },
		func(c *config.Config) {
			c.NATSUser, c.NATSPassword = "", ""
			c.NATSURL = strings.Replace(natsURL, "nats://", "nats://omq:"+canaryWrong+"@", 1)
		},
		func(c *config.Config) { c.OpenMooveAPIKey = canaryAPIKey + " " + canaryWrong },
	} {
		bad := cfg
		bad.DataDir = t.TempDir()
		c(&bad)
		startCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := system.Start(startCtx, system.Options{Config: bad, Logger: log})
		cancel()
		if err == nil {
			t.Fatal("a start with a bad secret succeeded")
		}
		check.add("failed start", err.Error())
	}

	// omq run itself: its start-up lines name the NATS and API URLs (here
	// with the password inside --nats-url) and it warns about a secret
	// given as a flag; an API URL with user:password@ is refused.
	authURL := strings.Replace(natsURL, "nats://", "nats://omq:"+canaryNATSPass+"@", 1)
	apiKeyEnv := func(k string) (string, bool) {
		if k == "OMQ_OPENMOOVE_API_KEY" {
			return canaryAPIKey, true
		}
		return "", false
	}
	runArgs := []string{"--data-dir", t.TempDir(), "--http", "127.0.0.1:0", "--log-level", "debug", "--log-format", "json"}
	code, out := runOMQ(ctx, t, apiKeyEnv, append(runArgs, "--nats-url", authURL, "--openmoove-url", sb.URL(), "--ingest-token", canaryIngest)...)
	check.add(fmt.Sprintf("omq run, password in --nats-url (exit %d)", code), out)
	if code != 0 || !strings.Contains(out, `"flag":"--ingest-token","use":"OMQ_INGEST_TOKEN_FILE"`) {
		t.Errorf("omq run with a password in --nats-url: exit %d, want 0 and a warning about --ingest-token: %s", code, out)
	}
	badAPI := strings.Replace(sb.URL(), "http://", "http://partner:"+canaryAPIKey+"@", 1)
	code, out = runOMQ(ctx, t, apiKeyEnv, append(runArgs, "--nats-url", authURL, "--openmoove-url", badAPI)...)
	check.add(fmt.Sprintf("omq run, credentials in --openmoove-url (exit %d)", code), out)
	if code != 2 {
		t.Errorf("omq run with user:password in --openmoove-url: exit %d, want 2: %s", code, out)
	}

	stop(t, s)
	check.add("omq logs", logs.String())
	check.add("sandbox logs", sbLogs.String())
	check.verify()
	if !strings.Contains(logs.String(), `"level":"DEBUG"`) {
		t.Error("no debug lines logged: the test did not see the debug paths")
	}
}

// TestEmbeddedNATSPasswordNeverLogged: the password omq run generates for
// its embedded NATS is a secret like the others; only the file's path is
// logged.
func TestEmbeddedNATSPasswordNeverLogged(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	dir := t.TempDir()
	code, out := runOMQ(ctx, t, func(string) (string, bool) { return "", false },
		"--data-dir", dir, "--nats-listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0", "--log-level", "debug", "--log-format", "json")
	if code != 0 {
		t.Fatalf("omq run: exit %d: %s", code, out)
	}
	pw, err := os.ReadFile(filepath.Join(dir, "nats-password"))
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(string(pw))
	if len(secret) < 20 || strings.Contains(out, secret) {
		t.Errorf("the generated NATS password (%d characters) is in the log, or too short to be one", len(secret))
	}
	if !strings.Contains(out, `"nats_password_file":"`+filepath.Join(dir, "nats-password")+`"`) {
		t.Errorf("omq ready does not say where the NATS password is: %s", out)
	}
}

// runOMQ runs "omq run ARGS" until it is ready, then stops it with a
// signal; it returns the exit status and everything it wrote.
func runOMQ(ctx context.Context, t *testing.T, env func(string) (string, bool), args ...string) (int, string) {
	t.Helper()
	out := &testkit.Buffer{}
	sigs := make(chan os.Signal, 1)
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"run"}, args...), &cli.Env{Stdin: bytes.NewReader(nil), Stdout: out, Stderr: out, LookupEnv: env, Signals: sigs, Exit: func(int) {}})
	}()
	for {
		select {
		case code := <-done:
			return code, out.String()
		case <-ctx.Done():
			t.Fatalf("omq run neither ready nor failed: %s", out.String())
		case <-time.After(20 * time.Millisecond):
			if strings.Contains(out.String(), `"msg":"omq ready"`) {
				sigs <- syscall.SIGTERM
				return <-done, out.String()
			}
		}
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func streamMsgs(ctx context.Context, js jetstream.JetStream, name string) uint64 {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return 0
	}
	info, err := st.Info(ctx)
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// dumpStream returns every message of a stream: subject, headers and body.
func dumpStream(ctx context.Context, t *testing.T, js jetstream.JetStream, name string) string {
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		fmt.Fprintf(&b, "%s %v %s\n", m.Subject, m.Header, m.Data)
	}
	return b.String()
}
