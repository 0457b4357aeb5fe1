package deadletter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/streams"
)

// BenchmarkPage100k is the console's dead-letter list with 100,000 letters
// in the DLQ: the first page of 50, unfiltered and filtered by HTTP status,
// and a body search that matches one letter near the end (the worst
// case: it reads the whole stream, one batch at a time). Run with
//
//	go test ./deadletter -run '^$' -bench Page100k -benchmem
func BenchmarkPage100k(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := natstest.Start(b)
	top := streams.Topology{Prefix: "openmoove", DLQMaxBytes: 1 << 30}.WithDefaults()
	if _, err := streams.Apply(ctx, s.JS, top, nil); err != nil {
		b.Fatal(err)
	}
	const n = 100_000
	for i := 1; i <= n; i++ {
		pc := "M1 1AA"
		if i == n-10 {
			pc = "LS1 4AP"
		}
		f := deadletter.Failed{
			Subject: top.EventSubject("offer_accepted"), Stream: top.EventsStream(), Seq: uint64(i),
			Data:       fmt.Appendf(nil, `{"id":"ev-%d","type":"offer_accepted","transaction_id":"T-%d","data":{"postcode":%q}}`, i, i, pc),
			Header:     nats.Header{jetstream.MsgIDHeader: {fmt.Sprintf("ev-%d", i)}},
			Deliveries: 1, Kind: "permanent", Worker: "milestones",
			Error: fmt.Sprintf("openmoove: PATCH /milestones/%d/: 400 Bad Request: phone_number: Invalid phone number format", i),
		}
		msg := &nats.Msg{Subject: top.DLQSubject(f.Subject), Data: f.Data, Header: f.Headers()}
		if _, err := s.JS.PublishMsgAsync(msg); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 0 { // under the client's 4000 outstanding async publishes
			<-s.JS.PublishAsyncComplete()
		}
	}
	<-s.JS.PublishAsyncComplete()
	store := deadletter.NewStore(s.JS, top)
	for _, c := range []struct {
		name string
		f    deadletter.Filter
		want int
	}{
		{"first-page", deadletter.Filter{}, 50},
		{"status-400", deadletter.Filter{Status: 400}, 50},
		{"body-search-whole-stream", deadletter.Filter{Body: []deadletter.BodyMatch{{Path: "data.postcode", Value: "LS1 4AP"}}}, 1},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, err := store.Page(ctx, c.f, 50)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Letters) != c.want {
					b.Fatalf("%d letters, want %d", len(p.Letters), c.want)
				}
			}
		})
	}
}
