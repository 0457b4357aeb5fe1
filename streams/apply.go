package streams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Change is one setting Apply corrected.
type Change struct {
	Setting  string
	Was, Now string
}

// Result says what Apply did to one stream or bucket.
type Result struct {
	Name    string
	Action  string // "created", "updated" or "unchanged"
	Changes []Change
	// Kept are settings Apply would have lowered but kept: a replica count
	// above Topology.Replicas when LowerReplicas is false (Was is what the
	// stream keeps, Now what was asked).
	Kept []Change
}

// ImmutableError is a setting that differs from the desired one and cannot
// be changed in place.
type ImmutableError struct {
	Stream  string
	Setting string
	Have    string
	Want    string
}

func (e *ImmutableError) Error() string {
	return fmt.Sprintf("stream %s has %s %s but omq needs %s, which cannot be changed in place: drain it, back it up (nats stream backup %s), delete it (nats stream rm %s) and run omq streams apply again",
		e.Stream, e.Setting, e.Have, e.Want, e.Stream, e.Stream)
}

// Apply creates or updates every stream and bucket of t. It goes on past a
// stream it cannot fix and returns every problem joined.
func Apply(ctx context.Context, js jetstream.JetStream, t Topology, log *slog.Logger) ([]Result, error) {
	t = t.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var results []Result
	var errs []error
	for _, want := range t.Streams() {
		r, err := applyStream(ctx, js, t, want)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		logResult(log, "stream", r)
		results = append(results, r)
	}
	for _, want := range t.Buckets() {
		r, err := applyBucket(ctx, js, t, want)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		logResult(log, "bucket", r)
		results = append(results, r)
	}
	return results, errors.Join(errs...)
}

func logResult(log *slog.Logger, what string, r Result) {
	for _, c := range r.Kept {
		log.Info(what+" keeps its higher "+c.Setting+"; omq never lowers them by itself", what, r.Name, "has", c.Was, "asked", c.Now,
			"hint", "omq streams apply --replicas "+c.Now+" --lower-replicas lowers them")
	}
	switch r.Action {
	case "created":
		log.Info(what+" created", what, r.Name)
	case "updated":
		for _, c := range r.Changes {
			log.Warn(what+" setting drifted; corrected", what, r.Name, "setting", c.Setting, "was", c.Was, "now", c.Now)
		}
	}
}

func applyStream(ctx context.Context, js jetstream.JetStream, t Topology, want jetstream.StreamConfig) (Result, error) {
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := js.CreateStream(ctx, want); err != nil {
			return Result{}, fmt.Errorf("create stream %s: %w", want.Name, err)
		}
		return Result{Name: want.Name, Action: "created"}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("stream %s: %w", want.Name, err)
	}
	have := s.CachedInfo().Config
	var kept []Change
	want.Replicas, kept = t.replicas(have.Replicas)
	if have.Storage != want.Storage {
		return Result{}, &ImmutableError{Stream: want.Name, Setting: "storage", Have: have.Storage.String(), Want: want.Storage.String()}
	}
	if have.Retention != want.Retention {
		return Result{}, &ImmutableError{Stream: want.Name, Setting: "retention", Have: have.Retention.String(), Want: want.Retention.String()}
	}
	changes := diffStream(have, want)
	if len(changes) == 0 {
		return Result{Name: want.Name, Action: "unchanged", Kept: kept}, nil
	}
	// Keep settings omq does not manage (placement, metadata, …) as an
	// operator set them.
	next := have
	next.Description = want.Description
	next.Subjects = want.Subjects
	next.MaxAge = want.MaxAge
	next.MaxBytes = want.MaxBytes
	next.MaxMsgs = want.MaxMsgs
	next.Discard = want.Discard
	next.Duplicates = want.Duplicates
	next.Replicas = want.Replicas
	if _, err := js.UpdateStream(ctx, next); err != nil {
		return Result{}, fmt.Errorf("update stream %s (%s): %w", want.Name, describe(changes), err)
	}
	return Result{Name: want.Name, Action: "updated", Changes: changes, Kept: kept}, nil
}

