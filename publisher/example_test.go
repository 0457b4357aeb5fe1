package publisher_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/publisher"
	"github.com/openmoove/omq/streams"
)

// omqNATS stands in for a running omq: an embedded JetStream server with
// omq's streams. Real code connects with nats.Connect(url).
func omqNATS() (nc *nats.Conn, stop func()) {
	dir, _ := os.MkdirTemp("", "omq-example")
	e, err := broker.StartEmbedded(broker.EmbeddedOptions{StoreDir: dir})
	if err != nil {
		panic(err)
	}
	nc, err = e.Connect("example")
	if err != nil {
		panic(err)
	}
	if _, err := streams.Apply(context.Background(), mustJS(nc), streams.New("openmoove"), nil); err != nil {
		panic(err)
	}
	return nc, func() {
		nc.Close()
		_ = e.Shutdown(context.Background())
		_ = os.RemoveAll(dir)
	}
}

func ExamplePublisher_Publish() {
	nc, stop := omqNATS()
	defer stop()
	ctx := context.Background()

	p, err := publisher.New(nc)
	if err != nil {
		panic(err)
	}
	ev := events.Event{
		ID:            "crm-8841-legal-pack",
		Type:          events.TypeLegalPackCompleted,
		TransactionID: "3f2a9c1e-5b7d-4e21-9c3a-0d1e2f3a4b5c",
		Actor:         "Jane Smith",
	}
	ack, err := p.Publish(ctx, ev)
	fmt.Println(ack.ID, ack.Stream, ack.Sequence, ack.Duplicate, err)

	// A retry with the same id is stored once.
	ack, err = p.Publish(ctx, ev)
	fmt.Println(ack.ID, ack.Sequence, ack.Duplicate, err)

	// A mistake is caught before it leaves the process.
	_, err = p.Publish(ctx, events.Event{Type: "house_sold"})
	var invalid *events.ValidationError
	fmt.Println(errors.As(err, &invalid))
	fmt.Println(err)
	// Output:
	// crm-8841-legal-pack OPENMOOVE_EVENTS 1 false <nil>
	// crm-8841-legal-pack 1 true <nil>
	// true
	// invalid event: transaction_id: required: the OpenMoove transaction UUID (or numeric property id); type: unknown type "house_sold": want one of legal_pack_completed, property_listed, offer_accepted, contracts_exchanged, completion_date_set
}

func ExampleBatch() {
	nc, stop := omqNATS()
	defer stop()
	ctx := context.Background()

	p, err := publisher.New(nc, publisher.WithMaxInFlight(16))
	if err != nil {
		panic(err)
	}
	b := p.NewBatch()
	for i := range 100 {
		ev := events.Event{
			ID:            fmt.Sprintf("import-%03d", i%50), // every id twice
			Type:          events.TypeOfferAccepted,
			TransactionID: fmt.Sprintf("tx-%d", i%50),
		}
		if _, err := b.Add(ctx, ev); err != nil {
			fmt.Println("invalid:", err)
		}
	}
	res := b.Flush(ctx)
	fmt.Printf("acked %d, duplicates %d, failed %d\n", len(res.Acks), res.Duplicates(), len(res.Failures))
	// Output:
	// acked 100, duplicates 50, failed 0
}
