// Package test validates omq's Kubernetes manifests (deploy/kubernetes)
// strictly against the Kubernetes API types and prometheus-operator's
// ServiceMonitor, and renders the kustomizations in memory. It is a module
// of its own so that omq's go.mod does not carry the Kubernetes libraries.
package test
