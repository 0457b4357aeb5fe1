package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
)

// deadLetterRoutes registers the dead-letter pages and actions. This file
// and every deadletter* file and template belong to the dead-letter pages.
// Every action goes through package deadletter, the code behind omq dlq.
func (s *Server) deadLetterRoutes(mux *http.ServeMux) {
	p := Prefix + "deadletters"
	mux.Handle("GET "+p, s.viewer(s.dlList))
	mux.Handle("GET "+p+"/{id}", s.viewer(s.dlDetail))
	mux.Handle("GET "+p+"/{id}/edit", s.operator(s.dlEditPage))
	mux.Handle("POST "+p+"/{id}/edit", s.operator(s.dlEdit))
	mux.Handle("POST "+p+"/replay", s.operator(s.dlReplay))
	mux.Handle("POST "+p+"/purge", s.operator(s.dlPurge))
	mux.Handle("GET "+Prefix+"replayjobs", s.viewer(s.dlJobs))
	mux.Handle("POST "+Prefix+"replayjobs", s.operator(s.dlJobCreate))
	mux.Handle("GET "+Prefix+"replayjobs/{job}", s.viewer(s.dlJob))
	mux.Handle("GET "+Prefix+"replayjobs/{job}/progress", s.viewer(s.dlJobProgress))
	mux.Handle("POST "+Prefix+"replayjobs/{job}/start", s.operator(s.dlJobStart))
	mux.Handle("POST "+Prefix+"replayjobs/{job}/cancel", s.operator(s.dlJobCancel))
}

// dlPageSize is the list's page; a URL may ask for up to dlMaxPage.
const (
	dlPageSize = 50
	dlMaxPage  = 500
)

func (s *Server) dlStore() *deadletter.Store {
	return deadletter.NewStore(s.opts.JS, s.opts.Topology)
}

// dlForm is the filter as the form and the URL hold it: the same names as
// omq dlq's flags, so a link and a command select the same letters.
type dlForm struct {
	Subject, Type, Kind, Error, Reason, Status, Transaction, Since, Until string
	Body                                                                  []string
}

func readForm(v url.Values) dlForm {
	t := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	f := dlForm{Subject: t("subject"), Type: t("type"), Kind: t("kind"), Error: v.Get("error"), Reason: v.Get("reason"),
		Status: t("status"), Transaction: t("transaction"), Since: t("since"), Until: t("until")}
	for _, b := range v["body"] {
		if strings.TrimSpace(b) != "" {
			f.Body = append(f.Body, b)
		}
	}
	return f
}

// Values is the form as URL parameters, empty ones left out.
func (f dlForm) Values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"subject": f.Subject, "type": f.Type, "kind": f.Kind, "error": f.Error,
		"reason": f.Reason, "status": f.Status, "transaction": f.Transaction, "since": f.Since, "until": f.Until} {
		if x != "" {
			v.Set(k, x)
		}
	}
	for _, b := range f.Body {
		v.Add("body", b)
	}
	return v
}

// FormWithoutReason is the list's filter less its reason: a group's
// replay narrows the filter by the group's own reason.
func (d dlListData) FormWithoutReason() dlForm {
	f := d.Form
	f.Reason = ""
	return f
}

// Query is the form's shareable query string ("" when empty).
func (f dlForm) Query() string { return f.Values().Encode() }

// Empty reports whether the form selects every letter.
func (f dlForm) Empty() bool { return len(f.Values()) == 0 }

// Flags is the form as omq dlq flags: what the audit trail records, and
// what an operator can paste into a terminal.
func (f dlForm) Flags() string {
	var fl audit.Flags
	fl.Add("subject", f.Subject)
	fl.Add("type", f.Type)
	fl.Add("kind", f.Kind)
	fl.Add("error", f.Error)
	fl.Add("reason", f.Reason)
	fl.Add("status", f.Status)
	fl.Add("transaction", f.Transaction)
	for _, b := range f.Body {
		fl.Add("body", b)
	}
	fl.Add("since", f.Since)
	fl.Add("until", f.Until)
	return fl.String()
}

// filter reads the form as deadletter reads omq dlq's flags; an error
// names the field.
func (f dlForm) filter(now time.Time) (deadletter.Filter, error) {
	out := deadletter.Filter{Subject: f.Subject, Type: f.Type, Error: f.Error, Reason: f.Reason, TransactionID: f.Transaction}
	var err error
	if f.Kind != "" {
		if out.Kinds, err = deadletter.ParseKinds(f.Kind); err != nil {
			return out, err
		}
	}
	if f.Status != "" {
		if out.Status, err = deadletter.ParseStatus(f.Status); err != nil {
			return out, err
		}
	}
	for _, b := range f.Body {
		m, err := deadletter.ParseBodyMatch(b)
		if err != nil {
			return out, err
		}
		out.Body = append(out.Body, m)
	}
	if f.Since != "" {
		if out.Since, err = deadletter.ParseTime("since", f.Since, now); err != nil {
			return out, err
		}
	}
	if f.Until != "" {
		if out.Until, err = deadletter.ParseTime("until", f.Until, now); err != nil {
			return out, err
		}
	}
	return out, out.Validate()
}

