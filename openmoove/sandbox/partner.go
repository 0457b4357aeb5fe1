package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openmoove/omq/openmoove"
)

// route is a matched partner path: the endpoint name, the methods it allows
// and its path parameters.
type route struct {
	name      string
	methods   []string
	property  string // {id} of /properties/{id}/…
	milestone int64  // {mid} of /properties/{id}/milestones/{mid}/
}

// matchRoute maps a path below APIPrefix to an endpoint; ok is false for a
// path the API does not have (including one without its trailing slash).
func matchRoute(rest string) (route, bool) {
	if !strings.HasSuffix(rest, "/") {
		return route{}, false
	}
	seg := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	get := []string{http.MethodGet}
	switch {
	case len(seg) == 1 && seg[0] == "products":
		return route{name: "products", methods: get}, true
	case len(seg) == 1 && seg[0] == "clients":
		return route{name: "clients", methods: []string{http.MethodPost}}, true
	case len(seg) == 1 && seg[0] == "properties":
		return route{name: "properties", methods: get}, true
	case len(seg) < 2 || seg[0] != "properties" || seg[1] == "":
		return route{}, false
	}
	r := route{property: seg[1], methods: get}
	tail := strings.Join(seg[2:], "/")
	switch tail {
	case "":
		r.name = "property"
	case "detail":
		r.name = "detail"
	case "milestones":
		r.name = "milestones"
	case "milestones/current":
		r.name = "current"
	case "chat":
		r.name = "chat"
	case "chat/summary":
		r.name = "summary"
	default:
		if len(seg) != 4 || seg[2] != "milestones" {
			return route{}, false
		}
		id, err := strconv.ParseInt(seg[3], 10, 64)
		if err != nil {
			return route{}, false
		}
		r.name, r.milestone, r.methods = "update", id, []string{http.MethodPatch}
	}
	return r, true
}

// servePartner runs a partner call through faults, routing, authentication,
// the rate limiter and the method check, in the order the API does, and
// journals it once.
func (s *Server) servePartner(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		s.journal.add(Request{Method: r.Method, Path: r.URL.Path, Status: sw.status, At: time.Now().UTC()})
		s.log.Debug("partner call", "method", r.Method, "path", r.URL.Path, "status", sw.status)
	}()
	if !s.injectFaults(sw, r) {
		return
	}
	key := r.Header.Get("X-API-KEY")
	rt, ok := matchRoute(strings.TrimPrefix(r.URL.Path, APIPrefix))
	if !ok {
		s.rateHeaders(sw, key, false)
		writeJSON(sw, http.StatusNotFound, detail(detailNotFound))
		return
	}
	partner, ok := s.cfg.Keys[key]
	if !ok {
		s.rateHeaders(sw, "", false)
		writeJSON(sw, http.StatusUnauthorized, detail(detailInvalidKey))
		return
	}
	if !s.rateHeaders(sw, key, true) {
		return
	}
	if !contains(rt.methods, r.Method) {
		sw.Header().Set("Allow", strings.Join(append(rt.methods, http.MethodOptions), ", "))
		writeJSON(sw, http.StatusMethodNotAllowed, detail(`Method "`+r.Method+`" not allowed.`))
		return
	}
	s.dispatch(sw, r, rt, partner)
}

// rateHeaders sets the X-RateLimit-* headers; with consume it counts the call
// and answers 429 when the key is over its limit, returning false.
func (s *Server) rateHeaders(w http.ResponseWriter, key string, consume bool) bool {
	if s.limiter.disabled() {
		return true
	}
	v := s.limiter.take(key, consume)
	v.set(w.Header())
	if consume && !v.ok {
		writeJSON(w, http.StatusTooManyRequests, detail(throttleDetail(v.retryAfter)))
		return false
	}
	return true
}

// injectFaults serves the latency and answers a faulted call; it returns
// false when it answered.
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	f := s.faults
	delay := time.Duration(f.LatencyMS) * time.Millisecond
	if f.JitterMS > 0 {
		delay += time.Duration(s.dice.IntN(f.JitterMS+1)) * time.Millisecond
	}
	status := f.faultStatus(s.dice.Float64())
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if status == 0 {
		return true
	}
	s.rateHeaders(w, r.Header.Get("X-API-KEY"), false)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("X-RateLimit-Remaining", "0")
	}
	if status < 300 || status == http.StatusNoContent {
		w.WriteHeader(status)
		return false
	}
	writeJSON(w, status, statusBody(status))
	return false
}

