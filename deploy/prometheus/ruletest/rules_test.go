package ruletest

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"go.yaml.in/yaml/v2"
)

const (
	rulesFile = "../omq-alerts.yml"
	testsFile = "../omq-alerts.test.yml"
	runbooks  = "../../../docs/runbooks.md"
)

// The same exit codes promtool's main package defines.
const (
	successExitCode = 0
	failureExitCode = 1
)

// The rule tests pass under promtool's semantics: each alert fires on the
// series built to fire it, with the labels and annotations expected, and
// stays quiet on the others.
func TestAlertRules(t *testing.T) {
	opts := promqltest.LazyLoaderOpts{EnableAtModifier: true, EnableNegativeOffset: true}
	if code := RulesUnitTest(opts, parser.NewParser(parser.Options{}), nil, false, false, false, testsFile); code != successExitCode {
		t.Fatalf("promtool test rules %s failed (exit %d); the reasons are printed above", testsFile, code)
	}
}

type ruleFile struct {
	Groups []struct {
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type testFile struct {
	Tests []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func read(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// Every alert is tested both ways: at least one case where it fires and one
// where it must not, so a rule that always (or never) fires fails.
func TestEveryAlertFiresAndStaysQuiet(t *testing.T) {
	var rules ruleFile
	var tests testFile
	read(t, rulesFile, &rules)
	read(t, testsFile, &tests)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if !fires[r.Alert] {
				t.Errorf("%s: no test where it fires", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("%s: no test where it stays quiet", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
}

// Every alert tells the person it wakes what happened and where to read
// what to do: a summary, and a runbook_url whose anchor is a heading of
// docs/runbooks.md.
func TestEveryAlertHasASummaryAndARunbook(t *testing.T) {
	var rules ruleFile
	read(t, rulesFile, &rules)
	b, err := os.ReadFile(runbooks)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	heading := regexp.MustCompile(`(?m)^#+\s+(.+)$`)
	for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
		anchors[githubAnchor(m[1])] = true
	}
	const prefix = "https://github.com/openmoove/omq/blob/main/docs/runbooks.md#"
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Annotations["summary"] == "" {
				t.Errorf("%s: no summary annotation", r.Alert)
			}
			u := r.Annotations["runbook_url"]
			anchor, ok := strings.CutPrefix(u, prefix)
			if !ok {
				t.Errorf("%s: runbook_url %q does not point into %s", r.Alert, u, prefix)
				continue
			}
			if !anchors[anchor] {
				t.Errorf("%s: runbook_url anchor #%s is no heading of docs/runbooks.md", r.Alert, anchor)
			}
		}
	}
}

// githubAnchor is the id GitHub gives a Markdown heading.
func githubAnchor(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// parseTime is promtool's (cmd/promtool/query.go), which its unit tester
// uses for start_timestamp.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		s, ns := math.Modf(t)
		return time.Unix(int64(s), int64(ns*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}