// replicas is the replica count an existing stream or bucket that has have
// ends up with: t.Replicas, unless that lowers it and t.LowerReplicas is
// false. Lowering durability on a cluster because a flag was left at its
// default (omq run without --replicas 3) is never what an operator meant.
func (t Topology) replicas(have int) (int, []Change) {
	if have > t.Replicas && !t.LowerReplicas {
		return have, []Change{{Setting: "replicas", Was: fmt.Sprint(have), Now: fmt.Sprint(t.Replicas)}}
	}
	return t.Replicas, nil
}

func diffStream(have, want jetstream.StreamConfig) []Change {
	var out []Change
	add := func(name string, h, w any) {
		if fmt.Sprint(h) != fmt.Sprint(w) {
			out = append(out, Change{Setting: name, Was: fmt.Sprint(h), Now: fmt.Sprint(w)})
		}
	}
	hs, ws := slices.Clone(have.Subjects), slices.Clone(want.Subjects)
	slices.Sort(hs)
	slices.Sort(ws)
	add("subjects", strings.Join(hs, ","), strings.Join(ws, ","))
	add("description", have.Description, want.Description)
	add("max_age", have.MaxAge, want.MaxAge)
	add("max_bytes", have.MaxBytes, want.MaxBytes)
	add("max_msgs", have.MaxMsgs, want.MaxMsgs)
	add("discard", have.Discard, want.Discard)
	add("duplicate_window", have.Duplicates, want.Duplicates)
	add("replicas", have.Replicas, want.Replicas)
	return out
}

func describe(cs []Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%s %s→%s", c.Setting, c.Was, c.Now)
	}
	return strings.Join(parts, ", ")
}

func applyBucket(ctx context.Context, js jetstream.JetStream, t Topology, want jetstream.KeyValueConfig) (Result, error) {
	kv, err := js.KeyValue(ctx, want.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		if _, err := js.CreateKeyValue(ctx, want); err != nil {
			return Result{}, fmt.Errorf("create bucket %s: %w", want.Bucket, err)
		}
		return Result{Name: want.Bucket, Action: "created"}, nil
	}
	if err != nil {
		return Result{}, fmt.Errorf("bucket %s: %w", want.Bucket, err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("bucket %s: %w", want.Bucket, err)
	}
	info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
	var kept []Change
	want.Replicas, kept = t.replicas(info.Config.Replicas)
	var changes []Change
	add := func(name string, h, w any) {
		if fmt.Sprint(h) != fmt.Sprint(w) {
			changes = append(changes, Change{Setting: name, Was: fmt.Sprint(h), Now: fmt.Sprint(w)})
		}
	}
	add("ttl", st.TTL(), want.TTL)
	add("limit_marker_ttl", st.LimitMarkerTTL(), want.LimitMarkerTTL)
	add("history", st.History(), int64(max(want.History, 1)))
	add("description", info.Config.Description, want.Description)
	add("replicas", info.Config.Replicas, want.Replicas)
	if len(changes) == 0 {
		return Result{Name: want.Bucket, Action: "unchanged", Kept: kept}, nil
	}
	if _, err := js.UpdateKeyValue(ctx, want); err != nil {
		return Result{}, fmt.Errorf("update bucket %s (%s): %w", want.Bucket, describe(changes), err)
	}
	return Result{Name: want.Bucket, Action: "updated", Changes: changes, Kept: kept}, nil
}

// Missing returns the names of the streams of t that do not exist, for
// readiness checks.
func Missing(ctx context.Context, js jetstream.JetStream, t Topology) ([]string, error) {
	var missing []string
	for _, s := range t.WithDefaults().Streams() {
		_, err := js.Stream(ctx, s.Name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			missing = append(missing, s.Name)
			continue
		}
		if err != nil {
			return nil, err
		}
	}
	return missing, nil
}
