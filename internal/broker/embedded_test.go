package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRestartKeepsMessages(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	s := natstest.Start(t, natstest.Dir(dir))
	if _, err := s.JS.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.JS.Publish(ctx, "s.x", []byte("kept")); err != nil {
			t.Fatal(err)
		}
	}
	s.Stop(t)

	again := natstest.Start(t, natstest.Dir(dir))
	st, err := again.JS.Stream(ctx, "S")
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 3 {
		t.Fatalf("after restart %d messages, want 3", n)
	}
}

func TestListenServesOtherProcesses(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t, natstest.Listen())
	if s.URL == "" {
		t.Fatal("no client URL with Listen")
	}
	nc, err := natsConnect(s.URL, s.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}
