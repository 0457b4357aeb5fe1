package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/openmoove/omq/internal/imports"
)

// importPageRows is how many rows of a file the Imports page shows at once.
const importPageRows = 100

type importsData struct {
	Imports []imports.Record
	Error   string
}

// imports lists the files omq import queued, newest first, from the
// IMPORTS bucket (the ledger knows request_ids, not files).
func (s *Server) imports(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	var d importsData
	store, err := imports.OpenStore(ctx, s.opts.JS, s.opts.Topology)
	if err == nil {
		d.Imports, err = store.List(ctx)
	}
	if err != nil {
		d.Error = err.Error()
	}
	s.render(w, r, "imports", d)
}

// importStatuses are the filters of a file's rows, in the page's order.
var importStatuses = []string{imports.StatusCreated, imports.StatusPending, imports.StatusNotQueued, imports.StatusFailed, imports.StatusInvalid}

type importData struct {
	Import imports.Record
	// Status and Q filter the rows; Page (from 1) pages them.
	Status, Q string
	Page      int
	Counts    map[string]int
	Statuses  []string
	Matching  int
	Rows      []imports.RowStatus
	Prev      string // link to the previous page, "" on the first
	Next      string // link to the next page, "" on the last
	Error     string
}

// importRows is one file's rows with where each stands, as omq import
// status FILE prints them; ?status= and ?q= (request_id or detail text)
// filter, ?page= pages, so every view is a URL to share.
func (s *Server) importRows(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	q := r.URL.Query()
	d := importData{Status: q.Get("status"), Q: strings.TrimSpace(q.Get("q")), Counts: map[string]int{}, Statuses: importStatuses}
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = max(d.Page, 1)
	store, err := imports.OpenStore(ctx, s.opts.JS, s.opts.Topology)
	if err == nil {
		d.Import, err = store.Get(ctx, r.PathValue("id"))
	}
	if errors.Is(err, imports.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "no import "+r.PathValue("id")+": the Imports page lists every file omq import queued")
		return
	}
	var all []imports.RowStatus
	if err == nil {
		all, err = s.readRowStatuses(ctx, store, d.Import)
	}
	if err != nil {
		d.Error = err.Error()
	}
	var matching []imports.RowStatus
	for _, rs := range all {
		d.Counts[rs.Status]++
		if (d.Status == "" || rs.Status == d.Status) && matchesQuery(rs, d.Q) {
			matching = append(matching, rs)
		}
	}
	d.Matching = len(matching)
	start := min((d.Page-1)*importPageRows, len(matching))
	d.Rows = matching[start:min(start+importPageRows, len(matching))]
	if d.Page > 1 {
		d.Prev = d.pageURL(d.Page - 1)
	}
	if start+importPageRows < len(matching) {
		d.Next = d.pageURL(d.Page + 1)
	}
	s.render(w, r, "import", d)
}

// readRowStatuses reads where every row of an import stands. It costs one
// ledger read per row, one scan of the creations' dead letters and one of
// the commands stream, as omq import status does.
func (s *Server) readRowStatuses(ctx context.Context, store *imports.Store, rec imports.Record) ([]imports.RowStatus, error) {
	refs, err := store.Rows(ctx, rec)
	if err != nil {
		return nil, err
	}
	// The page's readTimeout already bounds every request: none of their own.
	check, err := imports.NewChecker(ctx, s.opts.JS, s.opts.Topology, 0)
	if err != nil {
		return nil, err
	}
	out := make([]imports.RowStatus, 0, len(refs))
	for _, ref := range refs {
		rs, err := check.Status(ctx, ref)
		if err != nil {
			return out, err
		}
		out = append(out, rs)
	}
	return out, nil
}

func matchesQuery(rs imports.RowStatus, q string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	return strings.Contains(strings.ToLower(rs.RequestID), q) || strings.Contains(strings.ToLower(rs.Detail), q) || strconv.Itoa(rs.Line) == q
}

// pageURL is this view's URL at another page: filters kept.
func (d importData) pageURL(page int) string {
	v := url.Values{}
	if d.Status != "" {
		v.Set("status", d.Status)
	}
	if d.Q != "" {
		v.Set("q", d.Q)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	u := Prefix + "imports/" + d.Import.ID
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	return u
}

// StatusURL is this view filtered by status instead ("" for every row),
// on its first page, the search kept.
func (d importData) StatusURL(status string) string {
	d.Status = status
	return d.pageURL(1)
}
