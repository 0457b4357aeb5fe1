package omqtest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/omqtest"
	"github.com/openmoove/omq/openmoove"
	"github.com/openmoove/omq/openmoove/sandbox"
)

// spanRecorder is an SDK tracer provider whose spans land in memory as they end.
func spanRecorder(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	return tp, exp
}

// inTrace returns the ended spans of trace id, oldest start first.
func inTrace(exp *tracetest.InMemoryExporter, id trace.TraceID) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range exp.GetSpans() {
		if s.SpanContext.TraceID() == id {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	return out
}

func attr(s tracetest.SpanStub, k attribute.Key) string {
	for _, a := range s.Attributes {
		if a.Key == k {
			return a.Value.Emit()
		}
	}
	return ""
}

func named(spans tracetest.SpanStubs, name string) (tracetest.SpanStub, bool) {
	i := slices.IndexFunc(spans, func(s tracetest.SpanStub) bool { return s.Name == name })
	if i < 0 {
		return tracetest.SpanStub{}, false
	}
	return spans[i], true
}

// One event published through the publisher leaves one trace: its publish,
// the milestone worker's handler, each API call (the budget's wait inside
// each), and the outcome's publish, in that order and parented so; the
// ids are attributes and no person's name or email is.
func TestOneEventLeavesOneTraceFromPublishToOutcome(t *testing.T) {
	t.Parallel()
	tp, exp := spanRecorder(t)
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"), omqtest.WithTracerProvider(tp))
	tx := omq.SeedProperty(t, nil)

	ack, err := omq.Publisher.Publish(t.Context(), events.Event{
		Type: events.TypeOfferAccepted, TransactionID: tx, Actor: "Jane Smith <jane.smith@example.com>",
	})
	require.NoError(t, err)
	omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneOfferAcceptance)

	publish, ok := named(exp.GetSpans(), "publish openmoove.events.offer_accepted")
	require.True(t, ok, "no publish span among %d", len(exp.GetSpans()))
	id := publish.SpanContext.TraceID()
	var spans tracetest.SpanStubs
	require.Eventually(t, func() bool {
		// The handler's span ends once the message is acked.
		spans = inTrace(exp, id)
		h, ok := named(spans, "handle milestones")
		return ok && attr(h, "omq.outcome") == "acked"
	}, omqtest.DefaultWait, 10*time.Millisecond)

	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	require.Equal(t, "publish openmoove.events.offer_accepted", names[0], names)
	require.Equal(t, "handle milestones", names[1], names)
	require.Equal(t, "publish openmoove.outcomes.milestone_completed", names[len(names)-1], names)
	handle := spans[1]
	require.Equal(t, publish.SpanContext.SpanID(), handle.Parent.SpanID(), "the handler continues the publisher's trace")
	require.Equal(t, spans[len(spans)-1].Parent.SpanID(), handle.SpanContext.SpanID(), "the outcome is published inside the handler")

	// Between them, each API call with the budget's wait as its child.
	var calls, waits int
	for _, s := range spans[2 : len(spans)-1] {
		switch {
		case s.Name == "budget take":
			waits++
			call := slices.IndexFunc(spans, func(c tracetest.SpanStub) bool { return c.SpanContext.SpanID() == s.Parent.SpanID() })
			require.GreaterOrEqual(t, call, 0)
			require.Equal(t, trace.SpanKindClient, spans[call].SpanKind, "the budget wait is part of an API call")
			require.Equal(t, "live", attr(s, "omq.lane"), "an event published one by one takes live tokens")
		case s.SpanKind == trace.SpanKindClient:
			calls++
			require.Equal(t, handle.SpanContext.SpanID(), s.Parent.SpanID(), "%s is the handler's", s.Name)
			require.NotEmpty(t, attr(s, "http.response.status_code"), s.Name)
		default:
			t.Fatalf("unexpected span %q between the handler and the outcome: %v", s.Name, names)
		}
	}
	require.Equal(t, len(omq.APICalls()), calls, "a span for every API call: %v", names)
	require.Equal(t, calls, waits, names)
	require.Contains(t, names, "PATCH /properties/{id}/milestones/{id}/", "the completing call")

	for _, s := range []tracetest.SpanStub{publish, handle} {
		require.Equal(t, ack.ID, attr(s, "omq.event.id"), s.Name)
		require.Equal(t, tx, attr(s, "omq.transaction.id"), s.Name)
		require.Equal(t, events.TypeOfferAccepted, attr(s, "omq.event.type"), s.Name)
	}
	for _, s := range spans {
		for _, a := range s.Attributes {
			v := a.Value.Emit()
			require.False(t, strings.Contains(v, "Jane") || strings.Contains(v, "@"), "%s: %s=%q is personal data", s.Name, a.Key, v)
		}
	}
}

