package streams

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The defaults of Topology, named once: WithDefaults fills them in, and
// omq's settings (package config) take theirs from here.
const (
	DefaultPrefix            = "openmoove"
	DefaultReplicas          = 1
	DefaultDLQMaxBytes int64 = 1 << 30
)

// Topology names every stream, subject and bucket from a subject prefix.
type Topology struct {
	// Prefix is the first subject token; stream and bucket names are its
	// upper-case form. Default "openmoove".
	Prefix string
	// Replicas of every stream and bucket Apply creates, and the count it
	// raises existing ones to. Default 1.
	Replicas int
	// LowerReplicas lets Apply lower an existing stream's or bucket's
	// replicas to Replicas; without it a higher count is kept (and reported
	// in Result.Kept), so a cluster's R3 streams stay R3 whatever Replicas
	// a process starts with.
	LowerReplicas bool
	// Memory keeps every stream and bucket in memory instead of files: for
	// tests (omqtest), where durability across restarts does not matter and
	// start-up time does. Default false.
	Memory bool
	// DLQMaxBytes caps the dead-letter stream. It discards new messages at
	// the cap rather than old ones, so nothing is trimmed silently; omq
	// warns from 80%. Default 1 GiB.
	DLQMaxBytes int64
}

// New returns the topology for prefix with defaults for the rest.
func New(prefix string) Topology {
	return Topology{Prefix: prefix}.WithDefaults()
}

// WithDefaults fills unset fields.
func (t Topology) WithDefaults() Topology {
	if t.Prefix == "" {
		t.Prefix = DefaultPrefix
	}
	if t.Replicas == 0 {
		t.Replicas = DefaultReplicas
	}
	if t.DLQMaxBytes == 0 {
		t.DLQMaxBytes = DefaultDLQMaxBytes
	}
	return t
}

func (t Topology) name(suffix string) string { return strings.ToUpper(t.Prefix) + "_" + suffix }

// Stream names.
func (t Topology) EventsStream() string     { return t.name("EVENTS") }
func (t Topology) CommandsStream() string   { return t.name("COMMANDS") }
func (t Topology) WebhooksStream() string   { return t.name("WEBHOOKS") }
func (t Topology) OutcomesStream() string   { return t.name("OUTCOMES") }
func (t Topology) DLQStream() string        { return t.name("DLQ") }
func (t Topology) AdvisoriesStream() string { return t.name("ADVISORIES") }
func (t Topology) AuditStream() string      { return t.name("AUDIT") }

// Bucket names.
func (t Topology) BudgetBucket() string     { return t.name("BUDGET") }     // shared API budget
func (t Topology) BreakerBucket() string    { return t.name("BREAKER") }    // breaker state per consumer
func (t Topology) FailuresBucket() string   { return t.name("FAILURES") }   // failure history per message
func (t Topology) MilestonesBucket() string { return t.name("MILESTONES") } // milestone cache per transaction
func (t Topology) LedgerBucket() string     { return t.name("LEDGER") }     // request_id → creation state
func (t Topology) TrackingBucket() string   { return t.name("TRACKING") }   // polled properties and snapshots
func (t Topology) ReplayJobsBucket() string { return t.name("REPLAYJOBS") } // dead-letter replay jobs and their progress
func (t Topology) ImportsBucket() string    { return t.name("IMPORTS") }    // files omq import queued, row by row
func (t Topology) SessionsBucket() string   { return t.name("SESSIONS") }   // console logins, by the SHA-256 of their id

// EventSubject is the subject of an upstream event of the given type.
func (t Topology) EventSubject(eventType string) string {
	return t.Prefix + ".events." + eventType
}

// CreatePropertySubject is the subject of property creations published one
// at a time (the live lane): a single CreateProperty, one item of ingest.
func (t Topology) CreatePropertySubject() string { return t.Prefix + ".commands.create_property" }

