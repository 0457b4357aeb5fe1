// Package deploy holds what an operator needs to run omq outside a laptop:
// nats/ a single JetStream server config, cluster/ a three-node cluster,
// systemd/ a unit for omq run with an example settings file, prometheus/
// alerting rules on omq's metrics. The Go code here only tests that those
// files stay valid.
package deploy
