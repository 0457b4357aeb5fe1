// Package testkit holds the set-up that omq's tests repeated package after
// package: a goroutine-safe buffer for the logs of a running component, an
// embedded JetStream with omq's streams, and the sandbox over real HTTP with
// a client for it. Never mocks: what it starts is real and is stopped in
// t.Cleanup.
//
// Only tests import it; the packages it builds on (natstest, streams,
// openmoove, sandbox) cannot, in their own tests.
package testkit
