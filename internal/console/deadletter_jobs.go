package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
)

// dlRunner owns the goroutines of the replay jobs this console started;
// Server.Stop ends them (the jobs show Interrupted and can be resumed).
type dlRunner struct {
	mu      sync.Mutex
	wg      sync.WaitGroup
	cancels map[string]context.CancelFunc
	stopped bool
}

// start runs job id in the background unless it already runs here.
func (rn *dlRunner) start(s *Server, jobs *deadletter.Jobs, id string) error {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if rn.stopped {
		return errors.New("the console is stopping; start the job again once it is back")
	}
	if _, ok := rn.cancels[id]; ok {
		return nil
	}
	if rn.cancels == nil {
		rn.cancels = map[string]context.CancelFunc{}
	}
	// Not the request's context: the job outlives the click.
	ctx, cancel := context.WithCancel(context.Background())
	rn.cancels[id] = cancel
	rn.wg.Add(1)
	go func() {
		defer rn.wg.Done()
		defer func() {
			rn.mu.Lock()
			delete(rn.cancels, id)
			rn.mu.Unlock()
			cancel()
		}()
		j, err := jobs.Run(ctx, id, nil)
		switch {
		case err == nil:
			s.log.Info("console: replay job done", "job", id, "replayed", j.Replayed, "skipped", j.Skipped, "failed", j.Failed)
		case errors.Is(err, deadletter.ErrJobCancelled), errors.Is(err, context.Canceled):
			s.log.Info("console: replay job stopped", "job", id, "reason", err)
		default:
			s.log.Error("console: replay job", "job", id, "error", err)
		}
	}()
	return nil
}

// cancel stops job id's goroutine here at once, if it runs here.
func (rn *dlRunner) cancel(id string) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if c, ok := rn.cancels[id]; ok {
		c()
	}
}

// stop cancels every job running here and waits for them until ctx ends.
func (rn *dlRunner) stop(ctx context.Context) error {
	rn.mu.Lock()
	rn.stopped = true
	n := len(rn.cancels)
	for _, c := range rn.cancels {
		c()
	}
	rn.mu.Unlock()
	done := make(chan struct{})
	go func() { rn.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("console: %d replay jobs still stopping: %w", n, ctx.Err())
	}
}

func (s *Server) dlOpenJobs(ctx context.Context) (*deadletter.Jobs, error) {
	j, err := deadletter.NewJobs(ctx, s.dlStore())
	if err != nil {
		return nil, err
	}
	j.Now = s.now
	return j, nil
}

// formOf is a stored filter as the form shows it; times become absolute.
func formOf(f deadletter.Filter) dlForm {
	out := dlForm{Subject: f.Subject, Type: f.Type, Kind: strings.Join(f.Kinds, ","), Error: f.Error, Reason: f.Reason,
		Transaction: f.TransactionID}
	if f.Status != 0 {
		out.Status = strconv.Itoa(f.Status)
	}
	for _, m := range f.Body {
		out.Body = append(out.Body, m.String())
	}
	if !f.Since.IsZero() {
		out.Since = f.Since.UTC().Format(time.RFC3339)
	}
	if !f.Until.IsZero() {
		out.Until = f.Until.UTC().Format(time.RFC3339)
	}
	return out
}

type dlJobData struct {
	Job  deadletter.Job
	Form dlForm
	// Here is true when this console runs the job.
	Error string
}

type dlJobsData struct {
	Jobs  []deadletter.Job
	Error string
}

func (s *Server) dlJobs(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	var d dlJobsData
	jobs, err := s.dlOpenJobs(ctx)
	if err == nil {
		d.Jobs, err = jobs.List(ctx)
	}
	if err != nil {
		d.Error = err.Error()
	}
	s.render(w, r, "deadletter_jobs", d)
}

// dlJobCreate is the dry run of "replay everything matching": it counts
// and stores a Ready job, and shows the count before anything is replayed.
func (s *Server) dlJobCreate(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	_ = r.ParseForm()
	form := readForm(r.PostForm)
	f, err := form.filter(s.now())
	var rate float64
	if err == nil && r.PostFormValue("rate") != "" {
		rate, err = strconv.ParseFloat(r.PostFormValue("rate"), 64)
		if err != nil || rate < 0 {
			err = fmt.Errorf("rate %q: want replays a second above 0, or empty for no cap", r.PostFormValue("rate"))
		}
	}
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	jobs, err := s.dlOpenJobs(ctx)
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err.Error())
		return
	}
	j, err := jobs.Create(ctx, f, deadletter.JobOptions{By: CurrentUser(r).Name, Rate: rate})
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"replayjobs/"+j.ID, http.StatusSeeOther)
}

