// Package logging builds omq's *slog.Logger: coloured text through tint on
// a terminal, JSON lines otherwise (or as --log-format says). Log keys that
// several packages share are constants here, so a query over the logs finds
// every line about one message.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"
)

// Shared log keys.
const (
	KeyComponent = "component"
	KeyWorker    = "worker"
	KeyStream    = "stream"
	KeySubject   = "subject"
	KeySeq       = "seq"
	KeyMsgID     = "msg_id"
	KeyError     = "error"
	KeyKind      = "kind"
	KeyTx        = "transaction_id"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format ("auto", "text", "json"). auto means coloured text when
// w is a terminal and JSON otherwise.
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "auto":
		if isTerminal(w) {
			return slog.New(tint.NewHandler(w, &tint.Options{Level: lvl, TimeFormat: time.TimeOnly})), nil
		}
		return slog.New(slog.NewJSONHandler(w, jsonOptions(lvl))), nil
	case "text":
		return slog.New(tint.NewHandler(w, &tint.Options{Level: lvl, TimeFormat: time.TimeOnly, NoColor: !isTerminal(w)})), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, jsonOptions(lvl))), nil
	}
	return nil, fmt.Errorf("log format %q: want auto, text or json", format)
}

// jsonOptions write durations as "1m30s" rather than slog's nanoseconds,
// which a person reading a log line cannot take in.
func jsonOptions(lvl slog.Level) *slog.HandlerOptions {
	return &slog.HandlerOptions{Level: lvl, ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Value.Kind() == slog.KindDuration {
			a.Value = slog.StringValue(a.Value.Duration().String())
		}
		return a
	}}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}

// Discard is a logger that drops everything.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
