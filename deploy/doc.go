// Package deploy holds what an operator needs to run omq outside a laptop:
// nats/ a single JetStream server config, cluster/ a three-node cluster
// (cluster/local/ the same on one machine's loopback), systemd/ a unit for
// omq run with an example settings file, prometheus/ alerting rules on
// omq's metrics, kubernetes/ manifests (validated by the test module in
// kubernetes/test). The Go code here only tests that those files, and the
// repository's docker-compose.yml, stay valid: every omq command and OMQ_*
// variable in them is run through omq's own command line and settings.
package deploy
