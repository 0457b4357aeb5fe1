package console_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/console/browsertest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/streams"
)

// dlConsole serves a console on js and top on a loopback port.
func dlConsole(t *testing.T, js jetstream.JetStream, top streams.Topology) string {
	t.Helper()
	c, _ := newConsole(t, func(o *console.Options) { o.JS, o.Topology, o.Now = js, top, time.Now })
	require.NoError(t, c.Start(t.Context()))
	t.Cleanup(func() { _ = c.Stop(t.Context()) })
	ts := httptest.NewServer(c)
	t.Cleanup(ts.Close)
	return ts.URL
}

// seedLetter dead-letters one event as a worker does.
func seedLetter(t *testing.T, js jetstream.JetStream, top streams.Topology, seq uint64, body, errText string) {
	t.Helper()
	_, err := deadletter.Write(t.Context(), js, top, deadletter.Failed{
		Subject: top.EventSubject("offer_accepted"), Data: []byte(body), Stream: top.EventsStream(), Seq: seq,
		Header: nats.Header{jetstream.MsgIDHeader: {fmt.Sprintf("ev-%d", seq)}}, Deliveries: 1, Kind: "permanent",
		Error: errText, Worker: "milestones",
		History: []deadletter.ErrorRecord{{At: "2026-01-02T03:04:05Z", Kind: "permanent", Error: errText, Delivery: 1}},
	})
	require.NoError(t, err)
}

func eventBody(n int, postcode string) string {
	return fmt.Sprintf(`{"id":"ev-%d","type":"offer_accepted","transaction_id":"T-%d","occurred_at":"2026-01-02T03:04:05Z","data":{"postcode":%q}}`, n, n, postcode)
}

func dlqMsgs(t *testing.T, js jetstream.JetStream, top streams.Topology) uint64 {
	t.Helper()
	st, err := js.Stream(t.Context(), top.DLQStream())
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	return info.State.Msgs
}

const phoneErr = "openmoove: PATCH /milestones/%d/: 400 Bad Request: phone_number: Invalid phone number format"

func TestBrowserFindsADeadLetterByABodySearch(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	for i := 1; i <= 30; i++ {
		pc := "M1 1AA"
		if i == 17 {
			pc = "LS1 4AP"
		}
		seedLetter(t, srv.JS, top, uint64(i), eventBody(i, pc), fmt.Sprintf(phoneErr, i))
	}
	base := dlConsole(t, srv.JS, top)
	b := browsertest.New(t, 1280, 900)
	b.Login(base, "victor", "victor-password")
	b.Do(chromedp.Navigate(base+"/console/deadletters"), chromedp.WaitVisible(chromedp.ID("dl-list")))
	require.Equal(t, 30, b.Count("#dl-list .dl-row"), "every letter fits the first page")
	require.Zero(t, b.Count("#dl-replay-all")+b.Count(`#dl-list input[type=checkbox]`), "a viewer gets no action")

	b.Do(chromedp.SendKeys(chromedp.CSS(`#dl-filters input[name=body]`), "data.postcode=LS1 4AP"),
		chromedp.Click(chromedp.ID("dl-search")),
		chromedp.WaitVisible(chromedp.CSS(`#dl-list .dl-row[data-id="17"]`)))
	require.Equal(t, 1, b.Count("#dl-list .dl-row"), "the body search finds exactly the one letter")
	loc := browsertest.Run(b, chromedp.Evaluate[string](`location.search`))
	require.Contains(t, loc, "body=data.postcode%3DLS1+4AP", "the filter is in the shareable URL")
	require.Contains(t, b.Text("#dl-filters ~ .hint"), "omq dlq list --body 'data.postcode=LS1 4AP'")
	b.Screenshot("deadletters-search")

	b.Do(chromedp.Click(chromedp.CSS(`#dl-list .dl-row[data-id="17"] a`)), chromedp.WaitVisible(chromedp.ID("dl-body")))
	require.Contains(t, b.Text("#dl-body"), `"postcode": "LS1 4AP"`, "the body pretty-printed")
	require.Contains(t, b.Text("#dl-history"), "Invalid phone number format")
	require.Contains(t, b.Text("#dl-headers"), deadletter.HeaderOriginalSubject)
	require.Contains(t, b.Text("#dl-milestones"), "not read this transaction's milestones")
	b.Screenshot("deadletter-detail")
}

