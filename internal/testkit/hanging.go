package testkit

import (
	"context"
	"testing"

	"github.com/openmoove/omq/openmoove"
)

// HangingAPI is a client of the API at baseURL whose every call blocks,
// ignoring its context, until release is called: the stuck call a Stop
// test needs. entered receives once a call has begun.
func HangingAPI(t testing.TB, baseURL, key string) (api *openmoove.Client, entered <-chan struct{}, release func()) {
	t.Helper()
	in, out := make(chan struct{}, 1), make(chan struct{})
	api, err := openmoove.New(openmoove.Config{BaseURL: baseURL, APIKey: key,
		BeforeRequest: func(context.Context, openmoove.RequestInfo) error {
			select {
			case in <- struct{}{}:
			default:
			}
			<-out // ignores its context
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(api.CloseIdleConnections)
	return api, in, func() { close(out) }
}
