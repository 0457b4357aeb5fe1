package ingest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/events"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/internal/natserr"
	"github.com/openmoove/omq/internal/tracing"
	"github.com/openmoove/omq/streams"
)

// Options configure the ingest endpoints.
type Options struct {
	// Token is the bearer token every request must carry. Empty disables
	// ingest: Register adds no route.
	Token string
	// MaxBytes caps a request body; larger bodies get 413. Default 1 MiB.
	MaxBytes int
	// MaxItems caps the items of an array body; more get 400, decided at
	// item MaxItems+1. Default DefaultMaxItems.
	MaxItems int
	// PublishTimeout bounds waiting for JetStream's acks of one request.
	// Default 5s.
	PublishTimeout time.Duration
	// Store, if set, is told whether JetStream took each request's
	// messages, so that /readyz says when a full store refuses them.
	Store    *natserr.Watch
	JS       jetstream.JetStream
	Topology streams.Topology
	Logger   *slog.Logger
	// Metrics, when set, receives omq_ingest_requests_total.
	Metrics prometheus.Registerer
	// TracerProvider receives a publish span per message; each message
	// carries its span's traceparent. Default: the global provider, a no-op
	// unless the program installed one.
	TracerProvider trace.TracerProvider
	// Fill completes a copy of a property creation the way the property
	// worker will (assignment table, default estate agent) before it is
	// validated, so POST /v1/properties refuses exactly what the worker
	// could not send. Nil validates the creation as given.
	Fill events.Fill
}

// Message is one message an endpoint publishes.
type Message struct {
	// ID is returned to the caller and is the Nats-Msg-Id.
	ID      string
	Subject string
	Body    []byte
}

// FieldErrors are the problems of a request body, by field ("type",
// "[2].transaction_id"); each field has its messages.
type FieldErrors map[string][]string

// BadRequest is what a Decoder returns for a body it refuses: 400 with the
// message and the field errors.
type BadRequest struct {
	Message string
	Fields  FieldErrors
	// Truncated says Fields lists only the first MaxFieldErrors problems.
	Truncated bool
}

func (b *BadRequest) Error() string { return b.Message }

// Decoder turns a request body into the messages to publish. key is the
// Idempotency-Key header ("" when absent). It returns a *BadRequest for input
// the caller must fix; any other error is a 500.
type Decoder func(s *Server, body []byte, key string) ([]Message, error)

type endpoint struct {
	pattern string // "POST /v1/events"
	name    string // metric label
	decode  Decoder
}

// endpoints is filled by each endpoint file's init.
var endpoints []endpoint

func addEndpoint(pattern, name string, d Decoder) {
	endpoints = append(endpoints, endpoint{pattern: pattern, name: name, decode: d})
}

// Server serves the ingest endpoints.
type Server struct {
	opts     Options
	log      *slog.Logger
	tokenSum [32]byte
	requests *prometheus.CounterVec
	tracer   trace.Tracer
}

// Register adds every ingest endpoint to mux. With no token it adds nothing
// and logs that ingest is off.
func Register(mux *http.ServeMux, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = logging.Discard()
	}
	log := opts.Logger.With(logging.KeyComponent, "ingest")
	if opts.Token == "" {
		log.Info("HTTP ingest is off: set --ingest-token (or OMQ_INGEST_TOKEN_FILE) to accept POST /v1/events and /v1/properties")
		return nil, nil
	}
	if opts.JS == nil {
		return nil, errors.New("ingest: Options.JS is required")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 20
	}
	if opts.MaxItems <= 0 {
		opts.MaxItems = DefaultMaxItems
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	opts.Topology = opts.Topology.WithDefaults()
	s := &Server{opts: opts, log: log, tokenSum: sha256.Sum256([]byte(opts.Token)), tracer: tracing.Tracer(opts.TracerProvider)}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "omq_ingest_requests_total", Help: "HTTP ingest requests by endpoint and status code.",
	}, []string{"endpoint", "code"})
	if opts.Metrics != nil {
		if err := opts.Metrics.Register(s.requests); err != nil {
			return nil, fmt.Errorf("ingest metrics: %w", err)
		}
	}
	for _, ep := range endpoints {
		mux.Handle(ep.pattern, s.handler(ep))
	}
	log.Info("HTTP ingest on", "endpoints", len(endpoints))
	return s, nil
}

// Topology is the stream layout messages are published into.
func (s *Server) Topology() streams.Topology { return s.opts.Topology }

