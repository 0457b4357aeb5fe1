// Package ruletest runs omq's Prometheus alert rule tests
// (deploy/prometheus/omq-alerts.test.yml) with promtool's own rule unit
// tester inside go test. It is a module of its own so that Prometheus and
// its dependencies stay out of omq's go.mod.
package ruletest
