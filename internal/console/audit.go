package console

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/openmoove/omq/internal/audit"
)

// Action is one operator action, for the audit trail.
type Action struct {
	// Kind names it, dotted: "breaker.probe", "dlq.replay".
	Kind   string
	Target string
	Filter string
	Count  int
	Diff   string
	// Err is the action's failure; nil records "ok".
	Err error
}

// audit appends what the request's user did to the audit trail. Call it
// after the action, with its result; a trail that cannot be written is
// logged as an error and returned, so the page can say so.
func (s *Server) audit(ctx context.Context, r *http.Request, a Action) error {
	u := CurrentUser(r)
	e := audit.Entry{At: s.now().UTC(), User: u.Name, Role: string(u.Role), Remote: clientIP(r),
		Kind: a.Kind, Target: a.Target, Filter: a.Filter, Count: a.Count, Diff: a.Diff, Result: "ok"}
	if a.Err != nil {
		e.Result = strings.ReplaceAll(a.Err.Error(), "\n", " ")
	}
	err := audit.Append(context.WithoutCancel(ctx), s.opts.JS, s.opts.Topology, e)
	if err != nil {
		s.log.Error("console: audit trail not written", "user", u.Name, "kind", a.Kind, "error", err)
	}
	return err
}

// auditPageSize is how many entries the Audit page shows at once.
const auditPageSize = 50

type auditData struct {
	Entries []audit.Entry
	Older   uint64 // the ?before= of the next page, 0 when none
	Error   string
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	before, _ := strconv.ParseUint(r.URL.Query().Get("before"), 10, 64)
	es, err := audit.Recent(r.Context(), s.opts.JS, s.opts.Topology, auditPageSize, before)
	d := auditData{Entries: es}
	if err != nil {
		d.Error = err.Error()
	}
	if n := len(es); n == auditPageSize && es[n-1].Seq > 1 {
		d.Older = es[n-1].Seq
	}
	s.render(w, r, "audit", d)
}
