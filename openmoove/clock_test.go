package openmoove_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// The client's clock is the API's, as the Date of its latest answer says:
// local before any answer, then it follows the sandbox clock as it moves,
// error answers included.
func TestClockFollowsTheAPIsDate(t *testing.T) {
	t.Parallel()
	b := setup(t, sandbox.Config{})
	ctx := t.Context()
	require.Zero(t, b.client.ClockOffset(), "before any answer: the local clock")
	require.WithinDuration(t, time.Now(), b.client.Now(), time.Second)

	_, err := b.client.Products(ctx)
	require.NoError(t, err)
	require.InDelta(t, 0, b.client.ClockOffset(), float64(time.Second), "same clocks: no offset")

	b.sb.AdvanceClock(48 * time.Hour)
	require.InDelta(t, 0, b.client.ClockOffset(), float64(time.Second), "no answer since the move: the offset kept")
	_, err = b.client.Products(ctx)
	require.NoError(t, err)
	require.InDelta(t, float64(48*time.Hour), b.client.ClockOffset(), float64(time.Second))
	require.WithinDuration(t, b.sb.Now(), b.client.Now(), 2*time.Second)

	// A refused call is an answer too: its Date counts.
	b.sb.AdvanceClock(time.Hour)
	_, err = b.client.Property(ctx, "00000000-0000-0000-0000-000000000000")
	require.True(t, openmoove.IsNotFound(err), "%v", err)
	require.InDelta(t, float64(49*time.Hour), b.client.ClockOffset(), float64(time.Second))

	resp, err := http.Get(b.sb.AdminURL() + "clock")
	require.NoError(t, err)
	resp.Body.Close()
	date, err := http.ParseTime(resp.Header.Get("Date"))
	require.NoError(t, err)
	require.WithinDuration(t, b.sb.Now(), date, 2*time.Second, "the admin API's Date is the sandbox clock too")
}

// An API behind the local clock gives a negative offset; an answer without
// Date keeps the last one.
func TestClockBehindAndWithoutDate(t *testing.T) {
	t.Parallel()
	var omitDate atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if omitDate.Load() {
			w.Header()["Date"] = nil // net/http then sends none
		} else {
			w.Header().Set("Date", time.Now().Add(-90*time.Minute).UTC().Format(http.TimeFormat))
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"count":0,"results":[]}`))
	}))
	t.Cleanup(srv.Close)
	c, err := openmoove.New(openmoove.Config{BaseURL: srv.URL + "/api/v1/partners/", APIKey: testKey})
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)

	_, err = c.Products(t.Context())
	require.NoError(t, err)
	require.InDelta(t, float64(-90*time.Minute), c.ClockOffset(), float64(time.Second))

	omitDate.Store(true)
	_, err = c.Products(t.Context())
	require.NoError(t, err)
	require.InDelta(t, float64(-90*time.Minute), c.ClockOffset(), float64(time.Second), "no Date: the last offset kept")
	require.WithinDuration(t, time.Now().Add(-90*time.Minute), c.Now(), 2*time.Second)
}
