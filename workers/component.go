package workers

import "context"

// Component is the role contract every long-running part of omq keeps: a
// Worker, the Mover, and inside omq the poller, its follower, the monitor
// and the sandbox server (openmoove/sandbox). omq run starts the
// components of its roles in order and stops them in reverse; a component
// of your own that keeps the contract can be run and stopped the same way.
//
//   - Name names the component in logs and in Stop's errors.
//   - Start returns once the component runs. ctx bounds the start only:
//     the goroutines it starts are the component's, and Stop ends them.
//   - Stop stops accepting work, then waits for the work in flight until
//     ctx ends. Whatever happens it runs its cleanup (metrics
//     unregistered, subscriptions drained). If ctx ends first it returns
//     an error that names the component and what did not stop, wrapping
//     ctx.Err() ("workers: milestones: 3 handlers still running, their
//     messages will be redelivered: context deadline exceeded"). Stop is
//     idempotent: a second call returns the first call's result.
//
// The contract lives here, in a public package, because public components
// (Worker, Mover, sandbox.Server) keep it and omq's own packages assemble
// them; an interface in internal/ could not be named by the public ones.
type Component interface {
	Name() string
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
}

var (
	_ Component = (*Worker)(nil)
	_ Component = (*Mover)(nil)
)
