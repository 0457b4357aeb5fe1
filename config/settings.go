package config

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Group names a set of settings that a command takes; a command binds only
// the groups it uses, so its --help lists only what matters to it.
type Group string

// The setting groups.
const (
	GroupNATS    Group = "nats"    // connecting to NATS, embedded or external
	GroupServer  Group = "server"  // what omq run adds: HTTP, data dir, shutdown
	GroupAPI     Group = "api"     // the OpenMoove API or the sandbox
	GroupLog     Group = "log"     // logging
	GroupStreams Group = "streams" // the subject prefix every command names streams by
	GroupIngest  Group = "ingest"  // HTTP ingest and webhooks
	GroupWorkers Group = "workers" // the worker runtime, budget and breaker
	GroupDomain  Group = "domain"  // milestone rules of the milestones worker

	// GroupLayout sizes streams: only the commands that create or update
	// them (run, streams apply) and status, which shows the DLQ's cap.
	GroupLayout Group = "layout"
	// GroupProperties fills in a property creation's missing professionals:
	// whatever validates or queues a creation takes it.
	GroupProperties Group = "properties"
	// GroupTracking schedules the poller and the monitor.
	GroupTracking Group = "tracking"
	// GroupRisk says when an open milestone is at risk, for the monitor and
	// omq report alike.
	GroupRisk Group = "risk"
)

// AllGroups is every group, for omq run, which takes every setting.
func AllGroups() []Group {
	return []Group{GroupNATS, GroupServer, GroupAPI, GroupLog, GroupStreams, GroupLayout,
		GroupIngest, GroupWorkers, GroupDomain, GroupProperties, GroupTracking, GroupRisk}
}

// setting is one row of the settings table: everything else (flags,
// environment variables, the YAML file, docs) derives from it.
type setting struct {
	name   string
	group  Group
	secret bool
	usage  string
	field  func(*Config) any // pointer to the field
}

