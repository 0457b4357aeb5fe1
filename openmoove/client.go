package openmoove

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	pathpkg "path"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/internal/tracing"
)

// maxBody caps how much of an answer is read; the API's answers are small.
const maxBody = 4 << 20

// Client calls the OpenMoove Partner API. Each method makes exactly one HTTP
// attempt: retry policy lives in the worker loop (and Retry, for CLI
// commands). A Client is safe for concurrent use.
type Client struct {
	cfg   Config
	base  *url.URL
	now   func() time.Time
	clock apiClock
}

// New returns a Client for cfg after filling defaults and validating it.
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.BaseURL) // Validate parsed it
	return &Client{cfg: cfg, base: base, now: time.Now}, nil
}

// BaseURL returns the API root the client calls.
func (c *Client) BaseURL() string { return c.cfg.BaseURL }

// CloseIdleConnections closes the kept-alive connections of the client's
// transport; call it when done with the Client (goleak-clean tests).
func (c *Client) CloseIdleConnections() { c.cfg.HTTPClient.CloseIdleConnections() }

// String describes the client without its key.
func (c *Client) String() string { return "openmoove.Client{" + c.cfg.BaseURL + "}" }

// Format makes every verb use String, so no %+v can print the key.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// do sends one request. path is relative to the base URL ("/clients/");
// in, when non-nil, is the JSON body; out, when non-nil, receives the
// decoded answer.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) (err error) {
	ctx, span := startSpan(ctx, method, path)
	defer func() { endSpan(span, err) }()
	return c.send(ctx, method, path, query, in, out, span)
}

// startSpan starts the call's span as a child of the span in ctx (the
// worker's delivery): outside a trace it is a no-op. BeforeRequest runs
// inside it, so the budget's wait shows as part of the call.
func startSpan(ctx context.Context, method, path string) (context.Context, trace.Span) {
	ctx, span := tracing.FromContext(ctx).Start(ctx, method+" "+tracing.Route(path), trace.WithSpanKind(trace.SpanKindClient))
	if span.IsRecording() {
		// The path holds ids only (transaction UUIDs, property numbers).
		span.SetAttributes(tracing.KeyHTTPMethod.String(method), tracing.KeyURLPath.String(path))
	}
	return ctx, span
}

// endSpan records the answer's status and the failure's kind; not the
// error's text, which may quote the API about a person.
func endSpan(span trace.Span, err error) {
	defer span.End()
	if !span.IsRecording() {
		return
	}
	var e *Error
	if errors.As(err, &e) && e.Status != 0 {
		span.SetAttributes(tracing.KeyHTTPStatus.Int(e.Status))
	}
	if err != nil {
		kind := failure.KindOf(err).String()
		span.SetAttributes(tracing.KeyFailure.String(kind))
		span.SetStatus(codes.Error, kind)
	}
}

// send makes the one HTTP attempt of do.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in, out any, span trace.Span) error {
	info := RequestInfo{Method: method, Path: path, Mutation: method != http.MethodGet}
	if pathpkg.Clean(path) != strings.TrimSuffix(path, "/") {
		// An id of "", "." or ".." would move the request to another
		// endpoint once the URL is cleaned: refuse it unsent.
		return &Error{Method: method, Path: path, Kind: failure.Permanent,
			Detail: `refused unsent: an id in the path is empty, "." or ".."`}
	}
	if c.cfg.BeforeRequest != nil {
		if err := c.cfg.BeforeRequest(ctx, info); err != nil {
			return &notSentError{method: method, path: path, err: err}
		}
	}
	req, err := c.newRequest(ctx, method, path, query, in)
	if err != nil {
		return &Error{Method: method, Path: path, Kind: failure.Permanent, Detail: "build request", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	start := time.Now()
	resp, err := c.cfg.HTTPClient.Do(req.WithContext(ctx))
	if err != nil {
		if c.cfg.OnResponse != nil {
			c.cfg.OnResponse(info, 0, time.Since(start))
		}
		return c.networkError(method, path, err)
	}
	defer resp.Body.Close()
	if span.IsRecording() {
		span.SetAttributes(tracing.KeyHTTPStatus.Int(resp.StatusCode))
	}
	c.clock.observe(resp.Header, time.Now())
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if c.cfg.OnResponse != nil {
		c.cfg.OnResponse(info, resp.StatusCode, time.Since(start))
	}
	if c.cfg.OnRateLimit != nil {
		if rl, ok := parseRateLimit(resp.Header); ok {
			c.cfg.OnRateLimit(rl)
		}
	}
	if err != nil {
		return c.networkError(method, path, fmt.Errorf("read answer: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newHTTPError(method, path, resp, body, c.now())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		// Retrying will not fix an answer that breaks the contract.
		return &Error{Method: method, Path: path, Status: resp.StatusCode, Kind: failure.Permanent,
			Detail: "decode answer: " + err.Error()}
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, query url.Values, in any) (*http.Request, error) {
	u := c.base.JoinPath(path)
	if strings.HasSuffix(path, "/") && !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery = query.Encode()
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-API-KEY", c.cfg.APIKey)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	return req, nil
}

// networkError classifies a request that got no answer as Transient. The
// url.Error is unwrapped so the URL stays out of the message, and the key is
// scrubbed in case a transport echoed a header.
func (c *Client) networkError(method, path string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	detail := "no answer"
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled):
		detail = "canceled"
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		detail = "timed out"
	}
	if strings.Contains(err.Error(), c.cfg.APIKey) {
		err = redactedError{msg: strings.ReplaceAll(err.Error(), c.cfg.APIKey, redactKey(c.cfg.APIKey)), err: err}
	}
	return &Error{Method: method, Path: path, Kind: failure.Transient, Detail: detail, Err: err}
}

// redactedError keeps the chain (errors.Is) of an error whose text had to be
// scrubbed.
type redactedError struct {
	msg string
	err error
}

func (r redactedError) Error() string { return r.msg }
func (r redactedError) Unwrap() error { return r.err }

// pageQuery builds ?page=&page_size=, leaving out zero values so the API's
// defaults apply.
func pageQuery(page, pageSize int) url.Values {
	q := url.Values{}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if pageSize > 0 {
		q.Set("page_size", strconv.Itoa(pageSize))
	}
	return q
}

// propertyPath returns "/properties/{id}/" + rest; id is the transaction UUID
// or the numeric property id.
func propertyPath(id string, rest ...string) string {
	p := "/properties/" + url.PathEscape(id) + "/"
	for _, r := range rest {
		p += r + "/"
	}
	return p
}
