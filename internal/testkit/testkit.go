package testkit

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
	"github.com/openmoove/omq/streams"
)

// Buffer is a bytes.Buffer that a running component may write (its logs,
// a command's output) while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Bytes returns a copy of what was written so far: later writes do not
// change it.
func (s *Buffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// JetStream starts an embedded JetStream (natstest.Start with opts) and
// applies omq's streams and buckets under the default prefix.
func JetStream(t testing.TB, opts ...natstest.Option) (*natstest.Server, streams.Topology) {
	t.Helper()
	s := natstest.Start(t, opts...)
	top := streams.New("openmoove")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := streams.Apply(ctx, s.JS, top, nil)
	require.NoError(t, err)
	return s, top
}

// Sandbox starts a sandbox with cfg over real HTTP on 127.0.0.1 and returns
// it with a client that holds sandbox.DefaultAPIKey. Both are closed in
// t.Cleanup.
func Sandbox(t testing.TB, cfg sandbox.Config) (*sandbox.Server, *openmoove.Client) {
	t.Helper()
	sb, err := sandbox.New(cfg)
	require.NoError(t, err)
	require.NoError(t, sb.Start(context.Background()))
	t.Cleanup(func() { _ = sb.Close(context.Background()) })
	api, err := openmoove.New(openmoove.Config{BaseURL: sb.URL(), APIKey: sandbox.DefaultAPIKey})
	require.NoError(t, err)
	t.Cleanup(api.CloseIdleConnections)
	return sb, api
}

// CreateRequest is a creation the API accepts as it is: a standard sale
// with an estate agent, a conveyancer and the default product. Each call
// returns a new one, for the test to change.
func CreateRequest() *openmoove.CreateClientRequest {
	return &openmoove.CreateClientRequest{
		FirstName: "John", LastName: "Smith", Email: "john.smith@example.com",
		PhoneNumber: "07700 900123", PropertyAddress: "123 High Street, London",
		PropertyPostcode: "SW1A 1AA", SaleMethod: openmoove.SaleStandard,
		EstateAgentEmail: "agent@youragency.com", ConveyancerEmail: "lawyer@lawfirm.com",
		Products: []string{openmoove.ProductMooveReadyPack},
	}
}
