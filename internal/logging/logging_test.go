package logging_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openmoove/omq/internal/logging"
)

func TestAutoIsJSONWhenNotATerminal(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := logging.New(&buf, "info", "auto")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden")
	l.Info("ready", logging.KeyComponent, "test", "wait", 90*time.Second)
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("want one JSON line, got %q: %v", buf.String(), err)
	}
	if rec["msg"] != "ready" || rec["component"] != "test" || rec["wait"] != "1m30s" {
		t.Fatalf("record %v", rec)
	}
}

func TestTextFormat(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := logging.New(&buf, "debug", "text")
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("shown", "k", "v")
	if !strings.Contains(buf.String(), "shown") || !strings.Contains(buf.String(), "k=v") || strings.Contains(buf.String(), "\x1b[") {
		t.Fatalf("text log %q: want plain text without colour codes off a terminal", buf.String())
	}
}

func TestBadSettings(t *testing.T) {
	t.Parallel()
	if _, err := logging.New(&bytes.Buffer{}, "loud", "auto"); err == nil {
		t.Fatal("accepted level loud")
	}
	if _, err := logging.New(&bytes.Buffer{}, "info", "xml"); err == nil {
		t.Fatal("accepted format xml")
	}
}