func (s *Server) dlLoadJob(ctx context.Context, r *http.Request) (*deadletter.Jobs, dlJobData, int) {
	jobs, err := s.dlOpenJobs(ctx)
	if err != nil {
		return nil, dlJobData{Error: err.Error()}, http.StatusBadGateway
	}
	j, err := jobs.Get(ctx, r.PathValue("job"))
	if errors.Is(err, deadletter.ErrJobNotFound) {
		return jobs, dlJobData{Error: err.Error() + " (jobs are kept 30 days)"}, http.StatusNotFound
	}
	if err != nil {
		return jobs, dlJobData{Error: err.Error()}, http.StatusBadGateway
	}
	return jobs, dlJobData{Job: j, Form: formOf(j.Filter)}, http.StatusOK
}

func (s *Server) dlJob(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	_, d, code := s.dlLoadJob(ctx, r)
	s.renderStatus(w, r, code, "deadletter_job", d)
}

// dlJobProgress is the job's progress block, which the page polls while
// the job runs.
func (s *Server) dlJobProgress(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	_, d, code := s.dlLoadJob(ctx, r)
	if code != http.StatusOK {
		s.fail(w, r, code, d.Error)
		return
	}
	s.renderPart(w, r, "deadletter_job", "progress", d)
}

// dlJobStart starts (or resumes) a job in this console's process.
func (s *Server) dlJobStart(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	jobs, d, code := s.dlLoadJob(ctx, r)
	if code != http.StatusOK {
		s.fail(w, r, code, d.Error)
		return
	}
	verb := "dlq.replay.start"
	if d.Job.Tried() > 0 {
		verb = "dlq.replay.resume"
	}
	err := s.dlRun.start(s, jobs, d.Job.ID)
	_ = s.audit(ctx, r, Action{Kind: verb, Target: "job " + d.Job.ID, Filter: d.Form.Flags(), Count: d.Job.Count - d.Job.Tried(), Err: err})
	if err != nil {
		s.fail(w, r, http.StatusConflict, err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"replayjobs/"+d.Job.ID, http.StatusSeeOther)
}

func (s *Server) dlJobCancel(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	jobs, d, code := s.dlLoadJob(ctx, r)
	if code != http.StatusOK {
		s.fail(w, r, code, d.Error)
		return
	}
	// The stored state stops the job wherever it runs; the local cancel
	// stops it here at once.
	j, err := jobs.Cancel(ctx, d.Job.ID)
	s.dlRun.cancel(d.Job.ID)
	_ = s.audit(ctx, r, Action{Kind: "dlq.replay.cancel", Target: "job " + d.Job.ID, Filter: d.Form.Flags(), Count: j.Replayed, Err: err})
	if err != nil {
		s.fail(w, r, http.StatusBadGateway, err.Error())
		return
	}
	http.Redirect(w, r, Prefix+"replayjobs/"+d.Job.ID, http.StatusSeeOther)
}

type dlPurgeData struct {
	Form    dlForm
	IDs     []uint64
	Count   int
	Through uint64
	Error   string
}

// dlPurge asks first: the count of what the filter or the ticked letters
// select, then, with confirm=yes, deletes exactly those (Filter.Through
// keeps letters that arrived since), as omq dlq purge does.
func (s *Server) dlPurge(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	_ = r.ParseForm()
	d := dlPurgeData{Form: readForm(r.PostForm)}
	ids, err := selectedIDs(r)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	d.IDs = ids
	f, err := d.Form.filter(s.now())
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	f.IDs = ids
	if f.Empty() {
		s.fail(w, r, http.StatusBadRequest, "purge needs a filter or ticked letters; to delete every dead letter use omq dlq purge --all")
		return
	}
	store := s.dlStore()
	if r.PostFormValue("confirm") != "yes" {
		d.Count, d.Through, err = store.Count(ctx, f)
		if err != nil {
			d.Error = err.Error()
		}
		s.render(w, r, "deadletter_purge", d)
		return
	}
	through, err := strconv.ParseUint(r.PostFormValue("through"), 10, 64)
	if err != nil || through == 0 {
		s.fail(w, r, http.StatusBadRequest, "the confirmation carried no count: purge again from the list")
		return
	}
	f.Through = through
	n, err := store.Purge(ctx, f)
	target := ""
	if len(ids) > 0 {
		target = audit.IDs(ids)
	}
	_ = s.audit(ctx, r, Action{Kind: "dlq.purge", Target: target, Filter: d.Form.Flags(), Count: n, Err: err})
	msg := fmt.Sprintf("deleted %d dead letters", n)
	if err != nil {
		msg += ": " + err.Error()
	}
	http.Redirect(w, r, dlListURL(dlForm{}, msg, err == nil), http.StatusSeeOther)
}
