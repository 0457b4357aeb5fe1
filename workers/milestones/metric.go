package milestones

import dto "github.com/prometheus/client_model/go"

type promMetric struct{ dto.Metric }