func TestBrowserReplaysAGroupAfterItsDryRunCount(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	for i := 1; i <= 6; i++ {
		seedLetter(t, srv.JS, top, uint64(i), eventBody(i, "M1 1AA"), fmt.Sprintf(phoneErr, 100+i))
	}
	seedLetter(t, srv.JS, top, 7, eventBody(7, "M1 1AA"), "openmoove: PATCH /milestones/7/: 404 Not Found")
	seedLetter(t, srv.JS, top, 8, eventBody(8, "M1 1AA"), "openmoove: PATCH /milestones/8/: 404 Not Found")
	base := dlConsole(t, srv.JS, top)
	b := browsertest.New(t, 1280, 900)
	b.Login(base, "alice", "alice-password")
	b.Do(chromedp.Navigate(base+"/console/deadletters"), chromedp.WaitVisible(chromedp.ID("dl-list")),
		chromedp.Click(chromedp.ID("dl-view-groups")), chromedp.WaitVisible(chromedp.ID("dl-groups")))
	first := b.Text("#dl-groups .dl-group")
	require.Contains(t, first, "6")
	require.Contains(t, first, "400 Bad Request: phone_number: Invalid phone number format")
	b.Screenshot("deadletters-groups")

	b.Do(chromedp.Click(chromedp.CSS("#dl-groups .dl-group .dl-replay-group")), chromedp.WaitVisible(chromedp.ID("dl-dry-run")))
	require.Contains(t, b.Text("#dl-dry-run"), "6 dead letters will be replayed")
	require.EqualValues(t, 8, dlqMsgs(t, srv.JS, top), "the dry run changed nothing")
	b.Screenshot("deadletter-job-dry-run")

	b.Do(chromedp.Click(chromedp.ID("dl-job-start")), chromedp.WaitVisible(chromedp.CSS(`#dl-job[data-state="done"]`)))
	require.Contains(t, b.Text("#dl-job"), "Replayed 6")
	require.EqualValues(t, 2, dlqMsgs(t, srv.JS, top), "the other reason's two are left")

	es, err := audit.Recent(t.Context(), srv.JS, top, 10, 0)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "dlq.replay.start", es[0].Kind)
	require.Equal(t, "alice", es[0].User)
	require.Equal(t, 6, es[0].Count)
	require.Contains(t, es[0].Filter, "--reason '400 Bad Request: phone_number: Invalid phone number format'")
}

func TestBrowserCancelsABulkReplayHalfWay(t *testing.T) {
	t.Parallel()
	srv, top := testkit.JetStream(t)
	const n = 40
	for i := 1; i <= n; i++ {
		seedLetter(t, srv.JS, top, uint64(i), eventBody(i, "M1 1AA"), "openmoove: PATCH /milestones/1/: 503 Service Unavailable")
	}
	base := dlConsole(t, srv.JS, top)
	b := browsertest.New(t, 1280, 900)
	b.Login(base, "alice", "alice-password")
	b.Do(chromedp.Navigate(base+"/console/deadletters?status=503"), chromedp.WaitVisible(chromedp.ID("dl-replay-all")),
		chromedp.SendKeys(chromedp.CSS(`.dl-actions input[name=rate]`), "4"),
		chromedp.Click(chromedp.ID("dl-replay-all")), chromedp.WaitVisible(chromedp.ID("dl-dry-run")))
	require.Contains(t, b.Text("#dl-dry-run"), "40 dead letters")
	b.Do(chromedp.Click(chromedp.ID("dl-job-start")), chromedp.WaitVisible(chromedp.CSS(`#dl-job[data-state="running"]`)))
	// The page polls the job's progress; cancel once it has gone a few.
	require.Eventually(t, func() bool {
		got, err := strconv.Atoi(strings.TrimSpace(b.TextNow("#dl-job-tried")))
		return err == nil && got >= 3
	}, 30*time.Second, 200*time.Millisecond, "the job's progress never moved on the page")
	b.Screenshot("deadletter-job-running")
	b.Do(chromedp.Click(chromedp.ID("dl-job-cancel")), chromedp.WaitVisible(chromedp.CSS(`#dl-job[data-state="cancelled"]`)))
	done, err := strconv.Atoi(strings.TrimSpace(b.Text("#dl-job-tried")))
	require.NoError(t, err)
	require.Greater(t, done, 0)
	require.Less(t, done, n, "cancelled half-way, not after the end")
	require.EqualValues(t, n-done, dlqMsgs(t, srv.JS, top), "what was not replayed is still in the DLQ")
	require.Equal(t, 1, b.Count("#dl-job-start"), "a cancelled job offers Resume")
	b.Screenshot("deadletter-job-cancelled")
}