// BulkCreatePropertySubject is the subject of property creations queued in
// bulk (the bulk lane): omq import, ingest arrays, a publisher
// WithLane(events.LaneBulk). It has a consumer of its own (properties-bulk),
// so that a bulk lane the API budget turns away holds only that consumer
// while live creations go on; its last token is the same message type,
// create_property, and it lies inside the COMMANDS stream's subjects.
func (t Topology) BulkCreatePropertySubject() string {
	return t.Prefix + ".commands.bulk.create_property"
}

// WebhookSubject is the subject of a verified webhook of the given event
// ("property.milestone.updated" becomes "…webhooks.property.milestone.updated").
func (t Topology) WebhookSubject(event string) string { return t.Prefix + ".webhooks." + event }

// OutcomeSubject is the subject of an outcome kind such as
// "milestone_completed" or "alert.overdue".
func (t Topology) OutcomeSubject(kind string) string { return t.Prefix + ".outcomes." + kind }

// DLQSubject is the dead-letter subject for a message first published on
// original.
func (t Topology) DLQSubject(original string) string { return t.Prefix + ".dlq." + original }

// AuditSubject is the subject of an operator action of the given kind
// ("breaker.probe", "dlq.replay") in the audit trail.
func (t Topology) AuditSubject(kind string) string { return t.Prefix + ".audit." + kind }

// MaxDeliveriesAdvisory is the advisory subject for stream's consumers.
func MaxDeliveriesAdvisory(stream string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + stream + ".*"
}

// MessageRef names one stored message across streams: "<stream>:<seq>".
// It is persisted — the Nats-Msg-Id of a dead letter, the owner of a ledger
// entry, the idempotency key of a message that has no id — so its form must
// never change.
func MessageRef(stream string, seq uint64) string {
	return stream + ":" + strconv.FormatUint(seq, 10)
}

// MessageKey is MessageRef as a KV key, "<stream>.<seq>": a KV key cannot
// hold ':'. It is persisted (the FAILURES bucket), so its form must never
// change either.
func MessageKey(stream string, seq uint64) string {
	return stream + "." + strconv.FormatUint(seq, 10)
}

// WorkStreams are the streams that workers consume and whose exhausted
// messages the advisory mover rescues.
func (t Topology) WorkStreams() []string {
	return []string{t.EventsStream(), t.CommandsStream(), t.WebhooksStream()}
}

const day = 24 * time.Hour

