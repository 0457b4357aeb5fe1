package config

import (
	"github.com/openmoove/omq/streams"
	"github.com/openmoove/omq/workers"
)

// Topology is the streams topology the settings name (--subject-prefix,
// --replicas, --dlq-max-bytes): the one place omq builds it from settings,
// so every command and role agrees on it.
func (c Config) Topology() streams.Topology {
	c.WithDefaults()
	return streams.Topology{Prefix: c.SubjectPrefix, Replicas: c.Replicas, DLQMaxBytes: c.DLQMaxBytes}.WithDefaults()
}

// BreakerGroup is the breaker group of every omq worker (they all call
// OpenMoove).
const BreakerGroup = "openmoove"

// Worker is a workers.Config with the numbers and the topology taken from
// the settings, in BreakerGroup. The caller sets Name, Stream, Subjects, Handler, Probe,
// Logger and Metrics.
func (c Config) Worker() workers.Config {
	c.WithDefaults()
	return workers.Config{
		Concurrency: c.Concurrency, AckWait: c.AckWait, MaxDeliver: c.MaxDeliver,
		MaxFailures: c.MaxFailures, RetryMin: c.RetryMin, RetryMax: c.RetryMax,
		InProcessRetries: c.InProcessRetries, InProcessRetryWindow: c.InProcessRetryWindow,
		BreakerTransient: c.BreakerTransient, PauseMin: c.PauseMin, PauseMax: c.PauseMax,
		// Every omq worker calls the one OpenMoove API: the first to find it
		// down pauses the others too, and one good probe resumes them all.
		BreakerGroup: BreakerGroup,
		Topology:     c.Topology(),
	}
}
