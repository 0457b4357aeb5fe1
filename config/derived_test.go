package config_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// Moved from workers (TestConfigFromSettings) with workers.ConfigFrom, now
// config.Config.Worker: the assertions are the same.
func TestConfigFromSettings(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	c.InProcessRetries = 2
	cfg := c.Worker()
	require.Equal(t, 30*time.Second, cfg.AckWait)
	require.Equal(t, 20, cfg.MaxDeliver)
	require.Equal(t, 8, cfg.MaxFailures)
	require.Equal(t, 2, cfg.InProcessRetries)
	require.Equal(t, "OPENMOOVE_DLQ", cfg.Topology.DLQStream())
}

// The settings' defaults are the packages' own: a worker or topology built
// from default settings equals one the packages default themselves.
func TestDefaultsAreThePackagesDefaults(t *testing.T) {
	t.Parallel()
	c := config.Defaults()
	want := workers.Config{}.WithDefaults()
	want.Logger = nil
	want.ProbeEvery = 0                     // no setting: the worker's own default
	want.BreakerGroup = config.BreakerGroup // every omq worker calls OpenMoove
	require.Equal(t, want, c.Worker())
	require.Equal(t, streams.Topology{}.WithDefaults(), c.Topology())
}

// Every command and role builds the topology from the same settings: none
// drops the replicas or the DLQ cap.
func TestTopologyFromSettings(t *testing.T) {
	t.Parallel()
	var c config.Config
	c.SubjectPrefix, c.Replicas, c.DLQMaxBytes = "acme", 3, 2<<20
	top := c.Topology()
	require.Equal(t, streams.Topology{Prefix: "acme", Replicas: 3, DLQMaxBytes: 2 << 20}, top)
	require.Equal(t, "ACME_DLQ", top.DLQStream())
	require.Equal(t, top, c.Worker().Topology)
}
