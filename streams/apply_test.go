package streams_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func actions(rs []streams.Result) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		m[r.Name] = r.Action
	}
	return m
}

func TestApplyTwiceIsNoop(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	top := streams.New("openmoove")
	first, err := streams.Apply(ctx(t), s.JS, top, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range actions(first) {
		if a != "created" {
			t.Errorf("first apply: %s %s, want created", name, a)
		}
	}
	for _, want := range []string{"OPENMOOVE_EVENTS", "OPENMOOVE_COMMANDS", "OPENMOOVE_WEBHOOKS", "OPENMOOVE_OUTCOMES", "OPENMOOVE_DLQ", "OPENMOOVE_ADVISORIES", "OPENMOOVE_LEDGER"} {
		if _, ok := actions(first)[want]; !ok {
			t.Errorf("apply did not create %s", want)
		}
	}
	second, err := streams.Apply(ctx(t), s.JS, top, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, a := range actions(second) {
		if a != "unchanged" {
			t.Errorf("second apply: %s %s, want unchanged", name, a)
		}
	}
}

func TestApplyCorrectsDrift(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	top := streams.New("openmoove")
	if _, err := streams.Apply(ctx(t), s.JS, top, nil); err != nil {
		t.Fatal(err)
	}
	st, err := s.JS.Stream(ctx(t), "OPENMOOVE_WEBHOOKS")
	if err != nil {
		t.Fatal(err)
	}
	drifted := st.CachedInfo().Config
	drifted.Duplicates = time.Minute
	drifted.MaxAge = time.Hour
	if _, err := s.JS.UpdateStream(ctx(t), drifted); err != nil {
		t.Fatal(err)
	}
	rs, err := streams.Apply(ctx(t), s.JS, top, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []streams.Change
	for _, r := range rs {
		if r.Name == "OPENMOOVE_WEBHOOKS" {
			if r.Action != "updated" {
				t.Fatalf("action %s, want updated", r.Action)
			}
			got = r.Changes
		}
	}
	if len(got) != 2 {
		t.Fatalf("changes %+v, want max_age and duplicate_window", got)
	}
	info, err := s.JS.Stream(ctx(t), "OPENMOOVE_WEBHOOKS")
	if err != nil {
		t.Fatal(err)
	}
	if c := info.CachedInfo().Config; c.Duplicates != 30*time.Minute || c.MaxAge != 7*24*time.Hour {
		t.Fatalf("not corrected: dup %s age %s", c.Duplicates, c.MaxAge)
	}
}

func TestApplyReportsImmutableSetting(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	if _, err := s.JS.CreateStream(ctx(t), jetstream.StreamConfig{Name: "OPENMOOVE_EVENTS", Subjects: []string{"openmoove.events.>"}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	rs, err := streams.Apply(ctx(t), s.JS, streams.New("openmoove"), nil)
	var ie *streams.ImmutableError
	if !errors.As(err, &ie) || ie.Stream != "OPENMOOVE_EVENTS" || ie.Setting != "storage" {
		t.Fatalf("err = %v, want an ImmutableError for the storage of OPENMOOVE_EVENTS", err)
	}
	// The other streams are still provisioned.
	if a := actions(rs)["OPENMOOVE_DLQ"]; a != "created" {
		t.Fatalf("DLQ %q, want created despite the other stream's problem", a)
	}
}

func TestMissing(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	top := streams.New("openmoove")
	missing, err := streams.Missing(ctx(t), s.JS, top)
	if err != nil || len(missing) != len(top.Streams()) {
		t.Fatalf("missing = %v, %v; want every stream", missing, err)
	}
	if _, err := streams.Apply(ctx(t), s.JS, top, nil); err != nil {
		t.Fatal(err)
	}
	if missing, err := streams.Missing(ctx(t), s.JS, top); err != nil || len(missing) != 0 {
		t.Fatalf("missing after apply = %v, %v", missing, err)
	}
}

func TestApplyOnClusterWithReplicas(t *testing.T) {
	t.Parallel()
	c := natstest.StartCluster(t)
	js, err := jetstream.New(c.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	top := streams.Topology{Prefix: "openmoove", Replicas: 3}
	// Apply creates every stream and bucket (fifteen, each R3) one after
	// another, and each is a new Raft group the three servers elect a
	// leader for: seconds each on a loaded 2-core machine, so the 20 s of
	// ctx(t) ran out once. Two minutes is the bound of the work, not of a
	// speed; a real hang still fails.
	applyCtx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if _, err := streams.Apply(applyCtx, js, top, nil); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx(t), "OPENMOOVE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	if r := st.CachedInfo().Config.Replicas; r != 3 {
		t.Fatalf("replicas %d, want 3", r)
	}
}

func TestMemoryTopology(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	top := streams.Topology{Prefix: "openmoove", Memory: true}
	if _, err := streams.Apply(ctx(t), s.JS, top, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"OPENMOOVE_EVENTS", "KV_OPENMOOVE_LEDGER"} {
		st, err := s.JS.Stream(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.Storage; got != jetstream.MemoryStorage {
			t.Fatalf("%s storage %s, want memory", name, got)
		}
	}
}

// omq run on a cluster without --replicas 3 used to turn every R3 stream
// and bucket back into R1 ("drifted; corrected"): a higher count is kept
// unless lowering is asked for.
func TestApplyNeverLowersReplicasUnlessAsked(t *testing.T) {
	t.Parallel()
	c := natstest.StartCluster(t)
	js, err := jetstream.New(c.Connect(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := streams.Apply(ctx(t), js, streams.Topology{Prefix: "openmoove", Replicas: 3}, nil); err != nil {
		t.Fatal(err)
	}
	replicas := func(name string) int {
		t.Helper()
		s, err := js.Stream(ctx(t), name)
		if err != nil {
			t.Fatal(err)
		}
		return s.CachedInfo().Config.Replicas
	}
	rs, err := streams.Apply(ctx(t), js, streams.New("openmoove"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Action != "unchanged" || len(r.Kept) != 1 || r.Kept[0].Was != "3" || r.Kept[0].Now != "1" {
			t.Errorf("%s: action %s kept %+v, want unchanged and replicas 3 kept over 1", r.Name, r.Action, r.Kept)
		}
	}
	for _, name := range []string{"OPENMOOVE_EVENTS", "KV_OPENMOOVE_LEDGER"} {
		if r := replicas(name); r != 3 {
			t.Fatalf("%s replicas %d after an apply with the default, want 3 kept", name, r)
		}
	}
	if _, err := streams.Apply(ctx(t), js, streams.Topology{Prefix: "openmoove", Replicas: 1, LowerReplicas: true}, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"OPENMOOVE_EVENTS", "KV_OPENMOOVE_LEDGER"} {
		if r := replicas(name); r != 1 {
			t.Fatalf("%s replicas %d after an apply that lowers, want 1", name, r)
		}
	}
}

// The console keeps its logins in SESSIONS with a TTL per key (its
// --console-session-ttl, which omq streams apply does not know), so the
// bucket must allow one; a bucket made without it is corrected in place.
func TestSessionsBucketTakesAPerKeyTTL(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	top := streams.New("openmoove")
	if _, err := s.JS.CreateKeyValue(ctx(t), jetstream.KeyValueConfig{Bucket: top.SessionsBucket(), Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	rs, err := streams.Apply(ctx(t), s.JS, top, nil)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, r := range rs {
		if r.Name == top.SessionsBucket() {
			for _, c := range r.Changes {
				changed = append(changed, c.Setting)
			}
		}
	}
	if !slices.Contains(changed, "limit_marker_ttl") {
		t.Fatalf("SESSIONS changes %v, want limit_marker_ttl corrected", changed)
	}
	kv, err := s.JS.KeyValue(ctx(t), top.SessionsBucket())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx(t), "k", []byte("v"), jetstream.KeyTTL(time.Hour)); err != nil {
		t.Fatalf("SESSIONS refused a per-key TTL: %v", err)
	}
	rs, err = streams.Apply(ctx(t), s.JS, top, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(rs)[top.SessionsBucket()]; a != "unchanged" {
		t.Fatalf("SESSIONS %s on a second apply, want unchanged", a)
	}
}