// dlRow is one letter of the list.
type dlRow struct {
	deadletter.Letter
	Status int
	Reason string
}

type dlListData struct {
	Form    dlForm
	View    string // "" (letters) or "groups"
	Rows    []dlRow
	Groups  []deadletter.Group
	Next    string // the next page's URL, "" on the last
	Paged   bool   // not the first page
	Total   uint64 // letters in the DLQ
	Kinds   []string
	Error   string
	Flash   string
	FlashOK bool
}

// dlList is the list (one page after the cursor) or, with view=groups,
// the letters grouped by reason.
func (s *Server) dlList(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	q := r.URL.Query()
	d := dlListData{Form: readForm(q), View: q.Get("view"), Kinds: deadletter.Kinds, Flash: q.Get("flash"), FlashOK: q.Get("bad") == ""}
	store := s.dlStore()
	f, err := d.Form.filter(s.now())
	if err == nil {
		err = store.Validate(f)
	}
	if err != nil {
		d.Error = err.Error()
		s.renderStatus(w, r, http.StatusBadRequest, "deadletters", d)
		return
	}
	// The stream's own count: Stats would read every letter.
	if st, err := s.opts.JS.Stream(ctx, s.opts.Topology.DLQStream()); err == nil {
		if info, err := st.Info(ctx); err == nil {
			d.Total = info.State.Msgs
		}
	}
	if d.View == "groups" {
		d.Groups, err = store.Groups(ctx, f)
	} else {
		err = s.dlPage(ctx, store, f, q, &d)
	}
	if err != nil {
		d.Error = err.Error()
	}
	s.render(w, r, "deadletters", d)
}

func (s *Server) dlPage(ctx context.Context, store *deadletter.Store, f deadletter.Filter, q url.Values, d *dlListData) error {
	size := dlPageSize
	if n, err := strconv.Atoi(q.Get("size")); err == nil && n > 0 {
		size = min(n, dlMaxPage)
	}
	if a := q.Get("after"); a != "" {
		after, err := strconv.ParseUint(a, 10, 64)
		if err != nil {
			return fmt.Errorf("after %q: want a dead-letter id, the cursor of a Next link", a)
		}
		f.After, d.Paged = after, true
	}
	p, err := store.Page(ctx, f, size)
	if err != nil {
		return err
	}
	for _, l := range p.Letters {
		d.Rows = append(d.Rows, dlRow{Letter: l, Status: l.HTTPStatus(), Reason: l.Reason()})
	}
	if p.Next != 0 {
		v := d.Form.Values()
		v.Set("after", strconv.FormatUint(p.Next, 10))
		if size != dlPageSize {
			v.Set("size", strconv.Itoa(size))
		}
		d.Next = Prefix + "deadletters?" + v.Encode()
	}
	return nil
}

// dlListURL is the list with form's filter and a message to show.
func dlListURL(f dlForm, flash string, ok bool) string {
	v := f.Values()
	if flash != "" {
		v.Set("flash", flash)
		if !ok {
			v.Set("bad", "1")
		}
	}
	return Prefix + "deadletters?" + v.Encode()
}

// selectedIDs reads the id fields of a form; an unusable one is an error
// naming it.
func selectedIDs(r *http.Request) ([]uint64, error) {
	var ids []uint64
	for _, v := range r.PostForm["id"] {
		id, err := deadletter.ParseID(v)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// dlReplay replays the letters ticked on the list, one by one, as omq dlq
// replay ID... does; a whole filter is a job (dlJobCreate).
func (s *Server) dlReplay(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := readForm(r.PostForm)
	ids, err := selectedIDs(r)
	if err == nil && len(ids) == 0 {
		err = errors.New("no dead letter was selected: tick the letters to replay, or use Replay all matching")
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	var failed []string
	sum, err := s.dlStore().ReplayMany(ctx, ids, deadletter.ReplayOptions{}, func(res deadletter.ReplayResult, err error) {
		if err != nil && !errors.Is(err, deadletter.ErrNotFound) {
			failed = append(failed, err.Error())
		}
	})
	if err == nil && len(failed) > 0 {
		err = errors.New(strings.Join(failed, "; "))
	}
	_ = s.audit(ctx, r, Action{Kind: "dlq.replay", Target: audit.IDs(ids), Count: sum.Replayed, Err: err})
	msg := fmt.Sprintf("replayed %d, skipped %d (already gone), failed %d", sum.Replayed, sum.Skipped, sum.Failed)
	if err != nil {
		msg += ": " + err.Error()
	}
	back := dlListURL(form, msg, err == nil)
	if to := r.PostFormValue("back"); strings.HasPrefix(to, Prefix+"deadletters") && !strings.Contains(to, "//") {
		back = to // replay from a detail page returns to the list
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}
