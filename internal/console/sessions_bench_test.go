package console

import (
	"testing"
	"time"

	"github.com/openmoove/omq/internal/testkit"
)

// BenchmarkSessionLookup is what the SESSIONS bucket costs every console
// request: one KV read of the session and its decoding, on the embedded
// server in process (a networked NATS adds its round trip).
func BenchmarkSessionLookup(b *testing.B) {
	srv, top := testkit.JetStream(b)
	ss := newSessions(srv.JS, top, time.Now, time.Hour)
	s, err := ss.create(b.Context(), User{Name: "alice", Role: Operator}, viaUsers, func(string) string { return "seal" })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ss.get(b.Context(), s.id); err != nil {
			b.Fatal(err)
		}
	}
}
