// Package console is omq's operator console in the browser: the Overview
// (the status model of package status, live), the dead letters and their
// actions, the Portfolio (omq report), Imports (omq import status) and the
// Audit trail, behind a login with two roles, viewer and operator.
//
// It is server-rendered html/template pages with htmx (vendored in
// static/, pinned, its licence beside it) for the parts that refresh or
// act without a reload; every asset is embedded with go:embed, nothing is
// fetched at run time and no Node build is needed. The Content-Security-
// Policy allows scripts and styles from the console only: no inline
// script, no style attribute, no eval (htmx's is turned off).
//
// omq run serves it under /console/ on --http (internal/system); omq
// console serves it alone against any running omq.
//
// # Security
//
// Users come from --console-users (name:role:bcrypt-hash lines, written by
// omq console adduser) or a single --console-token (an operator). Without
// either, every visitor is a read-only "anonymous" viewer, and New refuses
// any address but loopback. A session's id is in an HttpOnly,
// SameSite=Strict cookie (Secure under TLS); the session itself is in the
// SESSIONS bucket under the id's SHA-256 (sessions.go), so it outlives a
// restart and every replica shares it, and each request checks its user
// against the users file as it is now (read again when it changes). Every POST must carry the
// session's CSRF token (the form field csrf, or the X-CSRF-Token header
// htmx sends from the body's hx-headers), and one a browser marks
// Sec-Fetch-Site: cross-site is refused whatever it carries. Login attempts
// are rate-limited per client address and per name.
//
// # Adding a page
//
//  1. Write templates/<name>.html defining "title" and "content"; the page's
//     data is .Data, the user .User (.User.Operator() says whether to show
//     an action's button), the CSRF token .CSRF. Shared pieces live in
//     templates/_*.html. A block an htmx request swaps in is a {{define}}
//     of the same file, rendered alone with s.renderPart.
//  2. Write a handler in <name>.go that reads what it shows and calls
//     s.render(w, r, "<name>", data); an error page is s.fail.
//  3. Register it in routes (server.go): GET pages wrapped in s.viewer,
//     actions (POST) in s.operator, which refuses viewers with 403 and
//     checks the CSRF token. A form posts the hidden field csrf={{.CSRF}}.
//  4. An action calls s.audit(ctx, r, Action{Kind: "thing.done", Target:
//     …, Filter: …, Count: …, Diff: …, Err: err}) after it ran.
//  5. Add a link to the nav in templates/layout.html and a browser test
//     (package browsertest starts Chromium on the console).
//
// The dead-letter pages are deadletters.go's deadLetterRoutes and the
// deadletter* files and templates.
package console
