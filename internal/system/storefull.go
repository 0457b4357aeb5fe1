package system

import (
	"errors"
	"fmt"

	"github.com/openmoove/omq/internal/natserr"
)

// provisionError is streams.Apply's error at start with what to do when
// the store cannot hold omq's streams: the DLQ reserves --dlq-max-bytes
// (1 GiB by default) up front, more than a small disk's JetStream has, and
// the server's own "insufficient storage resources available" names
// neither the flag nor the space.
func (s *System) provisionError(err error) error {
	if !natserr.StoreFull(err) {
		return fmt.Errorf("provision streams: %w", err)
	}
	cfg := s.deps.Config
	space := "less than that free"
	if s.embedded != nil {
		if limit, free, serr := s.embedded.StoreSpace(); serr == nil {
			space = fmt.Sprintf("%s free of its %s max_store", mib(free), mib(limit))
			if s.opts.EmbeddedMaxStore == 0 {
				space += fmt.Sprintf(" (75%% of the disk's free space under --data-dir %s at start)", cfg.DataDir)
			}
		}
	}
	return fmt.Errorf("provision streams: the JetStream store cannot hold them: --dlq-max-bytes reserves %s for the dead-letter stream up front and the store has %s; lower --dlq-max-bytes (at least 1048576, e.g. --dlq-max-bytes 104857600) or free disk space: %w",
		mib(cfg.DLQMaxBytes), space, errors.Unwrap(natserr.Explain(err)))
}

// mib is a byte count as the flags' users think of disks: MiB, one decimal.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB (%d bytes)", float64(n)/(1<<20), n) }