// A dead letter keeps the trace of the delivery that gave up, and its
// replay starts a new trace linked to that delivery's span.
func TestDeadLetterKeepsTheTraceAndItsReplayLinksToIt(t *testing.T) {
	t.Parallel()
	tp, exp := spanRecorder(t)
	omq := omqtest.Start(t, omqtest.WithWorkers("properties"), omqtest.WithTracerProvider(tp),
		omqtest.WithSandbox(func(c *sandbox.Config) {
			c.Rejects = []sandbox.Reject{{Field: "property_address", Value: "1 Nowhere Road", Message: "We do not cover this address."}}
		}))
	req := omqtest.PropertyRequest()
	req.PropertyAddress = "1 Nowhere Road" // the sandbox refuses it: permanent
	_, err := omq.Publisher.CreateProperty(t.Context(), events.CreateProperty{CreateClientRequest: req})
	require.NoError(t, err)
	letter := omq.RequireDeadLetter(t, omqtest.DeadLetterFilter{Subject: "openmoove.commands.>"})

	publish, ok := named(exp.GetSpans(), "publish openmoove.commands.create_property")
	require.True(t, ok)
	require.Equal(t, publish.SpanContext.TraceID().String(), letter.Header.Get(deadletter.HeaderTraceID))
	var gaveUp tracetest.SpanStub
	require.Eventually(t, func() bool {
		gaveUp, ok = named(inTrace(exp, publish.SpanContext.TraceID()), "handle properties")
		return ok && attr(gaveUp, "omq.outcome") == "dead_lettered"
	}, omqtest.DefaultWait, 10*time.Millisecond)
	require.Contains(t, letter.Header.Get("traceparent"), gaveUp.SpanContext.SpanID().String(), "the letter names the span that gave up")

	_, err = omq.DeadLetters.Replay(t.Context(), letter.ID, deadletter.ReplayOptions{})
	require.NoError(t, err)
	replay, ok := named(exp.GetSpans(), "replay openmoove.commands.create_property")
	require.True(t, ok)
	require.NotEqual(t, publish.SpanContext.TraceID(), replay.SpanContext.TraceID(), "a replay is a trace of its own")
	require.Len(t, replay.Links, 1)
	require.Equal(t, gaveUp.SpanContext.SpanID(), replay.Links[0].SpanContext.SpanID())
	require.Eventually(t, func() bool {
		h, ok := named(inTrace(exp, replay.SpanContext.TraceID()), "handle properties")
		return ok && h.Parent.SpanID() == replay.SpanContext.SpanID()
	}, omqtest.DefaultWait, 10*time.Millisecond, "the worker continues the replay's trace")
}

// HTTP ingest continues the trace of a caller that sent a traceparent: its
// publish span is the caller's child and the worker continues from there.
func TestIngestContinuesTheCallersTrace(t *testing.T) {
	t.Parallel()
	tp, exp := spanRecorder(t)
	omq := omqtest.Start(t, omqtest.WithWorkers("milestones"), omqtest.WithTracerProvider(tp))
	tx := omq.SeedProperty(t, nil)
	_, caller := tp.Tracer("crm").Start(t.Context(), "crm sends")
	caller.End()
	sc := caller.SpanContext()

	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, omq.HTTPURL+"/v1/events",
		strings.NewReader(`{"type":"offer_accepted","transaction_id":"`+tx+`","actor":"crm"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+omqtest.IngestToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+sc.TraceID().String()+"-"+sc.SpanID().String()+"-01")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	omq.RequireMilestoneCompleted(t, tx, openmoove.MilestoneOfferAcceptance)

	require.Eventually(t, func() bool {
		spans := inTrace(exp, sc.TraceID())
		pub, ok := named(spans, "publish openmoove.events.offer_accepted")
		if !ok || pub.Parent.SpanID() != sc.SpanID() {
			return false
		}
		h, ok := named(spans, "handle milestones")
		return ok && h.Parent.SpanID() == pub.SpanContext.SpanID()
	}, omqtest.DefaultWait, 10*time.Millisecond, "the ingest publish and the handler are in the caller's trace")
}
