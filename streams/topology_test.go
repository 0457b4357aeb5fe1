package streams_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

// TestMessageNames pins both persisted forms of a message's name, and shows
// why there are two: a KV bucket refuses the ':' of MessageRef.
func TestMessageNames(t *testing.T) {
	t.Parallel()
	if got := streams.MessageRef("OPENMOOVE_EVENTS", 42); got != "OPENMOOVE_EVENTS:42" {
		t.Errorf("MessageRef = %q, want OPENMOOVE_EVENTS:42 (stored in dead letters and the ledger)", got)
	}
	if got := streams.MessageKey("OPENMOOVE_EVENTS", 42); got != "OPENMOOVE_EVENTS.42" {
		t.Errorf("MessageKey = %q, want OPENMOOVE_EVENTS.42 (stored in the FAILURES bucket)", got)
	}
	s := natstest.Start(t)
	kv, err := s.JS.CreateKeyValue(ctx(t), jetstream.KeyValueConfig{Bucket: "NAMES", Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx(t), streams.MessageKey("OPENMOOVE_EVENTS", 42), nil); err != nil {
		t.Errorf("a KV bucket refused MessageKey: %v", err)
	}
	if _, err := kv.Put(ctx(t), streams.MessageRef("OPENMOOVE_EVENTS", 42), nil); err == nil {
		t.Error("a KV bucket took MessageRef; MessageKey may no longer be needed")
	}
}

// Bulk creations have a subject of their own inside the COMMANDS stream,
// apart from the live one (a consumer filtered on one never sees the
// other), with the same message type as its last token.
func TestBulkCreatePropertySubject(t *testing.T) {
	t.Parallel()
	top := streams.New("acme")
	if got := top.BulkCreatePropertySubject(); got != "acme.commands.bulk.create_property" {
		t.Errorf("BulkCreatePropertySubject = %q, want acme.commands.bulk.create_property", got)
	}
	s := natstest.Start(t)
	if _, err := streams.Apply(ctx(t), s.JS, top, nil); err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{top.CreatePropertySubject(), top.BulkCreatePropertySubject()} {
		ack, err := s.JS.Publish(ctx(t), subj, []byte(`{}`))
		if err != nil {
			t.Fatalf("publish to %s: %v", subj, err)
		}
		if ack.Stream != top.CommandsStream() {
			t.Errorf("%s stored in %s, want %s", subj, ack.Stream, top.CommandsStream())
		}
	}
}