func TestBrowserEditsARefusedCreationAndReplaysIt(t *testing.T) {
	t.Parallel()
	sys := omqtest.Start(t, omqtest.WithWorkers("properties"))
	req := omqtest.PropertyRequest()
	req.PhoneNumber = "call me"
	raw, err := json.Marshal(req)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	m["request_id"] = "req-edit-1"
	raw, err = json.Marshal(m)
	require.NoError(t, err)
	_, err = sys.JS.PublishMsg(t.Context(), &nats.Msg{Subject: sys.Topology.CreatePropertySubject(), Data: raw,
		Header: nats.Header{jetstream.MsgIDHeader: {"req-edit-1"}}})
	require.NoError(t, err)
	l := sys.RequireDeadLetter(t, omqtest.DeadLetterFilter{Type: "create_property"})

	base := dlConsole(t, sys.JS, sys.Topology)
	b := browsertest.New(t, 1280, 1000)
	b.Login(base, "alice", "alice-password")
	b.Do(chromedp.Navigate(fmt.Sprintf("%s/console/deadletters/%d", base, l.ID)), chromedp.WaitVisible(chromedp.ID("dl-edit")),
		chromedp.Click(chromedp.ID("dl-edit")), chromedp.WaitVisible(chromedp.ID("dl-edit-body")))
	edited := strings.Replace(browsertest.Run(b, chromedp.Value(chromedp.ID("dl-edit-body"))), `"call me"`, `"07700 900456"`, 1)
	require.Contains(t, edited, "07700 900456")
	b.Do(chromedp.SetValue(chromedp.ID("dl-edit-body"), edited), chromedp.Click(chromedp.ID("dl-check")),
		chromedp.WaitVisible(chromedp.ID("dl-valid")))
	diff := b.Text("#dl-diff")
	require.Contains(t, diff, `-   "phone_number": "call me",`)
	require.Contains(t, diff, `+   "phone_number": "07700 900456",`)
	b.Screenshot("deadletter-edit")

	b.Do(chromedp.Click(chromedp.ID("dl-edit-replay")), chromedp.WaitVisible(chromedp.ID("dl-flash")))
	require.Contains(t, b.Text("#dl-flash"), "replayed with the edited body")
	p := sys.RequirePropertyCreated(t, "req-edit-1")
	require.Equal(t, "+447700900456", p.Request.PhoneNumber, "the edited number, as the API stores it")
	same := 0
	for _, q := range sys.Sandbox().Properties() {
		if q.Request.PropertyAddress == req.PropertyAddress {
			same++
		}
	}
	require.Equal(t, 1, same, "the property exists in the sandbox exactly once")
	sys.RequireNoDeadLetters(t)

	es, err := audit.Recent(t.Context(), sys.JS, sys.Topology, 10, 0)
	require.NoError(t, err)
	require.Len(t, es, 1)
	require.Equal(t, "dlq.edit", es[0].Kind)
	require.Contains(t, es[0].Diff, `+  "phone_number": "07700 900456",`)
}
