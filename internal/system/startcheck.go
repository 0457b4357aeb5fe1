package system

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/logging"
	"github.com/openmoove/omq/openmoove"
)

// startCheckTimeout bounds the start-up API check: a wrong URL or key shows
// within a second of start, and a slow API delays start by no more.
const startCheckTimeout = time.Second

// checkAPI makes one cheap call (GET /products/, through the shared budget)
// so that a wrong --openmoove-url or key is named at start instead of when
// the first event fails. It never stops omq: an API that is merely down is
// what the queues are for, and even a wrong key only pauses the workers
// until the operator fixes it. Exactly one line is logged, naming the
// setting to fix; neither the key nor the URL's credentials appear in it.
func checkAPI(ctx context.Context, log *slog.Logger, c *openmoove.Client, rawURL, key string) {
	log = log.With(logging.KeyComponent, "api-check", "url", config.RedactURL(rawURL))
	_, err := c.Products(ctx)
	if err == nil {
		log.Info("OpenMoove API check passed: the URL and key are accepted")
		return
	}
	msg := scrub(err.Error(), rawURL, key)
	var ne net.Error
	switch status := openmoove.StatusOf(err); {
	case errors.Is(err, openmoove.ErrNotSent):
		log.Warn("OpenMoove API check skipped: the shared API budget is spent or NATS did not answer; the URL and key are checked by the first call", logging.KeyError, msg)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		log.Error("OpenMoove API refused the API key: set the right one with --openmoove-api-key or OMQ_OPENMOOVE_API_KEY_FILE (or OMQ_OPENMOOVE_API_KEY); the workers pause until it is accepted",
			"status", status, logging.KeyError, msg)
	case status == http.StatusNotFound:
		log.Error("OpenMoove API base URL looks wrong: GET products/ answered 404; set --openmoove-url to the Partner API base, ending in /api/v1/partners/",
			"status", status, logging.KeyError, msg)
	case status == 0 && !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()):
		log.Error("cannot reach the OpenMoove API: check --openmoove-url (host, port, http or https, certificate) and that this host can reach it",
			logging.KeyError, msg)
	default:
		log.Warn("OpenMoove API is not answering well at start; omq goes on and the queues hold the work until it does",
			"status", status, logging.KeyError, msg)
	}
}

// scrub takes the key and the URL's password out of an error's text, in
// case a transport or a proxy echoed them.
func scrub(msg, rawURL, key string) string {
	if key != "" {
		msg = strings.ReplaceAll(msg, key, "[redacted]")
	}
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "[redacted]")
		}
	}
	return msg
}
