package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"golang.org/x/time/rate"
)

// Job states. A job is created Ready with its dry-run count; Run makes it
// Running until every counted letter was tried (Done) or it is Cancelled
// (Cancelling while its runner finishes the letter in hand).
// A Running job whose runner went away (a restart) is Interrupted once
// its heartbeat is older than JobStale; Run resumes a Ready, Cancelled or
// Interrupted job from its cursor.
const (
	JobReady       = "ready"
	JobRunning     = "running"
	JobCancelling  = "cancelling" // cancelled while running: the runner is finishing the letter in hand
	JobCancelled   = "cancelled"
	JobInterrupted = "interrupted"
	JobDone        = "done"
)

// JobStale is how long a running job may go without a heartbeat before it
// counts as interrupted. A runner beats after every letter and at least
// every JobStale/3 while it waits for its rate.
const JobStale = 30 * time.Second

// Job is a replay of everything a filter selects, run server-side and
// kept in the REPLAYJOBS bucket, so its progress survives the browser, the
// runner and a restart.
type Job struct {
	ID string `json:"id"`
	// Filter is what the job replays; its Through is the last id the
	// dry-run count saw, so letters dead-lettered later are left alone.
	Filter Filter `json:"filter"`
	// Count is the dry-run count: how many letters the filter selected
	// when the job was created.
	Count int `json:"count"`
	// Rate caps the job at that many replays a second; 0 for no cap. The
	// replays' API calls are paced by the workers in the budget's replay
	// lane (events.HeaderLane) whatever the rate.
	Rate float64 `json:"rate,omitempty"`
	// By is who created it: the console user, or cli:<OS user> for
	// omq dlq replay --all.
	By    string `json:"by"`
	State string `json:"state"`
	// Replayed, Skipped (gone meanwhile) and Failed (still in the DLQ)
	// count what was tried; Cursor is the last id tried.
	Replayed int    `json:"replayed"`
	Skipped  int    `json:"skipped"`
	Failed   int    `json:"failed"`
	Cursor   uint64 `json:"cursor"`
	// LastError is the latest failure's text.
	LastError string    `json:"last_error,omitempty"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
}

// Tried is how many letters the job has handled.
func (j Job) Tried() int { return j.Replayed + j.Skipped + j.Failed }

// Percent is Tried as a percentage of Count.
func (j Job) Percent() int {
	if j.Count == 0 {
		return 100
	}
	return min(100, 100*j.Tried()/j.Count)
}

// Finished reports whether the job will do nothing more unless resumed.
func (j Job) Finished() bool { return j.State == JobDone || j.State == JobCancelled }

// ErrJobNotFound matches the error of a job id that does not exist.
var ErrJobNotFound = errors.New("no such replay job")

// Jobs creates, runs and cancels replay jobs of one Store.
type Jobs struct {
	store *Store
	kv    jetstream.KeyValue
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// NewJobs opens the replay-jobs bucket of store's topology.
func NewJobs(ctx context.Context, store *Store) (*Jobs, error) {
	name := store.top.ReplayJobsBucket()
	kv, err := store.js.KeyValue(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("replay jobs bucket %s: %w (omq streams apply creates it)", name, err)
	}
	return &Jobs{store: store, kv: kv, Now: time.Now}, nil
}

// JobOptions are what a job is created with besides its filter.
type JobOptions struct {
	By   string
	Rate float64
}

// Create counts what f selects (the dry run) and stores a Ready job that
// will replay exactly those letters. An empty filter is allowed: a job
// is always counted and confirmed before it runs.
func (js *Jobs) Create(ctx context.Context, f Filter, o JobOptions) (Job, error) {
	if o.Rate < 0 {
		return Job{}, &FilterError{Field: "rate", Value: strconv.FormatFloat(o.Rate, 'g', -1, 64), Want: "want replays a second above 0, or 0 for no cap"}
	}
	f.Limit = 0
	n, last, err := js.store.Count(ctx, f)
	if err != nil {
		return Job{}, err
	}
	now := js.Now().UTC()
	j := Job{ID: nuid.Next(), Filter: f, Count: n, Rate: o.Rate, By: o.By, State: JobReady, Created: now, Updated: now}
	if n == 0 {
		j.State = JobDone
	} else {
		j.Filter.Through = last
	}
	b, _ := json.Marshal(j) // a Job always marshals
	if _, err := js.kv.Create(ctx, j.ID, b); err != nil {
		return Job{}, fmt.Errorf("store replay job: %w", err)
	}
	return j, nil
}

// Get returns job id as stored, Running shown as Interrupted once stale.
func (js *Jobs) Get(ctx context.Context, id string) (Job, error) {
	j, _, err := js.get(ctx, id)
	return j, err
}

func (js *Jobs) get(ctx context.Context, id string) (Job, uint64, error) {
	e, err := js.kv.Get(ctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return Job{}, 0, fmt.Errorf("replay job %q: %w", id, ErrJobNotFound)
	}
	if err != nil {
		return Job{}, 0, fmt.Errorf("read replay job %q: %w", id, err)
	}
	var j Job
	if err := json.Unmarshal(e.Value(), &j); err != nil {
		return Job{}, 0, fmt.Errorf("replay job %q is unreadable: %w", id, err)
	}
	if js.Now().Sub(j.Updated) > JobStale {
		switch j.State {
		case JobRunning:
			j.State = JobInterrupted
		case JobCancelling: // its runner died before it could say it stopped
			j.State = JobCancelled
		}
	}
	return j, e.Revision(), nil
}

// List returns every job, newest first.
func (js *Jobs) List(ctx context.Context) ([]Job, error) {
	lister, err := js.kv.ListKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("list replay jobs: %w", err)
	}
	var out []Job
	for k := range lister.Keys() {
		j, err := js.Get(ctx, k)
		if errors.Is(err, ErrJobNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b Job) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// Cancel stops job id: its runner stops before its next letter, and what
// it replayed stays replayed. A running job is Cancelling until its runner
// has counted the letter it had in hand and stopped; then it is Cancelled,
// so its counts are final when it says so. Cancelling a finished job
// changes nothing.
func (js *Jobs) Cancel(ctx context.Context, id string) (Job, error) {
	return js.update(ctx, id, func(j *Job) error {
		switch j.State {
		case JobDone, JobCancelled, JobCancelling:
		case JobRunning:
			j.State = JobCancelling
		default:
			j.State = JobCancelled
		}
		return nil
	})
}

// SetRate changes the cap of job id to rate replays a second (0 for no
// cap), for a resume that should go faster or slower than the job was
// created with; a runner already running keeps the rate it started with.
func (js *Jobs) SetRate(ctx context.Context, id string, rate float64) (Job, error) {
	if rate < 0 {
		return Job{}, &FilterError{Field: "rate", Value: strconv.FormatFloat(rate, 'g', -1, 64), Want: "want replays a second above 0, or 0 for no cap"}
	}
	return js.update(ctx, id, func(j *Job) error {
		j.Rate = rate
		return nil
	})
}

// update applies fn to the stored job with compare-and-set, again on a
// conflict.
func (js *Jobs) update(ctx context.Context, id string, fn func(*Job) error) (Job, error) {
	for {
		j, rev, err := js.get(ctx, id)
		if err != nil {
			return Job{}, err
		}
		if err := fn(&j); err != nil {
			return j, err
		}
		j.Updated = js.Now().UTC()
		b, _ := json.Marshal(j)
		_, err = js.kv.Update(ctx, id, b, rev)
		if isConflict(err) {
			continue
		}
		if err != nil {
			return j, fmt.Errorf("update replay job %s: %w", id, err)
		}
		return j, nil
	}
}

func isConflict(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) ||
		(errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence)
}

// ErrJobCancelled is what Run returns when the job was cancelled.
var ErrJobCancelled = errors.New("the replay job was cancelled")

// ErrJobBusy is what Run returns for a job another runner holds.
var ErrJobBusy = errors.New("the replay job is already running")

// Run replays job id from its cursor until every counted letter was tried
// (it returns the Done job), the job is cancelled (ErrJobCancelled), or
// ctx ends (the job is marked Interrupted; after a crash it shows so once
// its heartbeat is stale; Run resumes it). A job already running elsewhere is refused. each, if not
// nil, sees the job after every letter.
func (js *Jobs) Run(ctx context.Context, id string, each func(Job)) (Job, error) {
	var steps func(JobStep)
	if each != nil {
		steps = func(s JobStep) { each(s.Job) }
	}
	return js.RunSteps(ctx, id, steps)
}

// JobStep is one letter a running job tried.
type JobStep struct {
	// Job is the job with this letter counted.
	Job Job
	// Result is the letter's replay; Err its failure, matching
	// ErrNotFound for a letter gone meanwhile (counted as skipped).
	Result ReplayResult
	Err    error
}

// RunSteps is Run with each letter's own result, for a runner that
// reports every replay (omq dlq replay --all) and not only the progress.
func (js *Jobs) RunSteps(ctx context.Context, id string, each func(JobStep)) (Job, error) {
	j, err := js.update(ctx, id, func(j *Job) error {
		switch j.State {
		case JobRunning, JobCancelling:
			return ErrJobBusy
		case JobDone:
			return nil
		}
		j.State = JobRunning
		return nil
	})
	if err != nil {
		return j, fmt.Errorf("replay job %s: %w", id, err)
	}
	if j.State == JobDone {
		return j, nil
	}
	lim := rate.NewLimiter(rate.Inf, 1)
	if j.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(j.Rate), 1)
	}
	f := j.Filter
	f.After = j.Cursor
	err = js.store.Scan(ctx, f, func(l Letter) error {
		if err := js.pace(ctx, id, lim); err != nil {
			return err
		}
		// A cancel must stop the job before its next replay, not after.
		if err := js.checkCancelled(ctx, id); err != nil {
			return err
		}
		res, rerr := js.store.Replay(ctx, l.ID, ReplayOptions{})
		if rerr != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		// The counts are saved even when a cancel came meanwhile: this
		// replay happened.
		j, err = js.update(ctx, id, func(j *Job) error {
			j.Cursor = l.ID
			switch {
			case rerr == nil:
				j.Replayed++
			case errors.Is(rerr, ErrNotFound):
				j.Skipped++
			default:
				j.Failed++
				j.LastError = rerr.Error()
			}
			return nil
		})
		if err != nil {
			return err
		}
		if j.State == JobCancelling || j.State == JobCancelled {
			j = js.stopped(id, j)
		}
		if each != nil {
			each(JobStep{Job: j, Result: res, Err: rerr})
		}
		if j.State == JobCancelled {
			return ErrJobCancelled
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrJobCancelled) {
			j = js.stopped(id, j)
		}
		if ctx.Err() != nil {
			js.interrupted(id)
		}
		return j, err
	}
	cancelled := false
	j, err = js.update(ctx, id, func(j *Job) error {
		cancelled = j.State == JobCancelling || j.State == JobCancelled
		if cancelled {
			j.State = JobCancelled
		} else {
			j.State = JobDone
		}
		return nil
	})
	if err == nil && cancelled {
		err = ErrJobCancelled
	}
	return j, err
}

// stopped records that the runner of job id stopped for a cancel, so a
// Cancelling job becomes Cancelled with its counts final; j is returned
// as it was when that cannot be written (staleness says the same later).
func (js *Jobs) stopped(id string, j Job) Job {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done, err := js.update(ctx, id, func(j *Job) error {
		if j.State == JobCancelling {
			j.State = JobCancelled
		}
		return nil
	})
	if err != nil {
		j.State = JobCancelled
		return j
	}
	return done
}

// pace waits for the job's rate, beating the heartbeat while it waits and
// stopping at a cancel.
func (js *Jobs) pace(ctx context.Context, id string, lim *rate.Limiter) error {
	delay := lim.Reserve().Delay()
	for delay > 0 {
		step := min(delay, JobStale/3)
		t := time.NewTimer(step)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay -= step
		if err := js.checkCancelled(ctx, id); err != nil {
			return err
		}
		if _, err := js.update(ctx, id, func(*Job) error { return nil }); err != nil { // the heartbeat
			return err
		}
	}
	return nil
}

// checkCancelled returns ErrJobCancelled once job id is cancelled.
func (js *Jobs) checkCancelled(ctx context.Context, id string) error {
	j, _, err := js.get(ctx, id)
	if err != nil {
		return err
	}
	if j.State == JobCancelling || j.State == JobCancelled {
		return ErrJobCancelled
	}
	return nil
}

// interrupted marks a job whose runner stopped, so that it can be resumed
// at once rather than after JobStale.
func (js *Jobs) interrupted(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = js.update(ctx, id, func(j *Job) error { // best effort: staleness says the same later
		if j.State == JobRunning {
			j.State = JobInterrupted
		}
		return nil
	})
}