// settings is the table of every setting. Keep it in the order the README's
// configuration table shows.
var settings = []setting{
	{"data-dir", GroupNATS, false, "directory of the embedded NATS file store and its generated credentials (nats-password)", func(c *Config) any { return &c.DataDir }},
	{"nats-url", GroupNATS, false, "external NATS server URL(s), comma-separated; empty starts an embedded server", func(c *Config) any { return &c.NATSURL }},
	{"nats-listen", GroupNATS, false, "client address of the embedded server for other processes, or off", func(c *Config) any { return &c.NATSListen }},
	{"nats-creds", GroupNATS, false, "NATS credentials file (external server)", func(c *Config) any { return &c.NATSCreds }},
	{"nats-nkey", GroupNATS, false, "NATS NKey seed file (external server)", func(c *Config) any { return &c.NATSNKey }},
	{"nats-user", GroupNATS, false, "NATS user name; with the embedded server, the one user it accepts instead of the generated omq (required for a non-loopback --nats-listen)", func(c *Config) any { return &c.NATSUser }},
	{"nats-password", GroupNATS, true, "password of --nats-user; prefer OMQ_NATS_PASSWORD_FILE", func(c *Config) any { return &c.NATSPassword }},
	{"nats-token", GroupNATS, true, "NATS token (external server); prefer OMQ_NATS_TOKEN_FILE", func(c *Config) any { return &c.NATSToken }},
	{"nats-tls-ca", GroupNATS, false, "CA bundle to trust for TLS to NATS", func(c *Config) any { return &c.NATSTLSCA }},
	{"nats-tls-cert", GroupNATS, false, "client certificate for TLS to NATS", func(c *Config) any { return &c.NATSTLSCert }},
	{"nats-tls-key", GroupNATS, false, "client key for TLS to NATS", func(c *Config) any { return &c.NATSTLSKey }},
	{"subject-prefix", GroupStreams, false, "first token of every subject; upper-cased, of every stream", func(c *Config) any { return &c.SubjectPrefix }},
	{"replicas", GroupLayout, false, "replicas of new streams and buckets, and the count existing ones are raised to (1, or 3 on a cluster); a higher existing count is kept (omq streams apply --lower-replicas lowers it)", func(c *Config) any { return &c.Replicas }},
	{"http", GroupServer, false, "address of the HTTP listener (health, metrics, ingest, webhooks), or off", func(c *Config) any { return &c.HTTP }},
	{"http-read-timeout", GroupServer, false, "longest time to read one request, body included, on the HTTP listener", func(c *Config) any { return &c.HTTPReadTimeout }},
	{"http-write-timeout", GroupServer, false, "longest time from a request's headers to the end of its answer (covers the wait for JetStream's ack)", func(c *Config) any { return &c.HTTPWriteTimeout }},
	{"http-idle-timeout", GroupServer, false, "how long an idle keep-alive connection to the HTTP listener stays open", func(c *Config) any { return &c.HTTPIdleTimeout }},
	{"http-max-conns", GroupServer, false, "most open connections to the HTTP listener; more wait until one closes", func(c *Config) any { return &c.HTTPMaxConns }},
	{"http-tls-cert", GroupServer, false, "PEM certificate (chain) to serve HTTPS on --http; with --http-tls-key, or neither for plain HTTP", func(c *Config) any { return &c.HTTPTLSCert }},
	{"http-tls-key", GroupServer, false, "PEM private key of --http-tls-cert", func(c *Config) any { return &c.HTTPTLSKey }},
	{"console", GroupServer, false, "the operator console under /console/ on --http: on or off", func(c *Config) any { return &c.Console }},
	{"console-users", GroupServer, false, "file of console users, name:role:bcrypt-hash a line (omq console adduser); without it or --console-token the console is read-only and loopback-only", func(c *Config) any { return &c.ConsoleUsers }},
	{"console-token", GroupServer, true, "a token that logs in to the console as an operator; prefer OMQ_CONSOLE_TOKEN_FILE", func(c *Config) any { return &c.ConsoleToken }},
	{"console-session-ttl", GroupServer, false, "how long a console login lasts", func(c *Config) any { return &c.ConsoleSessionTTL }},
	{"openmoove-url", GroupAPI, false, "OpenMoove Partner API base URL; empty runs the local sandbox", func(c *Config) any { return &c.OpenMooveURL }},
	{"openmoove-api-key", GroupAPI, true, "OpenMoove API key; prefer OMQ_OPENMOOVE_API_KEY or OMQ_OPENMOOVE_API_KEY_FILE", func(c *Config) any { return &c.OpenMooveAPIKey }},
	{"sandbox-addr", GroupAPI, false, "address of the in-process sandbox when --openmoove-url is empty", func(c *Config) any { return &c.SandboxAddr }},
	{"log-level", GroupLog, false, "debug, info, warn or error", func(c *Config) any { return &c.LogLevel }},
	{"log-format", GroupLog, false, "auto (colour on a terminal, else JSON), text or json", func(c *Config) any { return &c.LogFormat }},
	{"shutdown-timeout", GroupServer, false, "how long in-flight work gets to finish on shutdown", func(c *Config) any { return &c.ShutdownTimeout }},
	{"ingest-token", GroupIngest, true, "bearer token of POST /v1/events and /v1/properties; empty disables them; prefer OMQ_INGEST_TOKEN_FILE", func(c *Config) any { return &c.IngestToken }},
	{"ingest-max-bytes", GroupIngest, false, "largest ingest request body in bytes", func(c *Config) any { return &c.IngestMaxBytes }},
	{"ingest-max-items", GroupIngest, false, "most items in one ingest request (1 to 10000); more get 400", func(c *Config) any { return &c.IngestMaxItems }},
	{"webhook-secret", GroupIngest, true, "OpenMoove webhook secret(s), comma-separated for rotation; empty disables the receiver; prefer OMQ_WEBHOOK_SECRET_FILE", func(c *Config) any { return &c.WebhookSecrets }},
	{"webhook-max-bytes", GroupIngest, false, "largest webhook body in bytes; a larger declared or sent body gets 413 before its signature is checked", func(c *Config) any { return &c.WebhookMaxBytes }},
	{"webhook-max-age", GroupIngest, false, "oldest a webhook may be (its timestamp to its receipt) and still change state; older ones are acknowledged and ignored", func(c *Config) any { return &c.WebhookMaxAge }},
	{"concurrency", GroupWorkers, false, "messages each worker handles at once", func(c *Config) any { return &c.Concurrency }},
	{"ack-wait", GroupWorkers, false, "how long NATS waits for an ack before redelivering", func(c *Config) any { return &c.AckWait }},
	{"max-deliver", GroupWorkers, false, "deliveries before NATS gives up on a message (backstop for crash loops)", func(c *Config) any { return &c.MaxDeliver }},
	{"max-failures", GroupWorkers, false, "real failures before a message is dead-lettered as exhausted", func(c *Config) any { return &c.MaxFailures }},
	{"retry-min", GroupWorkers, false, "first redelivery delay after a transient failure", func(c *Config) any { return &c.RetryMin }},
	{"retry-max", GroupWorkers, false, "longest redelivery delay after transient failures", func(c *Config) any { return &c.RetryMax }},
	{"in-process-retries", GroupWorkers, false, "quick retries of a call inside one delivery", func(c *Config) any { return &c.InProcessRetries }},
	{"in-process-retry-window", GroupWorkers, false, "time bound of the quick retries; shorter than --ack-wait", func(c *Config) any { return &c.InProcessRetryWindow }},
	{"breaker-transient", GroupWorkers, false, "transient failures in a row that open the breaker", func(c *Config) any { return &c.BreakerTransient }},
	{"pause-min", GroupWorkers, false, "first pause of consumption when the breaker opens", func(c *Config) any { return &c.PauseMin }},
	{"pause-max", GroupWorkers, false, "longest pause while the API stays down", func(c *Config) any { return &c.PauseMax }},
	{"budget-per-hour", GroupWorkers, false, "API calls an hour shared by every replica", func(c *Config) any { return &c.BudgetPerHour }},
	{"budget-per-minute", GroupWorkers, false, "API calls a minute shared by every replica", func(c *Config) any { return &c.BudgetPerMinute }},
	{"dlq-max-bytes", GroupLayout, false, "byte cap of the dead-letter stream (warns from 80%)", func(c *Config) any { return &c.DLQMaxBytes }},
	{"stuck-after", GroupWorkers, false, "age of a worker's oldest unfinished message past which omq status and GET /status say stuck", func(c *Config) any { return &c.StuckAfter }},
	{"milestone-map", GroupDomain, false, "YAML/JSON file overriding the event type → milestone table", func(c *Config) any { return &c.MilestoneMap }},
	{"milestone-mode", GroupDomain, false, "complete (call the update endpoint) or notify (outcome only)", func(c *Config) any { return &c.MilestoneMode }},
	{"outcome-address", GroupDomain, false, "address in milestone_completed outcomes: known (from the ledger or a webhook, else omitted; no call) or read (else one property read per transaction)", func(c *Config) any { return &c.OutcomeAddress }},
	{"transaction-grace", GroupDomain, false, "how long after an event's publish a 404 for its transaction is retried (its creation may be queued)", func(c *Config) any { return &c.TransactionGrace }},
	{"default-estate-agent-email", GroupProperties, false, "estate agent given to a creation that names no professional", func(c *Config) any { return &c.DefaultEstateAgentEmail }},
	{"poll-overdue", GroupTracking, false, "poll interval of a tracked property with an overdue milestone", func(c *Config) any { return &c.PollOverdue }},
	{"poll-due-soon", GroupTracking, false, "poll interval of a tracked property with a milestone due within a day", func(c *Config) any { return &c.PollDueSoon }},
	{"poll-interval", GroupTracking, false, "poll interval of every other tracked property", func(c *Config) any { return &c.PollInterval }},
	{"poll-read-share", GroupTracking, false, "fraction (0 < x ≤ 1) of each budget window the poller may spend on reads, per replica", func(c *Config) any { return &c.PollReadShare }},
	{"at-risk-within", GroupRisk, false, "an open milestone due within this is at risk (report, alerts)", func(c *Config) any { return &c.AtRiskWithin }},
	{"alert-every", GroupTracking, false, "how often the monitor checks the portfolio for overdue, at-risk and pending-invitation alerts", func(c *Config) any { return &c.AlertEvery }},
	{"invitation-pending-days", GroupTracking, false, "days a professional may stay invited before alert.invitation_pending (repeated every that many days)", func(c *Config) any { return &c.InvitationPendingDays }},
	{"assignments", GroupProperties, false, "YAML file of the professional assignment table", func(c *Config) any { return &c.Assignments }},
}

