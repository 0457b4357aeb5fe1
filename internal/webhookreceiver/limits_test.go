package webhookreceiver_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/internal/webhookreceiver"
)

// A declared Content-Length over the cap is answered 413 from the headers
// alone: the test sends no body at all, so a receiver that waited for one
// would time out here.
func TestDeclaredLengthOverCapRefusedBeforeReading(t *testing.T) {
	t.Parallel()
	b := setup(t, 4096)
	conn, err := net.Dial("tcp", strings.TrimPrefix(b.srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s: %s\r\nContent-Length: 4097\r\n\r\n",
		webhookreceiver.Path, webhookreceiver.SignatureHeader, webhookreceiver.Sign(newSecret, []byte("{}")))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "no answer without the body: the receiver waited to read it")
	defer resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.True(t, resp.Close, "Connection: close, so the unread body is not drained")
	require.Contains(t, b.logs.String(), `"content_length":4097`)
}

// Without a Content-Length (chunked) the bounded reader stops at the cap.
func TestChunkedBodyOverCap(t *testing.T) {
	t.Parallel()
	b := setup(t, 4096)
	body := []byte(`{"event":"property.updated","pad":"` + strings.Repeat("x", 8192) + `"}`)
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+webhookreceiver.Path, io.MultiReader(bytes.NewReader(body)))
	require.NoError(t, err)
	req.ContentLength = -1 // unknown: sent chunked
	req.Header.Set(webhookreceiver.SignatureHeader, webhookreceiver.Sign(newSecret, body))
	resp, err := b.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
	require.EqualValues(t, 0, b.stored(t))
}

// The default cap is 64 KiB: a signed 60 KiB webhook is stored, a signed
// 65 KiB one is not.
func TestDefaultCapIs64KiB(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	sized := func(n int) []byte {
		head := `{"event":"property.updated","pad":"`
		return []byte(head + strings.Repeat("x", n-len(head)-2) + `"}`)
	}
	ok, big := sized(60<<10), sized(65<<10)
	require.Equal(t, http.StatusOK, b.post(t, ok, webhookreceiver.Sign(newSecret, ok)))
	require.Equal(t, http.StatusRequestEntityTooLarge, b.post(t, big, webhookreceiver.Sign(newSecret, big)))
	require.EqualValues(t, 1, b.stored(t))
}

// 1,000 bad signatures: every one is counted, few are logged.
func TestBadSignatureWarningsAreRateLimited(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	const every = 200 * time.Millisecond
	b := setupWith(t, webhookreceiver.Options{Metrics: reg, WarnEvery: every})
	body := milestoneBody(1)
	sig := webhookreceiver.Sign("not-the-secret", body)
	start := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 125 {
				req, err := http.NewRequest(http.MethodPost, b.srv.URL+webhookreceiver.Path, bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set(webhookreceiver.SignatureHeader, sig)
				resp, err := b.srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("status %d, want 401", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	lines := strings.Count(b.logs.String(), "webhook refused: bad signature")
	bound := 1 + int(elapsed/every)
	require.GreaterOrEqual(t, lines, 1, "the first refusal is logged")
	require.LessOrEqual(t, lines, bound, "%d WARN lines for 1000 bad signatures in %v; at most one per %v", lines, elapsed, every)
	require.InDelta(t, 1000, counter(t, reg, "401", "signature_wrong"), 0, "the metric counts each")
	t.Logf("1000 bad signatures in %v: %d WARN lines (bound %d)", elapsed, lines, bound)
}

func counter(t *testing.T, reg *prometheus.Registry, code, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "omq_webhook_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["code"] == code && labels["reason"] == reason {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no omq_webhook_requests_total{code=%q,reason=%q}", code, reason)
	return 0
}
