package broker_test

import (
	"fmt"

	"github.com/nats-io/nats.go"
)

func natsConnect(url string, opts ...nats.Option) (*nats.Conn, error) {
	return nats.Connect(url, opts...)
}

func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v %s", v, v, v, v) }