// EnvName is the environment variable of a setting: OMQ_ and the flag name
// upper-cased with dashes as underscores.
func EnvName(flag string) string {
	return "OMQ_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// urlSettings may carry user:password@ in their value.
var urlSettings = map[string]bool{"nats-url": true, "openmoove-url": true}

// printable is the value as it may be logged or shown: secrets redacted,
// and the credentials inside URLs.
func (s setting) printable(c *Config) string {
	v := s.get(c)
	switch {
	case v == "":
		return v
	case s.secret:
		return "[redacted]"
	case urlSettings[s.name]:
		return RedactURL(v)
	}
	return v
}

func (s setting) get(c *Config) string {
	switch p := s.field(c).(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *float64:
		return strconv.FormatFloat(*p, 'g', -1, 64)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return p.String()
	case *[]string:
		return strings.Join(*p, ",")
	}
	panic("config: unsupported field type for " + s.name)
}

// Bind registers the flags of the given groups on fs, writing into c, with
// c's current values (normally Defaults()) as the flag defaults.
func Bind(fs *pflag.FlagSet, c *Config, groups ...Group) {
	for _, s := range settings {
		if !inGroups(s.group, groups) {
			continue
		}
		bindOne(fs, s, c, s.usage+" ("+EnvName(s.name)+")")
		// --help sorts flags by group (connection flags apart).
		_ = fs.SetAnnotation(s.name, GroupAnnotation, []string{string(s.group)})
	}
}

// GroupAnnotation is the pflag annotation Bind gives each flag: its Group.
const GroupAnnotation = "omq-group"

func bindOne(fs *pflag.FlagSet, s setting, c *Config, usage string) {
	switch p := s.field(c).(type) {
	case *string:
		fs.StringVar(p, s.name, *p, usage)
	case *int:
		fs.IntVar(p, s.name, *p, usage)
	case *int64:
		fs.Int64Var(p, s.name, *p, usage)
	case *float64:
		fs.Float64Var(p, s.name, *p, usage)
	case *bool:
		fs.BoolVar(p, s.name, *p, usage)
	case *time.Duration:
		fs.DurationVar(p, s.name, *p, usage)
	case *[]string:
		fs.StringSliceVar(p, s.name, *p, usage)
	default:
		panic("config: unsupported field type for " + s.name)
	}
}

func inGroups(g Group, groups []Group) bool {
	for _, x := range groups {
		if x == g {
			return true
		}
	}
	return false
}

// Source supplies environment variables and files; tests replace it.
type Source struct {
	// LookupEnv defaults to os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// ReadFile defaults to os.ReadFile.
	ReadFile func(string) ([]byte, error)
}

func (src Source) withDefaults() Source {
	if src.LookupEnv == nil {
		src.LookupEnv = os.LookupEnv
	}
	if src.ReadFile == nil {
		src.ReadFile = os.ReadFile
	}
	return src
}

// Load fills every bound flag that was not given on the command line from,
// in order, its environment variable, OMQ_<NAME>_FILE (secrets only), and
// the YAML file at path (when path is not empty). It then validates c.
// Errors name the setting, where the value came from and what is accepted.
func Load(fs *pflag.FlagSet, c *Config, path string, src Source) error {
	src = src.withDefaults()
	file, err := readYAML(path, src)
	if err != nil {
		return err
	}
	for _, s := range settings {
		f := fs.Lookup(s.name)
		if f == nil {
			if _, ok := file[s.name]; ok {
				delete(file, s.name) // a setting this command does not take
			}
			continue
		}
		yv, inFile := file[s.name]
		delete(file, s.name)
		if f.Changed {
			continue
		}
		v, from, ok, err := lookup(s, src)
		if err != nil {
			return err
		}
		if !ok && inFile {
			v, from, ok = yv, "the config file "+path, true
		}
		if !ok {
			continue
		}
		if err := fs.Set(s.name, v); err != nil {
			return setError(s, v, from)
		}
	}
	if len(file) > 0 {
		return unknownKeys(file, path)
	}
	return c.Validate()
}

func lookup(s setting, src Source) (v, from string, ok bool, err error) {
	env := EnvName(s.name)
	// An empty variable counts as unset, as in most tools: `OMQ_X=` in a
	// unit file or a shell should not turn a setting into "".
	if v, ok := src.LookupEnv(env); ok && v != "" {
		return v, env, true, nil
	}
	if !s.secret {
		return "", "", false, nil
	}
	path, ok := src.LookupEnv(env + "_FILE")
	if !ok || path == "" {
		return "", "", false, nil
	}
	b, err := src.ReadFile(path)
	if err != nil {
		return "", "", false, &FieldError{Flag: s.name, Accept: fmt.Sprintf("a readable file in %s_FILE (%s: %v)", env, path, unwrapPathErr(err))}
	}
	return strings.TrimRight(string(b), "\r\n"), env + "_FILE", true, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func setError(s setting, v, from string) error {
	shown := v
	if s.secret {
		shown = ""
	}
	accept := "a string"
	switch s.field(&Config{}).(type) {
	case *int, *int64:
		accept = "a whole number"
	case *float64:
		accept = "a number"
	case *bool:
		accept = "true or false"
	case *time.Duration:
		accept = "a duration such as 30s, 5m or 1h"
	}
	if from != "" {
		accept += " (the value came from " + from + ")"
	}
	return &FieldError{Flag: s.name, Value: shown, Accept: accept}
}

func readYAML(path string, src Source) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	b, err := src.ReadFile(path)
	if err != nil {
		return nil, &FieldError{Flag: "config", Value: path, Accept: fmt.Sprintf("a readable YAML file (%v)", unwrapPathErr(err))}
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, &FieldError{Flag: "config", Value: path, Accept: fmt.Sprintf("YAML with one key per setting, such as \"log-level: debug\" (%v)", err)}
	}
	for k, v := range raw {
		switch x := v.(type) {
		case nil:
			out[k] = ""
		case []any:
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = fmt.Sprint(e)
			}
			out[k] = strings.Join(parts, ",")
		case map[string]any:
			return nil, &FieldError{Flag: "config", Value: path, Accept: fmt.Sprintf("a plain value or list for key %q, not a map", k)}
		default:
			out[k] = fmt.Sprint(x)
		}
	}
	return out, nil
}

