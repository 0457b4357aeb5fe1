// Package apicheck holds a test, and nothing else, that keeps omq's public
// packages usable from outside the module: no exported identifier of a
// package outside internal/ may mention a type from under internal/, which
// no other module can import.
package apicheck