func (s *Server) handler(ep endpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := s.serve(w, r, ep)
		s.requests.WithLabelValues(ep.name, fmt.Sprint(code)).Inc()
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, ep endpoint) int {
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="omq"`)
		return writeError(w, http.StatusUnauthorized, "missing or wrong bearer token: send Authorization: Bearer <the --ingest-token>", nil)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.opts.MaxBytes)))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return writeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("body larger than %d bytes (--ingest-max-bytes); send fewer items per request", s.opts.MaxBytes), nil)
		}
		return writeError(w, http.StatusBadRequest, "cannot read body: "+err.Error(), nil)
	}
	msgs, err := ep.decode(s, body, strings.TrimSpace(r.Header.Get("Idempotency-Key")))
	if err != nil {
		var bad *BadRequest
		if errors.As(err, &bad) {
			return writeBadRequest(w, bad)
		}
		s.log.Error("ingest decode failed", "endpoint", ep.name, logging.KeyError, err)
		return writeError(w, http.StatusInternalServerError, "internal error", nil)
	}
	// A caller that sent a traceparent has its trace continued; the others
	// start one here.
	results, err := s.publish(tracing.ExtractHTTP(r.Context(), r.Header), msgs)
	if err != nil {
		s.log.Warn("ingest publish failed", "endpoint", ep.name, logging.KeyError, err)
		w.Header().Set("Retry-After", "5")
		return writeError(w, http.StatusServiceUnavailable,
			"NATS did not accept the messages; retry later with the same ids or Idempotency-Key (duplicates are dropped)", nil)
	}
	ids := make([]string, len(results))
	for i, res := range results {
		ids[i] = res.ID
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"ids": ids, "results": results})
	return http.StatusAccepted
}

// laneOf is the lane of a request of n items. omq sets the lane itself:
// one item is live work, a request of many is bulk (events.Lane). Nothing
// of the request chooses it.
func laneOf(n int) events.Lane {
	if n > 1 {
		return events.LaneBulk
	}
	return events.LaneLive
}

// Result is what the 202 answer says of each message.
type Result struct {
	ID        string `json:"id"`
	StreamSeq uint64 `json:"stream_seq"`
	Duplicate bool   `json:"duplicate"`
}

// publish sends every message asynchronously and waits for all acks.
func (s *Server) publish(ctx context.Context, msgs []Message) ([]Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.PublishTimeout)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(msgs))
	lane := laneOf(len(msgs))
	for i, m := range msgs {
		msg := &nats.Msg{Subject: m.Subject, Data: m.Body,
			Header: nats.Header{jetstream.MsgIDHeader: []string{m.ID}, events.HeaderLane: []string{string(lane)}}}
		span := s.startSpan(ctx, msg, m.ID)
		f, err := s.opts.JS.PublishMsgAsync(msg)
		span.End()
		if err != nil {
			return nil, fmt.Errorf("publish %s: %w", m.ID, err)
		}
		futures[i] = f
	}
	results := make([]Result, len(msgs))
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			results[i] = Result{ID: msgs[i].ID, StreamSeq: ack.Sequence, Duplicate: ack.Duplicate}
		case err := <-f.Err():
			s.opts.Store.Observe(err)
			return nil, fmt.Errorf("publish %s: %w", msgs[i].ID, err)
		case <-ctx.Done():
			return nil, fmt.Errorf("publish %s: no ack: %w", msgs[i].ID, ctx.Err())
		}
	}
	s.opts.Store.Observe(nil)
	return results, nil
}

// startSpan starts msg's publish span and puts its trace context in msg's
// headers for the worker to continue. The span ends once the publish is
// sent; the ack's wait belongs to the request.
func (s *Server) startSpan(ctx context.Context, msg *nats.Msg, id string) trace.Span {
	tracer := s.tracer
	if tracer == nil {
		tracer = tracing.Tracer(nil)
	}
	ctx, span := tracer.Start(ctx, "publish "+msg.Subject, trace.WithSpanKind(trace.SpanKindProducer))
	if span.IsRecording() {
		span.SetAttributes(tracing.KeySubject.String(msg.Subject), tracing.KeyMessageID.String(id))
	}
	tracing.Inject(ctx, msg.Header)
	return span
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	// Hashing first makes the compare constant-time in the token's length too.
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1
}

func writeError(w http.ResponseWriter, code int, msg string, fields FieldErrors) int {
	body := map[string]any{"error": msg}
	if len(fields) > 0 {
		body["field_errors"] = fields
	}
	writeJSON(w, code, body)
	return code
}

func writeBadRequest(w http.ResponseWriter, bad *BadRequest) int {
	body := map[string]any{"error": bad.Message}
	if len(bad.Fields) > 0 {
		body["field_errors"] = bad.Fields
	}
	if bad.Truncated {
		body["field_errors_truncated"] = true
	}
	writeJSON(w, http.StatusBadRequest, body)
	return http.StatusBadRequest
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	// Answers quote placeholders such as <the --ingest-token>; HTML
	// escaping would turn them into \u003c…\u003e.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