func unknownKeys(file map[string]string, path string) error {
	known := map[string]bool{}
	for _, s := range settings {
		known[s.name] = true
	}
	var bad []string
	for k := range file {
		if !known[k] {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return &FieldError{Flag: "config", Value: path, Accept: fmt.Sprintf("only known settings (flag names such as log-level); unknown: %s", strings.Join(bad, ", "))}
}

// SecretFlags names the secret settings given as flags on fs's command
// line, where any user of the machine can read them (ps, /proc). Call it
// before Load, which marks the flags it fills from the environment as
// changed too.
func SecretFlags(fs *pflag.FlagSet) []string {
	var out []string
	for _, s := range settings {
		if f := fs.Lookup(s.name); s.secret && f != nil && f.Changed {
			out = append(out, s.name)
		}
	}
	return out
}

// Setting describes one setting for documentation.
type Setting struct {
	Flag, Env, Default, Usage string
	Secret                    bool
	// Group is the set of settings it belongs to; commands bind whole
	// groups.
	Group Group
}

// Settings lists every setting with its default, for docs and --help.
func Settings() []Setting {
	d := Defaults()
	out := make([]Setting, 0, len(settings))
	for _, s := range settings {
		out = append(out, Setting{Flag: s.name, Env: EnvName(s.name), Default: s.get(&d), Usage: s.usage, Secret: s.secret, Group: s.group})
	}
	return out
}
