package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
)

// dlMilestones is the transaction's entry of the MILESTONES bucket, the
// cache the milestone worker fills from the API and webhooks keep
// current: the console shows it and makes no API call of its own, so a
// page view never spends the shared budget.
type dlMilestones struct {
	FetchedAt  time.Time `json:"fetched_at"`
	Milestones []struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		Completed bool   `json:"completed"`
	} `json:"milestones"`
	Found bool `json:"-"`
}

type dlHeader struct {
	Name, Value string
}

type dlDetailData struct {
	Letter      deadletter.Letter
	Status      int
	Reason      string
	Transaction string
	Type        string
	Body        string
	Headers     []dlHeader
	Milestones  dlMilestones
	// Edit page: the body being edited, its diff, the validation result.
	Edited    string
	Diff      []deadletter.DiffLine
	Invalid   string
	Valid     bool
	Error     string
	NotFound  bool
	ReasonURL string
}

func (s *Server) dlLoad(ctx context.Context, r *http.Request) (dlDetailData, int, error) {
	id, err := deadletter.ParseID(r.PathValue("id"))
	if err != nil {
		return dlDetailData{}, http.StatusBadRequest, err
	}
	l, err := s.dlStore().Get(ctx, id)
	if errors.Is(err, deadletter.ErrNotFound) {
		return dlDetailData{NotFound: true}, http.StatusNotFound, err
	}
	if err != nil {
		return dlDetailData{}, http.StatusBadGateway, err
	}
	d := dlDetailData{Letter: l, Status: l.HTTPStatus(), Reason: l.Reason(), Transaction: l.TransactionID(), Type: l.Type(), Body: deadletter.Pretty(l.Data)}
	d.ReasonURL = dlListURL(dlForm{Reason: d.Reason}, "", true)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range l.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		if k == deadletter.HeaderErrors {
			continue // shown as the history
		}
		d.Headers = append(d.Headers, dlHeader{k, strings.Join(l.Header[k], ", ")})
	}
	if d.Transaction != "" {
		d.Milestones = s.dlReadMilestones(ctx, d.Transaction)
	}
	return d, http.StatusOK, nil
}

func (s *Server) dlReadMilestones(ctx context.Context, tx string) dlMilestones {
	var m dlMilestones
	kv, err := s.opts.JS.KeyValue(ctx, s.opts.Topology.MilestonesBucket())
	if err != nil {
		return m
	}
	e, err := kv.Get(ctx, tx)
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) && !errors.Is(err, jetstream.ErrInvalidKey) {
			s.log.Warn("console: milestones cache", "transaction", tx, "error", err)
		}
		return m
	}
	if json.Unmarshal(e.Value(), &m) == nil {
		m.Found = true
	}
	return m
}

func (s *Server) dlDetail(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	d, code, err := s.dlLoad(ctx, r)
	if err != nil {
		d.Error = err.Error()
	}
	s.renderStatus(w, r, code, "deadletter", d)
}

func (s *Server) dlEditPage(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	d, code, err := s.dlLoad(ctx, r)
	if err != nil {
		d.Error = err.Error()
	}
	d.Edited = d.Body
	s.renderStatus(w, r, code, "deadletter_edit", d)
}

// dlEdit checks an edited body (action=preview: the diff and the
// validation, nothing changes) or replays it (action=replay) through
// Store.Replay, which validates it again as omq dlq edit does.
func (s *Server) dlEdit(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	d, code, err := s.dlLoad(ctx, r)
	if err != nil {
		d.Error = err.Error()
		s.renderStatus(w, r, code, "deadletter_edit", d)
		return
	}
	d.Edited = r.PostFormValue("body")
	body := bytes.TrimSpace([]byte(strings.ReplaceAll(d.Edited, "\r\n", "\n")))
	if json.Valid(body) {
		var c bytes.Buffer
		_ = json.Compact(&c, body) // valid: cannot fail
		body = c.Bytes()
	}
	d.Diff = deadletter.Diff(d.Letter.Data, body)
	if !deadletter.Changed(d.Diff) {
		d.Invalid = "the body is unchanged: nothing to replay (Replay on the letter's page replays it as it is)"
		s.renderStatus(w, r, http.StatusUnprocessableEntity, "deadletter_edit", d)
		return
	}
	replay := r.PostFormValue("action") == "replay"
	res, err := s.dlStore().Replay(ctx, d.Letter.ID, deadletter.ReplayOptions{Body: body, DryRun: !replay})
	var ibe *deadletter.InvalidBodyError
	if errors.As(err, &ibe) {
		d.Invalid = ibe.Err.Error()
		if replay {
			_ = s.audit(ctx, r, Action{Kind: "dlq.edit", Target: fmt.Sprint(d.Letter.ID), Diff: deadletter.DiffText(d.Diff), Err: err})
		}
		s.renderStatus(w, r, http.StatusUnprocessableEntity, "deadletter_edit", d)
		return
	}
	if !replay {
		d.Valid = err == nil
		if err != nil {
			d.Error = err.Error()
		}
		s.render(w, r, "deadletter_edit", d)
		return
	}
	count := 0
	if err == nil {
		count = 1
	}
	_ = s.audit(ctx, r, Action{Kind: "dlq.edit", Target: fmt.Sprint(d.Letter.ID), Count: count, Diff: deadletter.DiffText(d.Diff), Err: err})
	if err != nil {
		d.Error = err.Error()
		s.renderStatus(w, r, http.StatusBadGateway, "deadletter_edit", d)
		return
	}
	msg := fmt.Sprintf("dead letter %d replayed with the edited body to %s (%s #%d)", d.Letter.ID, res.Subject, res.Stream, res.Seq)
	http.Redirect(w, r, dlListURL(dlForm{}, msg, true), http.StatusSeeOther)
}
