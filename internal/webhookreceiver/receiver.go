package webhookreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/streams"
)

// Path is where the receiver listens.
const Path = "/webhooks/openmoove"

// DefaultMaxBytes is Options.MaxBytes when unset: OpenMoove's bodies are a
// few KB.
const DefaultMaxBytes = 64 << 10

// Options configure the receiver.
type Options struct {
	// Secrets verify the signature; any one matching accepts the webhook
	// (rotation). Empty disables the receiver: Register adds no route.
	Secrets []string
	// MaxBytes caps a body; a larger one gets 413, before any of it is
	// read when its Content-Length says so. The body must be held before
	// its signature can be checked, so this is what a stranger can make omq
	// hold per connection. Default 64 KiB (--webhook-max-bytes);
	// OpenMoove's bodies are a few KB.
	MaxBytes int64
	// WarnEvery spaces the WARN lines of requests refused before they are
	// authenticated (bad signature, too large, unreadable): at most one
	// line per WarnEvery, which counts those not logged since the last.
	// The metric still counts each. Default 10s.
	WarnEvery time.Duration
	// PublishTimeout bounds waiting for JetStream's ack. Default 5s.
	PublishTimeout time.Duration
	// JS publishes verified webhooks. Required with Secrets.
	JS jetstream.JetStream
	// Topology names the webhook subjects. Default streams.New("openmoove").
	Topology streams.Topology
	// Logger receives one line per refused or failed webhook. Default:
	// discard.
	Logger *slog.Logger
	// Metrics, when set, receives omq_webhook_requests_total{code,reason}.
	Metrics prometheus.Registerer
}

// Receiver serves POST /webhooks/openmoove.
type Receiver struct {
	opts     Options
	secrets  [][]byte
	log      *slog.Logger
	requests *prometheus.CounterVec
	refusals *throttle
}

// Register adds the receiver to mux. With no secret it adds nothing, logs at
// info that the receiver is off, and returns nil, nil.
func Register(mux *http.ServeMux, opts Options) (*Receiver, error) {
	if opts.Logger == nil {
		opts.Logger = logging.Discard()
	}
	log := opts.Logger.With(logging.KeyComponent, "webhooks")
	var secrets [][]byte
	for _, s := range opts.Secrets {
		if s != "" {
			secrets = append(secrets, []byte(s))
		}
	}
	if len(secrets) == 0 {
		log.Info("webhook receiver is off: set --webhook-secret (or OMQ_WEBHOOK_SECRET_FILE) to accept POST " + Path)
		return nil, nil
	}
	if opts.JS == nil {
		return nil, errors.New("webhook: Options.JS is required")
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.WarnEvery <= 0 {
		opts.WarnEvery = 10 * time.Second
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 5 * time.Second
	}
	opts.Topology = opts.Topology.WithDefaults()
	r := &Receiver{opts: opts, secrets: secrets, log: log, refusals: &throttle{every: opts.WarnEvery}}
	r.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "omq_webhook_requests_total", Help: "OpenMoove webhook requests by status code and reason.",
	}, []string{"code", "reason"})
	if opts.Metrics != nil {
		if err := opts.Metrics.Register(r.requests); err != nil {
			return nil, fmt.Errorf("webhook metrics: %w", err)
		}
	}
	mux.Handle("POST "+Path, r)
	log.Info("webhook receiver on", "path", Path, "secrets", len(secrets))
	return r, nil
}

// ServeHTTP verifies, publishes and answers.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	code, reason := r.serve(w, req)
	r.requests.WithLabelValues(strconv.Itoa(code), reason).Inc()
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) (int, string) {
	body, code, reason := r.readBody(w, req)
	if code != 0 {
		return code, reason
	}
	if err := Verify(r.secrets, body, req.Header.Get(SignatureHeader)); err != nil {
		reason := map[error]string{ErrMissingSignature: "missing", ErrMalformedSignature: "malformed", ErrWrongSignature: "wrong"}[err]
		r.refused(req, "webhook refused: bad signature", "reason", reason, "bytes", len(body))
		return reply(w, http.StatusUnauthorized, "invalid signature"), "signature_" + reason
	}
	event, err := eventOf(body)
	if err != nil {
		r.log.Warn("webhook refused: unusable body", "remote", req.RemoteAddr, "bytes", len(body), logging.KeyError, err)
		return reply(w, http.StatusBadRequest, err.Error()), "bad_body"
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.opts.PublishTimeout)
	defer cancel()
	id := MsgID(body)
	ack, err := r.opts.JS.Publish(ctx, r.opts.Topology.WebhookSubject(event), body, jetstream.WithMsgID(id))
	if err != nil {
		r.log.Warn("webhook not stored; answering 503 so OpenMoove retries", "event", event, logging.KeyMsgID, id, logging.KeyError, err)
		w.Header().Set("Retry-After", "10")
		return reply(w, http.StatusServiceUnavailable, "not stored, retry later"), "unavailable"
	}
	r.log.Debug("webhook stored", "event", event, logging.KeyMsgID, id, logging.KeySeq, ack.Sequence, "duplicate", ack.Duplicate)
	if ack.Duplicate {
		return reply(w, http.StatusOK, "duplicate"), "duplicate"
	}
	return reply(w, http.StatusOK, "stored"), "stored"
}

// readBody reads at most MaxBytes of the body; a non-zero code is the
// answer already sent instead. A declared length over the cap is refused
// before a byte of the body is read, and the connection is closed rather
// than drained.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request) ([]byte, int, string) {
	if req.ContentLength > r.opts.MaxBytes {
		return nil, r.tooLarge(w, req, req.ContentLength), "too_large"
	}
	buf := bytes.NewBuffer(make([]byte, 0, min(max(req.ContentLength, 512), r.opts.MaxBytes)))
	_, err := buf.ReadFrom(http.MaxBytesReader(w, req.Body, r.opts.MaxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, r.tooLarge(w, req, -1), "too_large"
		}
		// A stalled body ends here at --http-read-timeout.
		r.refused(req, "webhook refused: body unreadable", logging.KeyError, err)
		w.Header().Set("Connection", "close")
		return nil, reply(w, http.StatusBadRequest, "cannot read body"), "unreadable"
	}
	return buf.Bytes(), 0, ""
}

func (r *Receiver) tooLarge(w http.ResponseWriter, req *http.Request, declared int64) int {
	r.refused(req, "webhook refused: body too large", "max_bytes", r.opts.MaxBytes, "content_length", declared)
	w.Header().Set("Connection", "close")
	return reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", r.opts.MaxBytes))
}

// refused logs a refusal of an unauthenticated request, at most once per
// WarnEvery: anyone can send them, and one line each would let a stranger
// flood the logs.
func (r *Receiver) refused(req *http.Request, msg string, args ...any) {
	ok, suppressed := r.refusals.allow(time.Now())
	if !ok {
		return
	}
	r.log.Warn(msg, append(args, "remote", req.RemoteAddr, "suppressed", suppressed)...)
}

// eventOf reads the event name, which becomes the subject's tail: dotted
// tokens of letters, digits, '_' and '-'.
func eventOf(body []byte) (string, error) {
	var env struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return "", errors.New("body is not a JSON object")
	}
	if !validEvent(env.Event) {
		return "", fmt.Errorf("event %q is not a dotted name such as property.milestone.updated", env.Event)
	}
	return env.Event, nil
}

func validEvent(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i, c := range s {
		switch {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'):
		default:
			return false
		}
	}
	return true
}

func reply(w http.ResponseWriter, code int, status string) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // the status reads as written, < and > included
	_ = enc.Encode(map[string]string{"status": status})
	return code
}
