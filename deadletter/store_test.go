package deadletter_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type bundle struct {
	s     *natstest.Server
	top   streams.Topology
	store *deadletter.Store
	ctx   context.Context
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	s := natstest.Start(t)
	top := streams.Topology{Prefix: "openmoove", DLQMaxBytes: 1 << 20}.WithDefaults()
	if _, err := streams.Apply(ctx, s.JS, top, nil); err != nil {
		t.Fatal(err)
	}
	return &bundle{s: s, top: top, store: deadletter.NewStore(s.JS, top), ctx: ctx}
}

// failed is a realistic dead letter on the subject of an event type.
func (b *bundle) failed(seq uint64, eventType, kind, errText string) deadletter.Failed {
	subj := b.top.EventSubject(eventType)
	body := `{"id":"ev-` + eventType + `","type":"` + eventType + `","transaction_id":"T-1"}`
	return deadletter.Failed{
		Subject: subj, Data: []byte(body),
		Header: nats.Header{jetstream.MsgIDHeader: {"ev-" + eventType + "-" + itoa(seq)}, "Omq-Source": {"crm"}},
		Stream: b.top.EventsStream(), Seq: seq, Deliveries: 3, Kind: kind, Error: errText,
		History: []deadletter.ErrorRecord{
			{At: "2025-06-01T01:00:00Z", Kind: "transient", Error: "openmoove: POST /clients/: 503 Service Unavailable", Delivery: 1},
			{At: "2025-06-01T01:00:05Z", Kind: kind, Error: errText, Delivery: 3},
		},
		Worker: "milestones",
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func (b *bundle) write(t *testing.T, f deadletter.Failed) uint64 {
	t.Helper()
	ack, err := deadletter.Write(b.ctx, b.s.JS, b.top, f)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func (b *bundle) streamMsgs(t *testing.T, name string) uint64 {
	t.Helper()
	st, err := b.s.JS.Stream(b.ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func ids(ls []deadletter.Letter) []uint64 {
	out := make([]uint64, len(ls))
	for i, l := range ls {
		out[i] = l.ID
	}
	return out
}

func TestGetReadsEveryHeader(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.failed(7, "offer_accepted", "permanent", "openmoove: PATCH /milestones/9/: 400 Bad Request: status: Invalid status")
	f.FailedAt = time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC)
	id := b.write(t, f)

	l, err := b.store.Get(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.ID != id || l.OriginalSubject != "openmoove.events.offer_accepted" || l.OriginalStream != "OPENMOOVE_EVENTS" ||
		l.OriginalSeq != 7 || l.OriginalMsgID != "ev-offer_accepted-7" || l.Deliveries != 3 || l.Kind != "permanent" ||
		l.Worker != "milestones" || !l.FailedAt.Equal(f.FailedAt) || len(l.Errors) != 2 || l.Errors[1].Delivery != 3 ||
		l.Subject != "openmoove.dlq.openmoove.events.offer_accepted" || string(l.Data) != string(f.Data) {
		t.Fatalf("letter %+v", l)
	}
	if _, err := b.store.Get(b.ctx, id+100); !errors.Is(err, deadletter.ErrNotFound) {
		t.Fatalf("Get of a missing id: %v, want ErrNotFound", err)
	}
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now().UTC().Truncate(time.Second)
	old := b.failed(1, "offer_accepted", "permanent", "400 Bad Request: phone_number: Invalid phone number format")
	old.FailedAt = now.Add(-3 * time.Hour)
	idOld := b.write(t, old)
	idExh := b.write(t, b.failed(2, "offer_accepted", deadletter.KindExhausted, "openmoove: 503 Service Unavailable"))
	idLegal := b.write(t, b.failed(3, "legal_pack_completed", "permanent", "milestone not found"))
	cmd := b.failed(4, "x", "permanent", "400 Bad Request: email: Enter a valid email address")
	cmd.Subject = b.top.CreatePropertySubject()
	cmd.Stream = b.top.CommandsStream()
	idCmd := b.write(t, cmd)

	tests := []struct {
		name string
		f    deadletter.Filter
		want []uint64
	}{
		{"all", deadletter.Filter{}, []uint64{idOld, idExh, idLegal, idCmd}},
		{"subject exact", deadletter.Filter{Subject: "openmoove.events.offer_accepted"}, []uint64{idOld, idExh}},
		{"subject star", deadletter.Filter{Subject: "openmoove.events.*"}, []uint64{idOld, idExh, idLegal}},
		{"subject gt", deadletter.Filter{Subject: "openmoove.commands.>"}, []uint64{idCmd}},
		{"leading wildcard", deadletter.Filter{Subject: "*.events.legal_pack_completed"}, []uint64{idLegal}},
		{"kind", deadletter.Filter{Kinds: []string{"exhausted"}}, []uint64{idExh}},
		{"kinds", deadletter.Filter{Kinds: []string{"exhausted", "permanent"}}, []uint64{idOld, idExh, idLegal, idCmd}},
		{"error text, any case", deadletter.Filter{Error: "PHONE_number"}, []uint64{idOld}},
		{"error history", deadletter.Filter{Error: "503"}, []uint64{idOld, idExh, idLegal, idCmd}},
		{"since", deadletter.Filter{Since: now.Add(-time.Hour)}, []uint64{idExh, idLegal, idCmd}},
		{"until", deadletter.Filter{Until: now.Add(-time.Hour)}, []uint64{idOld}},
		{"ids", deadletter.Filter{IDs: []uint64{idCmd, idOld, 999}}, []uint64{idOld, idCmd}},
		{"ids and kind", deadletter.Filter{IDs: []uint64{idOld, idExh}, Kinds: []string{"exhausted"}}, []uint64{idExh}},
		{"limit", deadletter.Filter{Limit: 2}, []uint64{idOld, idExh}},
		{"nothing", deadletter.Filter{Subject: "openmoove.webhooks.>"}, nil},
		{"subject and error", deadletter.Filter{Subject: "openmoove.events.*", Error: "not found"}, []uint64{idLegal}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls, err := b.store.List(b.ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(ls); !slices.Equal(got, tt.want) {
				t.Fatalf("ids %v, want %v", got, tt.want)
			}
		})
	}
}

func TestListChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 600 { // more than one fetch batch
		b.write(t, b.failed(uint64(i+1), "offer_accepted", "permanent", "x"))
	}
	ls, err := b.store.List(b.ctx, deadletter.Filter{})
	if err != nil || len(ls) != 600 {
		t.Fatalf("List: %d letters, %v; want 600", len(ls), err)
	}
	st, err := b.s.JS.Stream(b.ctx, b.top.DLQStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 600 || info.State.Consumers != 0 {
		t.Fatalf("after List: %d messages, %d consumers; want 600 and none left behind", info.State.Msgs, info.State.Consumers)
	}
}

func TestFilterValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	now := time.Now()
	tests := []struct {
		f     deadletter.Filter
		field string
	}{
		{deadletter.Filter{Kinds: []string{"fatal"}}, "kind"},
		{deadletter.Filter{Subject: "openmoove..events"}, "subject"},
		{deadletter.Filter{Subject: "openmoove.>.x"}, "subject"},
		{deadletter.Filter{Subject: "openmoove.ev*"}, "subject"},
		{deadletter.Filter{Subject: "events.offer_accepted"}, "subject"}, // no prefix
		{deadletter.Filter{Since: now, Until: now.Add(-time.Hour)}, "until"},
		{deadletter.Filter{IDs: []uint64{0}}, "id"},
		{deadletter.Filter{Limit: -1}, "limit"},
	}
	for _, tt := range tests {
		_, err := b.store.List(b.ctx, tt.f)
		var fe *deadletter.FilterError
		if !errors.As(err, &fe) || fe.Field != tt.field || fe.Want == "" {
			t.Errorf("List(%+v) = %v, want a FilterError on %s", tt.f, err, tt.field)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2025-06-01T02:00:00Z":      time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC),
		"2025-06-01T03:00:00+01:00": time.Date(2025, 6, 1, 2, 0, 0, 0, time.UTC),
		"2025-05-30":                time.Date(2025, 5, 30, 0, 0, 0, 0, time.UTC),
		"2h":                        now.Add(-2 * time.Hour),
		"90m":                       now.Add(-90 * time.Minute),
		"7d":                        now.Add(-7 * 24 * time.Hour),
	} {
		got, err := deadletter.ParseTime("since", in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-2h", "2025-13-01", ""} {
		_, err := deadletter.ParseTime("since", bad, now)
		var fe *deadletter.FilterError
		if !errors.As(err, &fe) || fe.Field != "since" || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("ParseTime(%q) = %v, want a FilterError naming since and RFC 3339", bad, err)
		}
	}
	if id, err := deadletter.ParseID("42"); err != nil || id != 42 {
		t.Errorf("ParseID(42) = %d, %v", id, err)
	}
	for _, bad := range []string{"0", "-1", "abc", "4.2", ""} {
		if _, err := deadletter.ParseID(bad); err == nil || !strings.Contains(err.Error(), "whole number") {
			t.Errorf("ParseID(%q) = %v, want an error saying what an id is", bad, err)
		}
	}
	if ks, err := deadletter.ParseKinds("Permanent, exhausted"); err != nil || !slices.Equal(ks, []string{"permanent", "exhausted"}) {
		t.Errorf("ParseKinds = %v, %v", ks, err)
	}
	if _, err := deadletter.ParseKinds("permanent,fatal"); err == nil || !strings.Contains(err.Error(), `"fatal"`) {
		t.Errorf("ParseKinds(fatal) = %v, want it named", err)
	}
}

// consumeAll reads every message on subject through a durable consumer, as
// a worker would, and acks it: what a worker would process.
func consumeAll(t *testing.T, b *bundle, stream, name string) []jetstream.Msg {
	t.Helper()
	cons, err := b.s.JS.CreateOrUpdateConsumer(b.ctx, stream, jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(100)
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for m := range batch.Messages() {
		if err := m.DoubleAck(b.ctx); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func TestReplayPublishesOnceThenDeletes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.failed(7, "offer_accepted", "permanent", "openmoove: 400")
	f.Header.Set(deadletter.HeaderReplayOf, "3") // it was itself a replay once
	f.Header.Set(jetstream.MsgIDHeader, "ev-1:replay:3")
	id := b.write(t, f)

	r, err := b.store.Replay(b.ctx, id, deadletter.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantID := "ev-1:replay:" + itoa(id)
	if r.Subject != "openmoove.events.offer_accepted" || r.MsgID != wantID || r.Stream != "OPENMOOVE_EVENTS" || r.Seq == 0 || r.Duplicate {
		t.Fatalf("result %+v", r)
	}
	if _, err := b.store.Get(b.ctx, id); !errors.Is(err, deadletter.ErrNotFound) {
		t.Fatalf("the dead letter is still there after the replay: %v", err)
	}

	// The same id again: no dead letter, nothing published.
	if _, err := b.store.Replay(b.ctx, id, deadletter.ReplayOptions{}); !errors.Is(err, deadletter.ErrNotFound) {
		t.Fatalf("second replay: %v, want ErrNotFound", err)
	}
	got := consumeAll(t, b, b.top.EventsStream(), "worker")
	if len(got) != 1 {
		t.Fatalf("the worker got %d messages, want exactly 1", len(got))
	}
	m := got[0]
	h := m.Headers()
	if string(m.Data()) != string(f.Data) || m.Subject() != f.Subject {
		t.Fatalf("replayed %s %s", m.Subject(), m.Data())
	}
	if h.Get(jetstream.MsgIDHeader) != wantID || h.Get(deadletter.HeaderReplayOf) != itoa(id) ||
		h.Get(deadletter.HeaderOriginalMsgID) != "ev-1" || h.Get("Omq-Source") != "crm" {
		t.Fatalf("replay headers %v", h)
	}
	for _, gone := range []string{deadletter.HeaderError, deadletter.HeaderErrors, deadletter.HeaderErrorKind, deadletter.HeaderDeliveries,
		deadletter.HeaderFailedAt, deadletter.HeaderWorker, deadletter.HeaderOriginalSubject, deadletter.HeaderOriginalSeq} {
		if h.Get(gone) != "" {
			t.Errorf("replay carries %s: %q", gone, h.Get(gone))
		}
	}
}

func TestReplayAfterInterruptedReplayIsADuplicate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.failed(9, "offer_accepted", "permanent", "x")
	f.Header = nil // an original without Nats-Msg-Id
	id := b.write(t, f)
	l, err := b.store.Get(b.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// An earlier replay published, then died before deleting the letter.
	msg, err := deadletter.ReplayMsg(&l, l.Data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.JS.PublishMsg(b.ctx, msg); err != nil {
		t.Fatal(err)
	}
	r, err := b.store.Replay(b.ctx, id, deadletter.ReplayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Duplicate || r.MsgID != "OPENMOOVE_EVENTS:9:replay:"+itoa(id) {
		t.Fatalf("result %+v, want a duplicate with the <stream>:<seq> id", r)
	}
	if n := b.streamMsgs(t, b.top.EventsStream()); n != 1 {
		t.Fatalf("%d messages in the events stream, want 1", n)
	}
	if n := b.streamMsgs(t, b.top.DLQStream()); n != 0 {
		t.Fatalf("%d dead letters left, want 0", n)
	}
	got := consumeAll(t, b, b.top.EventsStream(), "worker")
	if len(got) != 1 || got[0].Headers().Get(deadletter.HeaderOriginalMsgID) != "OPENMOOVE_EVENTS:9" {
		t.Fatalf("got %d messages, want 1 keyed OPENMOOVE_EVENTS:9", len(got))
	}
}

func TestReplayDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	id := b.write(t, b.failed(1, "offer_accepted", "permanent", "x"))
	r, err := b.store.Replay(b.ctx, id, deadletter.ReplayOptions{DryRun: true})
	if err != nil || !r.DryRun || r.Subject != "openmoove.events.offer_accepted" || r.Seq != 0 {
		t.Fatalf("dry run %+v, %v", r, err)
	}
	sum, err := b.store.ReplayMany(b.ctx, []uint64{id, 99}, deadletter.ReplayOptions{DryRun: true}, nil)
	if err != nil || sum != (deadletter.Summary{Replayed: 1, Skipped: 1}) {
		t.Fatalf("dry ReplayMany %+v, %v", sum, err)
	}
	if n := b.streamMsgs(t, b.top.EventsStream()); n != 0 {
		t.Fatalf("dry run published %d messages", n)
	}
	if _, err := b.store.Get(b.ctx, id); err != nil {
		t.Fatalf("dry run removed the dead letter: %v", err)
	}
}

func TestReplayEditedBody(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cmd := deadletter.Failed{
		Subject: b.top.CreatePropertySubject(), Stream: b.top.CommandsStream(), Seq: 4, Kind: "permanent",
		Data:  []byte(`{"request_id":"r-1","first_name":"Ann","last_name":"Lee","email":"ann@example.com","phone_number":"07700 900123","property_address":"1 High St","property_postcode":"SW1A 1AA"}`),
		Error: "openmoove: POST /clients/: 400 Bad Request: non_field_errors: At least one professional email must be provided",
	}
	id := b.write(t, cmd)

	// Still missing the professional email: refused, the letter stays.
	_, err := b.store.Replay(b.ctx, id, deadletter.ReplayOptions{Body: cmd.Data})
	var ibe *deadletter.InvalidBodyError
	if !errors.As(err, &ibe) || !strings.Contains(err.Error(), "professional email") {
		t.Fatalf("invalid edit: %v, want an InvalidBodyError naming the professional email", err)
	}
	_, err = b.store.Replay(b.ctx, id, deadletter.ReplayOptions{Body: []byte(`{"first_name": "Ann",`)})
	if !errors.As(err, &ibe) || !strings.Contains(err.Error(), "JSON") {
		t.Fatalf("broken JSON: %v", err)
	}
	if _, err := b.store.Get(b.ctx, id); err != nil {
		t.Fatalf("an invalid edit removed the dead letter: %v", err)
	}
	if n := b.streamMsgs(t, b.top.CommandsStream()); n != 0 {
		t.Fatalf("an invalid edit published %d messages", n)
	}

	fixed := bytes.Replace(cmd.Data, []byte(`"email"`), []byte(`"estate_agent_email":"agent@example.com","email"`), 1)
	if _, err := b.store.Replay(b.ctx, id, deadletter.ReplayOptions{Body: fixed}); err != nil {
		t.Fatal(err)
	}
	got := consumeAll(t, b, b.top.CommandsStream(), "properties")
	if len(got) != 1 || !bytes.Equal(got[0].Data(), fixed) {
		t.Fatalf("got %d messages, want the fixed body once", len(got))
	}
}

func TestReplayManyRateAndSummary(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var want []uint64
	for i := range 5 {
		want = append(want, b.write(t, b.failed(uint64(i+1), "offer_accepted", "permanent", "x")))
	}
	var seen []uint64
	start := time.Now()
	sum, err := b.store.ReplayMany(b.ctx, append(want, 1000), deadletter.ReplayOptions{Rate: 50}, func(r deadletter.ReplayResult, err error) {
		seen = append(seen, r.ID)
	})
	elapsed := time.Since(start)
	if err != nil || sum != (deadletter.Summary{Replayed: 5, Skipped: 1}) {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	if !slices.Equal(seen, append(want, 1000)) {
		t.Fatalf("progress saw %v", seen)
	}
	// Six replays at 50/s with a burst of one: five waits of 20 ms.
	if elapsed < 90*time.Millisecond {
		t.Fatalf("6 replays at 50/s took %s, want at least 100ms", elapsed)
	}
	if n := b.streamMsgs(t, b.top.EventsStream()); n != 5 {
		t.Fatalf("%d replayed, want 5", n)
	}
	if _, err := b.store.ReplayMany(b.ctx, want, deadletter.ReplayOptions{Rate: -1}, nil); err == nil {
		t.Fatal("a negative rate was accepted")
	}
}

func TestReplayNeedsOriginalSubject(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ack, err := b.s.JS.Publish(b.ctx, b.top.DLQSubject("openmoove.events.x"), []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.Replay(b.ctx, ack.Sequence, deadletter.ReplayOptions{}); err == nil || !strings.Contains(err.Error(), deadletter.HeaderOriginalSubject) {
		t.Fatalf("replay without an original subject: %v", err)
	}
	if n := b.streamMsgs(t, b.top.DLQStream()); n != 1 {
		t.Fatalf("the dead letter was removed")
	}
}

func TestPurgeDeletesOnlyMatches(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keep := b.write(t, b.failed(1, "offer_accepted", "permanent", "x"))
	gone1 := b.write(t, b.failed(2, "legal_pack_completed", "permanent", "x"))
	keep2 := b.write(t, b.failed(3, "legal_pack_completed", "exhausted", "x"))
	gone2 := b.write(t, b.failed(4, "legal_pack_completed", "permanent", "x"))

	if _, err := b.store.Purge(b.ctx, deadletter.Filter{}); !errors.Is(err, deadletter.ErrEmptyFilter) {
		t.Fatalf("purge with no filter: %v", err)
	}
	n, err := b.store.Purge(b.ctx, deadletter.Filter{Subject: "openmoove.events.legal_pack_completed", Kinds: []string{"permanent"}})
	if err != nil || n != 2 {
		t.Fatalf("purge: %d, %v; want 2", n, err)
	}
	ls, err := b.store.List(b.ctx, deadletter.Filter{})
	if err != nil || !slices.Equal(ids(ls), []uint64{keep, keep2}) {
		t.Fatalf("left %v, %v; want %d and %d (not %d, %d)", ids(ls), err, keep, keep2, gone1, gone2)
	}
	if n, err := b.store.Delete(b.ctx, gone1, keep); err != nil || n != 1 {
		t.Fatalf("Delete of a gone and a present id: %d, %v; want 1, nil", n, err)
	}
}

func TestExportJSONLines(t *testing.T) {
	t.Parallel()
	b := setup(t)
	f := b.failed(1, "offer_accepted", "permanent", "x")
	idJSON := b.write(t, f)
	bin := b.failed(2, "offer_accepted", "permanent", "x")
	bin.Data = []byte{0xff, 0x00, 'x'}
	idBin := b.write(t, bin)

	var out bytes.Buffer
	n, err := b.store.Export(b.ctx, &out, deadletter.Filter{})
	if err != nil || n != 2 {
		t.Fatalf("export %d, %v", n, err)
	}
	sc := bufio.NewScanner(&out)
	var got []deadletter.Letter
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		var l deadletter.Letter
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
		if l.ID == idJSON {
			if _, ok := raw["data"].(map[string]any); !ok {
				t.Errorf("a JSON body is not inline: %v", raw["data"])
			}
		}
	}
	if len(got) != 2 || got[0].ID != idJSON || got[1].ID != idBin || !bytes.Equal(got[1].Data, bin.Data) ||
		!bytes.Equal(got[0].Data, f.Data) || got[0].Kind != "permanent" || len(got[0].Errors) != 2 {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.write(t, b.failed(1, "offer_accepted", "permanent", "x"))
	b.write(t, b.failed(2, "offer_accepted", "exhausted", "x"))
	b.write(t, b.failed(3, "legal_pack_completed", "permanent", "x"))
	st, err := b.store.Stats(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Count != 3 || st.ByKind["permanent"].Count != 2 || st.ByKind["exhausted"].Count != 1 ||
		st.BySubject["openmoove.events.offer_accepted"].Count != 2 || st.MaxBytes != 1<<20 ||
		st.FillPercent <= 0 || st.FillPercent > 1 || st.Bytes <= 0 || st.ByKind["permanent"].Bytes <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMissingDLQ(t *testing.T) {
	t.Parallel()
	s := natstest.Start(t)
	store := deadletter.NewStore(s.JS, streams.New("openmoove"))
	_, err := store.List(context.Background(), deadletter.Filter{})
	if err == nil || !strings.Contains(err.Error(), "omq streams apply") {
		t.Fatalf("List without a DLQ: %v", err)
	}
}
