package test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	base       = "../base"
	production = "../overlays/production"
)

// objects holds the manifests of one kustomization, decoded strictly.
type objects struct {
	deployments     []appsv1.Deployment
	services        []corev1.Service
	configMaps      []corev1.ConfigMap
	pdbs            []policyv1.PodDisruptionBudget
	jobs            []batchv1.Job
	serviceMonitors []monitoringv1.ServiceMonitor
}

// decodeStrict decodes one manifest into its API type by kind, refusing
// fields the type does not have (a misspelt or misplaced key would
// otherwise be dropped silently by the API server's client).
func (o *objects) decodeStrict(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	strict := func(v any) error { return yaml.UnmarshalStrict(doc, v) }
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 Deployment":
		var d appsv1.Deployment
		err := strict(&d)
		o.deployments = append(o.deployments, d)
		return err
	case "v1 Service":
		var s corev1.Service
		err := strict(&s)
		o.services = append(o.services, s)
		return err
	case "v1 ConfigMap":
		var c corev1.ConfigMap
		err := strict(&c)
		o.configMaps = append(o.configMaps, c)
		return err
	case "policy/v1 PodDisruptionBudget":
		var p policyv1.PodDisruptionBudget
		err := strict(&p)
		o.pdbs = append(o.pdbs, p)
		return err
	case "batch/v1 Job":
		var j batchv1.Job
		err := strict(&j)
		o.jobs = append(o.jobs, j)
		return err
	case "monitoring.coreos.com/v1 ServiceMonitor":
		var s monitoringv1.ServiceMonitor
		err := strict(&s)
		o.serviceMonitors = append(o.serviceMonitors, s)
		return err
	}
	return fmt.Errorf("apiVersion %q kind %q: not a kind omq ships; add it to decodeStrict", head.APIVersion, head.Kind)
}

func splitDocs(t *testing.T, b []byte) [][]byte {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		require.NoError(t, err)
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// render builds a kustomization in memory, as kubectl kustomize would.
func render(t *testing.T, dir string) *objects {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	out, err := m.AsYaml()
	require.NoError(t, err)
	o := &objects{}
	for _, d := range splitDocs(t, out) {
		require.NoError(t, o.decodeStrict(d), "%s rendered:\n%s", dir, d)
	}
	return o
}

// Every file the base lists is valid on its own, strictly, before
// kustomize touches it.
func TestBaseFilesAreStrictlyValid(t *testing.T) {
	t.Parallel()
	var k struct {
		Resources []string `json:"resources"`
	}
	b, err := os.ReadFile(filepath.Join(base, "kustomization.yaml"))
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &k))
	files, err := filepath.Glob(filepath.Join(base, "*.yaml"))
	require.NoError(t, err)
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		require.Contains(t, k.Resources, filepath.Base(f), "%s is in the base but not listed in its kustomization.yaml", f)
	}
	for _, r := range k.Resources {
		b, err := os.ReadFile(filepath.Join(base, r))
		require.NoError(t, err)
		o := &objects{}
		for _, d := range splitDocs(t, b) {
			require.NoError(t, o.decodeStrict(d), "%s:\n%s", r, d)
		}
	}
}

// The strict decoder is not a formality: a misspelt field fails it.
func TestStrictDecodeRefusesUnknownFields(t *testing.T) {
	t.Parallel()
	bad := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 2\n")
	require.ErrorContains(t, (&objects{}).decodeStrict(bad), `unknown field "replica"`)
	badSM := []byte("apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: x\nspec:\n  endpoint: []\n")
	require.ErrorContains(t, (&objects{}).decodeStrict(badSM), `unknown field "endpoint"`)
}

