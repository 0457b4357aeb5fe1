package deadletter_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/events"
)

func (b *bundle) jobs(t *testing.T) *deadletter.Jobs {
	t.Helper()
	js, err := deadletter.NewJobs(b.ctx, b.store)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// eventsWithLane counts the EVENTS messages that carry the replay lane.
func (b *bundle) replayedInLane(t *testing.T) int {
	t.Helper()
	st, err := b.s.JS.Stream(b.ctx, b.top.EventsStream())
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(b.ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get(events.HeaderLane) == string(events.LaneReplay) && m.Header.Get(deadletter.HeaderReplayOf) != "" {
			n++
		}
	}
	return n
}

func TestJobReplaysExactlyWhatItCounted(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 4 {
		b.letter(t, uint64(i+1), "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-1"}`, "openmoove: POST /x/: "+phoneRefused)
	}
	other := b.letter(t, 10, "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-2"}`, "timeout")
	jobs := b.jobs(t)
	j, err := jobs.Create(b.ctx, deadletter.Filter{Reason: phoneRefused}, deadletter.JobOptions{By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if j.Count != 4 || j.State != deadletter.JobReady {
		t.Fatalf("created %+v, want a ready job counting 4", j)
	}
	// Dead-lettered after the count: the job must leave it alone.
	late := b.letter(t, 11, "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-3"}`, "openmoove: POST /x/: "+phoneRefused)

	done, err := jobs.Run(b.ctx, j.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != deadletter.JobDone || done.Replayed != 4 || done.Failed != 0 || done.Percent() != 100 {
		t.Fatalf("after Run: %+v", done)
	}
	left, err := b.store.List(b.ctx, deadletter.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(left); len(got) != 2 || got[0] != other || got[1] != late {
		t.Fatalf("DLQ holds %v, want the other reason's %d and the late %d", got, other, late)
	}
	if n := b.replayedInLane(t); n != 4 {
		t.Fatalf("%d replays carry %s: %s, want 4", n, events.HeaderLane, string(events.LaneReplay))
	}
	stored, err := jobs.Get(b.ctx, j.ID)
	if err != nil || stored.State != deadletter.JobDone || stored.By != "alice" {
		t.Fatalf("stored job %+v, %v", stored, err)
	}
}

func TestJobCancelledHalfWayResumesFromItsCursor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 6 {
		b.letter(t, uint64(i+1), "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-1"}`, "timeout")
	}
	jobs := b.jobs(t)
	j, err := jobs.Create(b.ctx, deadletter.Filter{}, deadletter.JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = jobs.Run(b.ctx, j.ID, func(j deadletter.Job) {
		if j.Tried() == 3 {
			if _, err := jobs.Cancel(context.Background(), j.ID); err != nil {
				t.Error(err)
			}
			// Its runner has not stopped yet, so its counts are not final:
			// the job must not say Cancelled (a page showing it would stop
			// following a count that can still grow).
			if now, err := jobs.Get(context.Background(), j.ID); err != nil || now.State != deadletter.JobCancelling || now.Finished() {
				t.Errorf("a running job just cancelled: %+v, %v; want cancelling, not finished", now, err)
			}
		}
	})
	if !errors.Is(err, deadletter.ErrJobCancelled) {
		t.Fatalf("Run of a cancelled job = %v, want ErrJobCancelled", err)
	}
	half, err := jobs.Get(b.ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if half.State != deadletter.JobCancelled || half.Replayed != 3 {
		t.Fatalf("cancelled job %+v, want 3 replayed and cancelled", half)
	}
	if n := b.streamMsgs(t, b.top.DLQStream()); n != 3 {
		t.Fatalf("DLQ holds %d, want the 3 the cancel spared", n)
	}

	// A new Jobs is what a restarted process has: the bucket holds the rest.
	done, err := b.jobs(t).Run(b.ctx, j.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != deadletter.JobDone || done.Replayed != 6 || done.Skipped != 0 {
		t.Fatalf("resumed job %+v, want 6 replayed in all", done)
	}
	if n := b.streamMsgs(t, b.top.DLQStream()); n != 0 {
		t.Fatalf("DLQ holds %d after the resumed job", n)
	}
}

func TestJobInterruptedByItsContextCanBeResumed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for i := range 3 {
		b.letter(t, uint64(i+1), "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-1"}`, "timeout")
	}
	jobs := b.jobs(t)
	j, err := jobs.Create(b.ctx, deadletter.Filter{}, deadletter.JobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.ctx)
	_, err = jobs.Run(ctx, j.ID, func(deadletter.Job) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	got, err := jobs.Get(b.ctx, j.ID)
	if err != nil || got.State != deadletter.JobInterrupted || got.Replayed != 1 {
		t.Fatalf("job %+v, %v; want interrupted after 1", got, err)
	}
	if done, err := jobs.Run(b.ctx, j.ID, nil); err != nil || done.Replayed != 3 {
		t.Fatalf("resumed: %+v, %v", done, err)
	}
	if _, err := jobs.Get(b.ctx, "nope"); !errors.Is(err, deadletter.ErrJobNotFound) {
		t.Fatalf("Get of an unknown job = %v", err)
	}
}

// RunSteps hands each letter's own result to the runner (omq dlq replay
// --all prints one line a letter), a letter gone meanwhile as ErrNotFound.
func TestJobStepsCarryEachReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	first := b.letter(t, 1, "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-1"}`, "timeout")
	gone := b.letter(t, 2, "offer_accepted", `{"type":"offer_accepted","transaction_id":"T-2"}`, "timeout")
	jobs := b.jobs(t)
	j, err := jobs.Create(b.ctx, deadletter.Filter{}, deadletter.JobOptions{Rate: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	// A resume may change the pace: at 1e-3 a second the second letter
	// would wait 1000 s.
	if j, err = jobs.SetRate(b.ctx, j.ID, 0); err != nil || j.Rate != 0 {
		t.Fatalf("SetRate: %+v, %v", j, err)
	}
	if _, err := jobs.SetRate(b.ctx, j.ID, -1); err == nil {
		t.Fatal("SetRate(-1) was accepted")
	}
	var steps []deadletter.JobStep
	done, err := jobs.RunSteps(b.ctx, j.ID, func(s deadletter.JobStep) {
		steps = append(steps, s)
		if s.Result.ID == first {
			if _, err := b.store.Delete(b.ctx, gone); err != nil { // purged while the job runs
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 2 || steps[0].Err != nil || steps[0].Result.ID != first || steps[0].Result.Subject == "" || steps[0].Job.Replayed != 1 {
		t.Fatalf("first step %+v", steps)
	}
	if !errors.Is(steps[1].Err, deadletter.ErrNotFound) || steps[1].Job.Skipped != 1 {
		t.Fatalf("second step %+v, want the purged letter skipped", steps[1])
	}
	if done.State != deadletter.JobDone || done.Replayed != 1 || done.Skipped != 1 {
		t.Fatalf("done %+v", done)
	}
}