func (s *Server) dispatch(w http.ResponseWriter, r *http.Request, rt route, partner string) {
	switch rt.name {
	case "products":
		writeJSON(w, http.StatusOK, productList())
	case "clients":
		s.createClient(w, r, partner)
	case "properties":
		s.listProperties(w, r, partner)
	default:
		s.propertyCall(w, r, rt, partner)
	}
}

func productList() openmoove.ProductList {
	return openmoove.ProductList{Count: 1, Results: []openmoove.Product{{
		Name: "Moove Ready Pack", Slug: openmoove.ProductMooveReadyPack,
		Description: "Everything a seller needs to be ready to move: PDTF property pack and milestone tracking",
		Price:       openmoove.Price{Amount: "0", Currency: "GBP"},
	}}}
}

func (s *Server) createClient(w http.ResponseWriter, r *http.Request, partner string) {
	var req openmoove.CreateClientRequest
	if err := decodeBody(r, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, detail("JSON parse error - "+err.Error()))
		return
	}
	if err := openmoove.ValidateCreate(&req); err != nil {
		var v *openmoove.ValidationError
		if errors.As(err, &v) {
			s.writeFieldErrors(w, v.Fields)
			return
		}
		writeJSON(w, http.StatusBadRequest, detail(err.Error()))
		return
	}
	s.mu.Lock()
	for _, rule := range s.rejects {
		if rule.matches(&req) {
			s.mu.Unlock()
			s.writeFieldErrors(w, map[string][]string{rule.Field: {rule.message()}})
			return
		}
	}
	p := s.createLocked(partner, req, s.nowLocked())
	resp := p.createResponse()
	now := s.nowLocked()
	ms := p.milestoneViews(now)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, resp)
	s.createdWebhook(resp, now)
	for _, m := range ms {
		s.milestoneWebhook(EventMilestoneCreated, resp.PropertyID, m, now)
	}
}

// writeFieldErrors answers 400 in DRF's plain shape, or in the envelope shape
// when Config.ErrorEnvelope is set.
func (s *Server) writeFieldErrors(w http.ResponseWriter, fields map[string][]string) {
	if s.cfg.ErrorEnvelope {
		writeJSON(w, http.StatusBadRequest, map[string]any{"detail": "Invalid input.", "field_errors": fields})
		return
	}
	writeJSON(w, http.StatusBadRequest, fields)
}

func (s *Server) listProperties(w http.ResponseWriter, r *http.Request, partner string) {
	q := r.URL.Query()
	size := 20
	if n, err := strconv.Atoi(q.Get("page_size")); err == nil && n > 0 {
		size = min(n, openmoove.MaxPageSize)
	}
	page := 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeJSON(w, http.StatusNotFound, detail("Invalid page."))
			return
		}
		page = n
	}
	s.mu.Lock()
	var mine []openmoove.PropertySummary
	for _, p := range s.props {
		if p.partner == partner {
			mine = append(mine, p.summary())
		}
	}
	s.mu.Unlock()
	pages := max(1, (len(mine)+size-1)/size)
	if page > pages {
		writeJSON(w, http.StatusNotFound, detail("Invalid page."))
		return
	}
	out := openmoove.PropertyPage{Count: len(mine), Results: mine[(page-1)*size : min(page*size, len(mine))]}
	if out.Results == nil {
		out.Results = []openmoove.PropertySummary{}
	}
	if page < pages {
		out.Next = pageURL(r, page+1)
	}
	if page > 1 {
		out.Previous = pageURL(r, page-1)
	}
	writeJSON(w, http.StatusOK, pageJSON(out))
}

// pageJSON renders absent next/previous links as null, as DRF does.
func pageJSON(p openmoove.PropertyPage) map[string]any {
	link := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	return map[string]any{"count": p.Count, "next": link(p.Next), "previous": link(p.Previous), "results": p.Results}
}