func TestBaseRendersWhatOmqNeeds(t *testing.T) {
	t.Parallel()
	o := render(t, base)
	checkWorkloads(t, o)
	roles := map[string]bool{}
	for _, d := range o.deployments {
		args := d.Spec.Template.Spec.Containers[0].Args
		require.GreaterOrEqual(t, len(args), 3, d.Name)
		require.Equal(t, []string{"run", "--only"}, args[:2], "%s: each Deployment runs its roles", d.Name)
		for _, r := range strings.Split(args[2], ",") {
			require.False(t, roles[r], "role %s in two Deployments", r)
			roles[r] = true
		}
	}
	// Every role of omq run --help runs somewhere.
	for _, r := range []string{"deadletters", "ingest", "milestones", "properties", "webhooks", "poller", "monitor"} {
		require.True(t, roles[r], "no Deployment runs role %s", r)
	}
	require.Len(t, o.jobs, 1)
	require.Equal(t, []string{"streams", "apply", "--replicas", "3"}, o.jobs[0].Spec.Template.Spec.Containers[0].Args)
	cm := o.configMaps[0].Data
	require.Equal(t, "3", cm["OMQ_REPLICAS"], "a cluster without --replicas 3 would hold R1 streams")
	require.NotEmpty(t, cm["OMQ_NATS_URL"])
}

func TestProductionOverlay(t *testing.T) {
	t.Parallel()
	o := render(t, production)
	checkWorkloads(t, o)
	for _, d := range o.deployments {
		require.Equal(t, "omq", d.Namespace, d.Name)
		img := d.Spec.Template.Spec.Containers[0].Image
		require.Regexp(t, `:v\d+\.\d+\.\d+$`, img, "%s: production pins a released version", d.Name)
		switch d.Name {
		case "omq-milestones", "omq-properties":
			require.EqualValues(t, 3, *d.Spec.Replicas, "%s: the overlay's replicas patch applied", d.Name)
		}
	}
	require.Equal(t, "https://api.openmoove.com/api/v1/partners/", o.configMaps[0].Data["OMQ_OPENMOOVE_URL"])
}

// checkWorkloads asserts what every rendering must keep: probes on omq's
// health endpoints, limits, non-root, secrets only by reference, and
// selectors (PDB, Service, ServiceMonitor) that select something.
func checkWorkloads(t *testing.T, o *objects) {
	t.Helper()
	require.Len(t, o.deployments, 5)
	podLabels := map[string]labels.Set{}
	for _, d := range o.deployments {
		podLabels[d.Name] = d.Spec.Template.Labels
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		require.NoError(t, err)
		require.True(t, sel.Matches(labels.Set(d.Spec.Template.Labels)), "%s: selector does not match its pods", d.Name)
		spec := d.Spec.Template.Spec
		require.NotNil(t, spec.SecurityContext.RunAsNonRoot, d.Name)
		require.True(t, *spec.SecurityContext.RunAsNonRoot, d.Name)
		require.Len(t, spec.Containers, 1, d.Name)
		c := spec.Containers[0]
		require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path, d.Name)
		require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, d.Name)
		require.False(t, c.Resources.Limits.Memory().IsZero(), "%s: no memory limit", d.Name)
		require.False(t, c.Resources.Requests.Cpu().IsZero(), "%s: no CPU request", d.Name)
		require.False(t, *c.SecurityContext.AllowPrivilegeEscalation, d.Name)
		require.True(t, *c.SecurityContext.ReadOnlyRootFilesystem, d.Name)
		checkSecretsByReference(t, d.Name, spec)
	}
	for _, p := range o.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		require.NoError(t, err)
		n := 0
		for name, l := range podLabels {
			if sel.Matches(l) {
				n++
				for _, d := range o.deployments {
					if d.Name == name {
						require.Greater(t, *d.Spec.Replicas, p.Spec.MinAvailable.IntVal, "PDB %s would block every drain of %s", p.Name, name)
					}
				}
			}
		}
		require.Equal(t, 1, n, "PDB %s selects %d Deployments, want 1", p.Name, n)
	}
	svcLabels := map[string]labels.Set{}
	for _, s := range o.services {
		svcLabels[s.Name] = s.Labels
		sel := labels.SelectorFromSet(s.Spec.Selector)
		require.True(t, slices.ContainsFunc(o.deployments, func(d appsv1.Deployment) bool {
			return sel.Matches(labels.Set(d.Spec.Template.Labels))
		}), "Service %s selects no pods", s.Name)
		for _, p := range s.Spec.Ports {
			require.Equal(t, "http", p.TargetPort.StrVal, "Service %s: target the named port", s.Name)
		}
	}
	require.Len(t, o.serviceMonitors, 1)
	sm := o.serviceMonitors[0]
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	require.NoError(t, err)
	matched := 0
	for _, l := range svcLabels {
		if sel.Matches(l) {
			matched++
		}
	}
	require.Equal(t, 1, matched, "the ServiceMonitor selects %d Services, want the metrics one", matched)
	require.Equal(t, "/metrics", sm.Spec.Endpoints[0].Path)
}