func (t Topology) storage() jetstream.StorageType {
	if t.Memory {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// Streams returns the desired configuration of every stream.
func (t Topology) Streams() []jetstream.StreamConfig {
	p := t.Prefix
	advisories := make([]string, 0, 3)
	for _, s := range t.WorkStreams() {
		advisories = append(advisories, MaxDeliveriesAdvisory(s))
	}
	return []jetstream.StreamConfig{
		{
			Name: t.EventsStream(), Description: "facts from upstream systems, consumed by the milestone worker",
			Subjects: []string{p + ".events.>"}, Retention: jetstream.WorkQueuePolicy,
			Duplicates: 2 * time.Minute, Storage: t.storage(), Replicas: t.Replicas,
			MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardOld,
		},
		{
			Name: t.CommandsStream(), Description: "queued property creations, consumed by the property worker",
			Subjects: []string{p + ".commands.>"}, Retention: jetstream.WorkQueuePolicy,
			Duplicates: 2 * time.Minute, Storage: t.storage(), Replicas: t.Replicas,
			MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardOld,
		},
		{
			// 30 min of dedupe covers OpenMoove's retries at 10 s, 100 s and 1000 s.
			Name: t.WebhooksStream(), Description: "verified webhooks from OpenMoove",
			Subjects: []string{p + ".webhooks.>"}, Retention: jetstream.LimitsPolicy, MaxAge: 7 * day,
			Duplicates: 30 * time.Minute, Storage: t.storage(), Replicas: t.Replicas,
			MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardOld,
		},
		{
			Name: t.OutcomesStream(), Description: "what the workers did, for CRMs and alerting",
			Subjects: []string{p + ".outcomes.>"}, Retention: jetstream.LimitsPolicy, MaxAge: 30 * day,
			Duplicates: 2 * time.Minute, Storage: t.storage(), Replicas: t.Replicas,
			MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardOld,
		},
		{
			// Discard new: a full DLQ refuses new dead letters (the worker then
			// retries them) instead of silently dropping old ones. The
			// duplicate window covers a worker crash between the DLQ publish
			// and the Term, and the advisory mover racing the worker.
			Name: t.DLQStream(), Description: "dead letters, kept for operators to inspect and replay",
			Subjects: []string{p + ".dlq.>"}, Retention: jetstream.LimitsPolicy, MaxAge: 30 * day,
			Duplicates: time.Hour, Storage: t.storage(), Replicas: t.Replicas,
			MaxMsgs: -1, MaxBytes: t.DLQMaxBytes, Discard: jetstream.DiscardNew,
		},
		{
			// Advisories nobody hears are lost, so they are captured here for
			// the mover, which is the backstop of the dead-letter path.
			Name: t.AdvisoriesStream(), Description: "MAX_DELIVERIES advisories of omq's consumers, for the dead-letter mover",
			Subjects: advisories, Retention: jetstream.WorkQueuePolicy, MaxAge: 30 * day,
			Duplicates: 2 * time.Minute, Storage: t.storage(), Replicas: t.Replicas,
			MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardOld,
		},
		{
			// Who did what from the console: kept a year, since an audit
			// is read long after the action; small (a few hundred bytes
			// an action), so no byte cap.
			Name: t.AuditStream(), Description: "operator actions taken in the console, for the audit trail",
			Subjects: []string{p + ".audit.>"}, Retention: jetstream.LimitsPolicy, MaxAge: 365 * day,
			Duplicates: 2 * time.Minute, Storage: t.storage(), Replicas: t.Replicas,
			MaxMsgs: -1, MaxBytes: -1, Discard: jetstream.DiscardOld,
		},
	}
}

// Buckets returns the desired configuration of every key-value bucket.
func (t Topology) Buckets() []jetstream.KeyValueConfig {
	kv := func(name, desc string, ttl time.Duration, history uint8) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{Bucket: name, Description: desc, TTL: ttl, History: history,
			Storage: t.storage(), Replicas: t.Replicas}
	}
	return []jetstream.KeyValueConfig{
		kv(t.BudgetBucket(), "shared OpenMoove API budget of every replica", 0, 1),
		kv(t.BreakerBucket(), "breaker state per consumer", 0, 1),
		kv(t.FailuresBucket(), "failure history per message, for the exhausted rule", 30*day, 1),
		kv(t.MilestonesBucket(), "milestones per transaction, cached to save API calls", 0, 1),
		kv(t.LedgerBucket(), "property creations by request_id: pending or created", 0, 1),
		kv(t.TrackingBucket(), "properties the poller follows, with their last snapshot", 0, 1),
		kv(t.ReplayJobsBucket(), "dead-letter replay jobs: filter, count, progress, cancelled", 30*day, 1),
		kv(t.ImportsBucket(), "files omq import queued: who, when, and each row's line and request_id", 0, 1),
		t.sessionsBucket(kv),
	}
}

// SessionMarkerTTL is how long the SESSIONS bucket keeps the marker a
// session's expiry or logout leaves: long enough for a watcher to see it,
// short enough that logins leave nothing behind.
const SessionMarkerTTL = time.Minute

// sessionsBucket has no TTL of its own: each console login is written with
// a per-key TTL (nats-server 2.11+) from --console-session-ttl, a setting
// the console has and omq streams apply may not, so the bucket's settings
// do not depend on it.
func (t Topology) sessionsBucket(kv func(string, string, time.Duration, uint8) jetstream.KeyValueConfig) jetstream.KeyValueConfig {
	c := kv(t.SessionsBucket(), "console logins by the SHA-256 of their id: user, role, CSRF token, times; each key expires with its session", 0, 1)
	c.LimitMarkerTTL = SessionMarkerTTL
	return c
}