// pageURL is the absolute URL of another page of the same list; page 1 has
// no page parameter, as in DRF.
func pageURL(r *http.Request, page int) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	q := r.URL.Query()
	if page == 1 {
		q.Del("page")
	} else {
		q.Set("page", strconv.Itoa(page))
	}
	u := url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
	return u.String()
}

// propertyCall serves the /properties/{id}/… endpoints: 404 for an unknown
// id, 403 for another partner's property.
func (s *Server) propertyCall(w http.ResponseWriter, r *http.Request, rt route, partner string) {
	if rt.name == "update" {
		s.updateMilestone(w, r, rt, partner)
		return
	}
	s.mu.Lock()
	p := s.findLocked(rt.property)
	if p == nil || p.partner != partner {
		s.mu.Unlock()
		writeAccessError(w, p)
		return
	}
	now := s.nowLocked()
	var body any
	status := http.StatusOK
	switch rt.name {
	case "property":
		body = p.pdtf()
	case "detail":
		body = p.detail()
	case "milestones":
		body = p.milestoneViews(now)
	case "current":
		body, status = currentMilestone(p, now)
	case "chat":
		body = map[string]any{"count": 0, "next": nil, "previous": nil, "results": []any{},
			"message": "Chat integration not yet implemented"}
	case "summary":
		body = openmoove.ChatSummary{Summaries: []openmoove.DaySummary{{Date: now.Format(time.DateOnly),
			Summary: "No messages yet for " + p.req.PropertyAddress + "."}},
			Message: "Mock chat summary - real implementation pending"}
	}
	s.mu.Unlock()
	writeJSON(w, status, body)
}

func currentMilestone(p *property, now time.Time) (any, int) {
	for _, m := range p.milestones {
		if m.completedAt == nil {
			return m.current(now), http.StatusOK
		}
	}
	return detail("All milestones are completed."), http.StatusNotFound
}

func writeAccessError(w http.ResponseWriter, p *property) {
	if p == nil {
		writeJSON(w, http.StatusNotFound, detail(detailNotFound))
		return
	}
	writeJSON(w, http.StatusForbidden, detail(detailForbidden))
}

func (s *Server) updateMilestone(w http.ResponseWriter, r *http.Request, rt route, partner string) {
	var body struct {
		Completed   *bool           `json:"completed"`
		CompletedAt json.RawMessage `json:"completed_at"`
	}
	if err := decodeBody(r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, detail("JSON parse error - "+err.Error()))
		return
	}
	var at *time.Time
	if len(body.CompletedAt) > 0 && string(body.CompletedAt) != "null" {
		var t time.Time
		if err := json.Unmarshal(body.CompletedAt, &t); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string][]string{"completed_at": {
				"Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."}})
			return
		}
		at = &t
	}
	s.mu.Lock()
	p := s.findLocked(rt.property)
	if p == nil || p.partner != partner {
		s.mu.Unlock()
		writeAccessError(w, p)
		return
	}
	m := p.milestoneByID(rt.milestone)
	if m == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusNotFound, detail(detailNotFound))
		return
	}
	now := s.nowLocked()
	changed := false
	if body.Completed != nil {
		changed = s.setCompleted(m, *body.Completed, at, now)
	}
	v, pid := m.view(now), p.id
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
	if changed {
		s.milestoneWebhook(EventMilestoneUpdated, pid, v, now)
	}
}

// setCompleted applies a PATCH; it reports whether the milestone changed.
func (s *Server) setCompleted(m *milestone, completed bool, at *time.Time, now time.Time) bool {
	switch {
	case !completed:
		changed := m.completedAt != nil
		m.completedAt = nil
		return changed
	case at != nil:
		t := at.UTC()
		m.completedAt = &t
		return true
	case m.completedAt == nil:
		m.completedAt = &now
		return true
	}
	return false
}

func decodeBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		b = []byte("{}")
	}
	return json.Unmarshal(b, v)
}

func detail(msg string) map[string]string { return map[string]string{"detail": msg} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// As the real API writes it: "<" is "<", not "\u003c".
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"detail":"A server error occurred."}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