// checkSecretsByReference: a secret setting reaches omq only as a file of a
// mounted Secret (OMQ_*_FILE), never as a literal value in the manifest.
func checkSecretsByReference(t *testing.T, name string, spec corev1.PodSpec) {
	t.Helper()
	secretVolumes := map[string]string{}
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = v.Secret.SecretName
		}
	}
	mounts := map[string]string{}
	for _, m := range spec.Containers[0].VolumeMounts {
		if _, ok := secretVolumes[m.Name]; ok {
			mounts[m.MountPath] = m.Name
		}
	}
	var files []string
	for _, e := range spec.Containers[0].Env {
		for _, s := range []string{"OMQ_NATS_PASSWORD", "OMQ_OPENMOOVE_API_KEY", "OMQ_INGEST_TOKEN", "OMQ_WEBHOOK_SECRET", "OMQ_NATS_TOKEN"} {
			require.NotEqual(t, s, e.Name, "%s: %s as a literal variable; use %s_FILE", name, s, s)
		}
		if strings.HasSuffix(e.Name, "_FILE") {
			require.Contains(t, mounts, filepath.Dir(e.Value), "%s: %s=%s is not in a mounted Secret", name, e.Name, e.Value)
			files = append(files, e.Name)
		}
	}
	require.Contains(t, files, "OMQ_NATS_PASSWORD_FILE", name)
	require.Contains(t, files, "OMQ_OPENMOOVE_API_KEY_FILE", name)
	for _, n := range secretVolumes {
		require.Contains(t, []string{"omq-secrets", "omq-nats"}, n, "%s: Secret %s is not one the docs tell to create", name, n)
	}
}

// Every key of nats-values.yaml is one the official chart has (or sits
// under one of its free-form maps: merge, env, resources), so a typo does
// not silently leave JetStream off.
func TestNATSValuesKeysExistInChart(t *testing.T) {
	t.Parallel()
	var ours, chart map[string]any
	for path, v := range map[string]*map[string]any{"../nats-values.yaml": &ours, "testdata/nats-chart-values.yaml": &chart} {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, yaml.Unmarshal(b, v))
	}
	checkSubset(t, "", ours, chart)
	cfg := ours["config"].(map[string]any)
	require.Equal(t, true, cfg["cluster"].(map[string]any)["enabled"])
	require.EqualValues(t, 3, cfg["cluster"].(map[string]any)["replicas"])
	js := cfg["jetstream"].(map[string]any)
	require.Equal(t, true, js["enabled"])
	require.Equal(t, true, js["fileStore"].(map[string]any)["pvc"].(map[string]any)["enabled"])
}

func checkSubset(t *testing.T, path string, ours, chart map[string]any) {
	t.Helper()
	for k, v := range ours {
		cv, ok := chart[k]
		require.True(t, ok, "nats-values.yaml: %s%s is not a value of the NATS chart", path, k)
		sub, isMap := v.(map[string]any)
		csub, chartMap := cv.(map[string]any)
		if isMap && chartMap && len(csub) > 0 {
			checkSubset(t, path+k+".", sub, csub)
		}
	}
}

// The kustomization lists no file twice and the overlay's patches target
// Deployments of the base.
func TestOverlayPatchesTargetBase(t *testing.T) {
	t.Parallel()
	o := render(t, base)
	names := map[string]bool{}
	for _, d := range o.deployments {
		names[d.Name] = true
	}
	for _, n := range []string{"omq-milestones", "omq-properties"} {
		require.True(t, names[n], "the production overlay patches %s, which the base lacks", n)
	}
}
