// Package retry holds the two pieces every retry loop in omq needs: an
// exponential backoff with jitter that never gives up on its own (the caller
// bounds attempts or time, because each loop has its own limit), and a
// sleep that ends early when the caller stops.
package retry
