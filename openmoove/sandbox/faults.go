package sandbox

import (
	"fmt"
	"net/http"
)

// Faults are failures the sandbox injects into partner calls. They are also
// the JSON body of POST /_sandbox/faults, which replaces them whole (a field
// left out is off). The admin API and the journal are never faulted.
//
// Order: the latency is served first; then Outage, then ForceStatus, then
// ErrorRate decide the answer. A faulted answer skips authentication and the
// rate limiter (it does not spend the key's budget), as a load balancer's
// answer would.
type Faults struct {
	// Outage makes every partner call answer 503.
	Outage bool `json:"outage"`
	// LatencyMS delays every partner call by this many milliseconds.
	LatencyMS int `json:"latency_ms"`
	// JitterMS adds a uniformly random 0..JitterMS milliseconds to the delay.
	JitterMS int `json:"jitter_ms"`
	// ErrorRate is the probability (0..1) that a call answers 500.
	ErrorRate float64 `json:"error_rate"`
	// ForceStatus, when not 0, is the status every partner call answers,
	// with the body the API sends for it (a 429 carries Retry-After: 1).
	ForceStatus int `json:"force_status"`
}

// Validate names the first field out of range.
func (f Faults) Validate() error {
	switch {
	case f.LatencyMS < 0 || f.JitterMS < 0:
		return fmt.Errorf("%w: latency_ms and jitter_ms must be 0 or more", ErrInvalidConfig)
	case f.ErrorRate < 0 || f.ErrorRate > 1:
		return fmt.Errorf("%w: error_rate must be between 0 and 1, got %g", ErrInvalidConfig, f.ErrorRate)
	case f.ForceStatus != 0 && (f.ForceStatus < 200 || f.ForceStatus > 599):
		return fmt.Errorf("%w: force_status must be 0 (off) or an HTTP status 200..599, got %d", ErrInvalidConfig, f.ForceStatus)
	}
	return nil
}

// faultStatus decides whether a call is faulted and with which status; 0
// means not faulted. roll is a uniform number in [0,1).
func (f Faults) faultStatus(roll float64) int {
	switch {
	case f.Outage:
		return http.StatusServiceUnavailable
	case f.ForceStatus != 0:
		return f.ForceStatus
	case f.ErrorRate > 0 && roll < f.ErrorRate:
		return http.StatusInternalServerError
	}
	return 0
}

// Bodies of the API's error answers.
const (
	detailInvalidKey  = "Invalid API key provided"
	detailForbidden   = "You do not have permission to perform this action"
	detailNotFound    = "Not found."
	detailServerError = "A server error occurred."
	detailUnavailable = "Service temporarily unavailable, try again later."
)

// statusBody is the body the API sends with an error status.
func statusBody(status int) map[string]any {
	var d string
	switch status {
	case http.StatusBadRequest:
		d = "Invalid input."
	case http.StatusUnauthorized:
		d = detailInvalidKey
	case http.StatusForbidden:
		d = detailForbidden
	case http.StatusNotFound:
		d = detailNotFound
	case http.StatusTooManyRequests:
		d = throttleDetail(1)
	case http.StatusServiceUnavailable:
		d = detailUnavailable
	default:
		if status >= 500 {
			d = detailServerError
		} else {
			d = http.StatusText(status)
		}
	}
	return map[string]any{"detail": d}
}

func throttleDetail(secs int) string {
	return fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secs)
}
