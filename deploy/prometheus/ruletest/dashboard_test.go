package ruletest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

const dashboardFile = "../../grafana/omq-dashboard.json"

type panel struct {
	Title   string  `json:"title"`
	Type    string  `json:"type"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// Every expression of the Grafana dashboard is PromQL that Prometheus
// parses, and every panel that is not a row queries something. (That each
// omq_* metric it names is exported by a running omq is checked by
// internal/system's TestDocumentedMetricsExist.)
func TestDashboardExpressionsParse(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" {
		t.Errorf("%s: no uid; provisioning would make a new dashboard on every load", dashboardFile)
	}
	// Grafana replaces its variables before Prometheus sees the query.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h")
	p := parser.NewParser(parser.Options{})
	n := 0
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, pn := range ps {
			walk(pn.Panels)
			if pn.Type == "row" {
				continue
			}
			if len(pn.Targets) == 0 {
				t.Errorf("panel %q queries nothing", pn.Title)
			}
			for _, tg := range pn.Targets {
				n++
				if _, err := p.ParseExpr(vars.Replace(tg.Expr)); err != nil {
					t.Errorf("panel %q: %q: %v", pn.Title, tg.Expr, err)
				}
			}
		}
	}
	walk(d.Panels)
	if n == 0 {
		t.Fatalf("%s has no queries", dashboardFile)
	}
}
