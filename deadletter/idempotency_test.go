package deadletter

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/events"
)

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, original, msgID, want string
	}{
		{"a replay's original id wins as it is", "ev-1", "ev-1:replay:4", "ev-1"},
		{"the message's own id", "", "ev-1", "ev-1"},
		{"a replay id without the header loses its suffix", "", "ev-1:replay:4", "ev-1"},
		{"no id at all: where it is stored", "", "", "OPENMOOVE_EVENTS:42"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, IdempotencyKey(c.original, c.msgID, "OPENMOOVE_EVENTS", 42), c.name)
	}
}

// TestIdempotencyKeySurvivesReplays follows a message through two rounds of
// dead-lettering and replay: the API must see one key throughout, or a
// replay would act twice.
func TestIdempotencyKeySurvivesReplays(t *testing.T) {
	t.Parallel()
	for _, first := range []nats.Header{
		{jetstream.MsgIDHeader: []string{"ev-1"}},
		{}, // published without an id: the key is where it was stored
	} {
		h, seq := first, uint64(42)
		want := keyOf(h, seq)
		for round := uint64(1); round <= 2; round++ {
			f := Failed{Subject: "openmoove.events.offer_accepted", Header: h, Stream: "OPENMOOVE_EVENTS", Seq: seq, Kind: "permanent"}
			l := newLetter(round, "openmoove.dlq."+f.Subject, f.Headers(), nil, time.Now())
			require.Equal(t, want, l.IdempotencyKey(), "letter of round %d", round)
			msg, err := ReplayMsg(&l, []byte("{}"))
			require.NoError(t, err)
			require.Equal(t, string(events.LaneReplay), msg.Header.Get(events.HeaderLane), "a replay takes the replay lane")
			h, seq = msg.Header, seq+100 // the replay is stored anew
			require.Equal(t, want, keyOf(h, seq), "replay of round %d", round)
		}
	}
}

func keyOf(h nats.Header, seq uint64) string {
	return IdempotencyKey(h.Get(HeaderOriginalMsgID), h.Get(jetstream.MsgIDHeader), "OPENMOOVE_EVENTS", seq)
}

// A dead letter in JSON (export, list --json) keeps its error as written:
// API answers and placeholders carry < and >.
func TestLetterJSONIsNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	l := Letter{ID: 1, Error: "send Authorization: Bearer <token> & retry", Data: []byte(`{"note":"<b>"}`)}
	b, err := l.MarshalJSON()
	require.NoError(t, err)
	for _, want := range []string{"Bearer <token> & retry", `"data":{"note":"<b>"}`} {
		require.Contains(t, string(b), want)
	}
}
