// Package httpserve holds the limits of every HTTP listener omq starts — the
// main listener of omq run (health, metrics, ingest, webhooks) and the
// sandbox — and the one constructor that applies them.
//
// A listener that strangers can reach must not let them hold memory or
// connections for ever: without limits, 300 unauthenticated connections that
// each send ~1 MB and stall took omq from 40 MB to 385 MB RSS, and idle
// keep-alives were never closed. Listen therefore always sets read, write and
// idle timeouts, a header size cap and a cap on concurrent connections
// (Limits; zero fields take the documented defaults). Body caps are per route
// and belong to the handlers (http.MaxBytesReader).
//
//	srv, err := httpserve.Listen(ctx, httpserve.Options{Addr: "127.0.0.1:8080", Handler: mux, Limits: limits, Logger: log})
//	go srv.Serve()
//	defer srv.Shutdown(ctx)
//
// Every listener speaks HTTP/1.1 only: an HTTP/2 connection multiplexes
// hundreds of requests, each holding a body, past what MaxConns bounds. With
// Options.TLS set the listener speaks only HTTPS; a plain HTTP request gets
// Go's 400 "client sent an HTTP request to an HTTPS server".
package httpserve
