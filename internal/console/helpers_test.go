package console_test

import "github.com/nats-io/nats.go/jetstream"

func jsConsumer(name string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy}
}
