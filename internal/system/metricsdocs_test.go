package system_test

import (
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// metricName is how the docs write a metric: omq's prefix, lower case; a
// trailing _* names a family of metrics by their prefix (omq_consumer_*).
var metricName = regexp.MustCompile(`\bomq_[a-z0-9_]*[a-z0-9](_\*)?`)

// documentedMetrics maps each omq_* name the operator's documents (the
// README, docs/, and the alert rules and dashboards shipped under deploy/) mention to the
// files that mention it.
func documentedMetrics(t *testing.T, root string) map[string][]string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md")}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	require.NoError(t, err)
	files = append(files, docs...)
	err = filepath.WalkDir(filepath.Join(root, "deploy"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains([]string{".yml", ".yaml", ".rules", ".md", ".json"}, filepath.Ext(path)) {
			files = append(files, path)
		}
		return err
	})
	require.NoError(t, err)
	names := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		rel, _ := filepath.Rel(root, f)
		for _, n := range metricName.FindAllString(string(b), -1) {
			if !slices.Contains(names[n], rel) {
				names[n] = append(names[n], rel)
			}
		}
	}
	return names
}

// exported reads the families a running omq exports: those /metrics shows
// (with their type), and those registered whose labelled series have not
// been observed yet (a webhook counter before the first webhook), from the
// same registry /metrics serves.
func exported(t *testing.T, url string, reg *prometheus.Registry) (types map[string]string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	types = map[string]string{}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	descs := make(chan *prometheus.Desc)
	go func() { reg.Describe(descs); close(descs) }()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := fqName.FindStringSubmatch(d.String()); m != nil && types[m[1]] == "" {
			types[m[1]] = "registered, no series yet"
		}
	}
	return types
}

// Every metric the README, the runbooks and the shipped alert rules name
// exists in /metrics of a running omq with every role on, so an alert
// written from the docs can fire. A histogram may be named by its
// _bucket, _sum or _count series.
func TestDocumentedMetricsExist(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	documented := documentedMetrics(t, root)
	require.NotEmpty(t, documented, "the docs name no metric: is the root %s right?", root)

	c := testConfig(t)
	c.IngestToken = "docs-test-ingest-token"
	c.WebhookSecrets = []string{"docs-test-webhook-secret"}
	s := start(t, c, nil)
	types := exported(t, "http://"+s.HTTPAddr()+"/metrics", s.Deps().Metrics)

	for name, files := range documented {
		if types[name] != "" {
			continue
		}
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(types)), func(n string) bool { return strings.HasPrefix(n, prefix) }) {
				t.Errorf("%s names %s, but /metrics exports no metric of that prefix", strings.Join(files, ", "), name)
			}
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		// A histogram with no observation yet is registered but shows no
		// type; its _bucket series appear with the first one.
		if typ := types[base]; base != name && (typ == "histogram" || typ == "summary" || typ == "registered, no series yet") {
			continue
		}
		t.Errorf("%s names %s, which /metrics does not export", strings.Join(files, ", "), name)
	}
}
