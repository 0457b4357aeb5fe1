package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/openmoove/omq/deadletter"
	"github.com/openmoove/omq/internal/audit"
	"github.com/openmoove/omq/internal/natstest"
	"github.com/openmoove/omq/internal/testkit"
	"github.com/openmoove/omq/streams"
)

// jobEnv is a NATS with omq's streams and n dead letters of an event, for
// omq dlq replay to run against.
type jobEnv struct {
	s   *natstest.Server
	top streams.Topology
	url string
}

func newJobEnv(t *testing.T, n int) jobEnv {
	t.Helper()
	s, top := testkit.JetStream(t, natstest.Listen())
	for i := 1; i <= n; i++ {
		at := time.Now().UTC()
		_, err := deadletter.Write(t.Context(), s.JS, top, deadletter.Failed{
			Subject: top.EventSubject("offer_accepted"), Stream: top.EventsStream(), Seq: uint64(i),
			Data:       fmt.Appendf(nil, `{"id":"ev-%d","type":"offer_accepted","transaction_id":"T-%d","occurred_at":"2025-06-01T01:00:00Z","source":"crm"}`, i, i),
			Header:     nats.Header{jetstream.MsgIDHeader: {fmt.Sprintf("msg-%d", i)}},
			Deliveries: 1, Kind: "exhausted", Error: "timeout", Worker: "test", FailedAt: at,
		})
		require.NoError(t, err)
	}
	return jobEnv{s: s, top: top, url: s.AuthURL()}
}

func (j jobEnv) msgs(t *testing.T, stream string) uint64 {
	t.Helper()
	st, err := j.s.JS.Stream(t.Context(), stream)
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	return info.State.Msgs
}

func (j jobEnv) jobs(t *testing.T) *deadletter.Jobs {
	t.Helper()
	jobs, err := deadletter.NewJobs(t.Context(), deadletter.NewStore(j.s.JS, j.top))
	require.NoError(t, err)
	return jobs
}

// lineHook is a command's stdout that calls hook with every line as it is
// written, in the command's goroutine, so a test can act between two
// letters of a replay.
type lineHook struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	hook func(line string)
}

func (w *lineHook) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	for _, l := range strings.Split(strings.TrimSuffix(string(p), "\n"), "\n") {
		w.hook(l)
	}
	return len(p), nil
}

func (w *lineHook) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

var (
	jobLine      = regexp.MustCompile(`^job (\w+): resume with omq dlq replay --resume (\w+)$`)
	replayedLine = regexp.MustCompile(`(?m)^replayed (\d+) to `)
)

// runReplay runs omq with args, calling hook after each letter's
// "replayed" line with the job id and how many such lines came so far.
func runReplay(e *Env, args []string, hook func(job string, replayed int)) (code int, stdout, stderr string) {
	var errOut bytes.Buffer
	job, n := "", 0
	out := &lineHook{hook: func(l string) {
		if m := jobLine.FindStringSubmatch(l); m != nil {
			job = m[1]
		}
		if replayedLine.MatchString(l) {
			n++
			if hook != nil {
				hook(job, n)
			}
		}
	}}
	e.Stdin, e.Stdout, e.Stderr = bytes.NewReader(nil), out, &errOut
	e.LookupEnv = func(string) (string, bool) { return "", false }
	// Not a timed assertion: a bound, so that a runner that ignores the
	// signal or the cancel fails the test instead of waiting 1000 s for
	// its next letter.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code = Main(ctx, args, e)
	return code, out.String(), errOut.String()
}

func jobOf(t *testing.T, stdout string) string {
	t.Helper()
	m := jobLine.FindStringSubmatch(strings.SplitN(stdout, "\n", 2)[0])
	require.NotNil(t, m, "the first line names no job: %q", stdout)
	require.Equal(t, m[1], m[2])
	return m[1]
}

// A replay --all is a job the console sees; cancelled there half-way, the
// command says so and exits 1, and --resume replays the rest, none twice.
func TestDLQReplayAllCancelledElsewhereResumes(t *testing.T) {
	t.Parallel()
	env := newJobEnv(t, 6)
	jobs := env.jobs(t)

	code, out, errOut := runReplay(&Env{}, []string{"dlq", "replay", "--all", "--nats-url", env.url}, func(job string, n int) {
		if n == 3 {
			_, err := jobs.Cancel(context.Background(), job) // as the console's Cancel does
			require.NoError(t, err)
		}
	})
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := jobOf(t, out)
	require.Contains(t, out, "\nreplayed 3, skipped 0, failed 0\n")
	require.Contains(t, errOut, "omq: replay job "+id+" was cancelled (in the console or by another omq) after 3 of 6; ")
	require.Contains(t, errOut, "omq dlq replay --resume "+id+" goes on with it")
	half, err := jobs.Get(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, deadletter.JobCancelled, half.State)
	require.Equal(t, 3, half.Replayed)
	require.Equal(t, audit.CLIUser(), half.By)
	require.EqualValues(t, 3, env.msgs(t, env.top.DLQStream()))

	code, out, errOut = runReplay(&Env{}, []string{"dlq", "replay", "--resume", id, "--nats-url", env.url}, nil)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Equal(t, id, jobOf(t, out))
	require.Contains(t, out, "job "+id+": going on after 3 of 6\n")
	require.Equal(t, []string{"4", "5", "6"}, replayedIDs(out), "the resume replays only what the cancel spared")
	require.Contains(t, out, "\nreplayed 6, skipped 0, failed 0\n")
	require.EqualValues(t, 6, env.msgs(t, env.top.EventsStream()), "each letter published once")
	require.EqualValues(t, 0, env.msgs(t, env.top.DLQStream()))
	done, err := jobs.Get(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, deadletter.JobDone, done.State)
	require.Equal(t, 6, done.Replayed)

	es, err := audit.Recent(t.Context(), env.s.JS, env.top, 10, 0)
	require.NoError(t, err)
	require.Len(t, es, 2)
	for _, e := range es {
		require.Equal(t, audit.CLIUser(), e.User)
		require.Equal(t, audit.CLIRole, e.Role)
		require.Equal(t, "job "+id, e.Target)
		require.Equal(t, "(every dead letter)", e.Filter)
		require.Equal(t, 3, e.Count)
	}
	require.Equal(t, "dlq.replay.resume", es[0].Kind)
	require.Equal(t, "ok", es[0].Result)
	require.Equal(t, "dlq.replay.start", es[1].Kind)
	require.Contains(t, es[1].Result, "was cancelled")
}

// Ctrl-C stops a paced job between two letters and leaves it interrupted,
// at once resumable; --resume with a new --rate finishes it.
func TestDLQReplayAllInterruptedBySignalResumes(t *testing.T) {
	t.Parallel()
	env := newJobEnv(t, 3)
	sigs := make(chan os.Signal, 2)
	e := &Env{Signals: sigs, Exit: func(code int) { t.Errorf("forced exit %d after one signal", code) }}

	// At one replay in 1000 s the second letter waits: the signal comes
	// during that wait.
	code, out, errOut := runReplay(e, []string{"dlq", "replay", "--all", "--kind", "exhausted", "--rate", "0.001", "--nats-url", env.url}, func(_ string, n int) {
		if n == 1 {
			sigs <- os.Interrupt
		}
	})
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	id := jobOf(t, out)
	require.Contains(t, errOut, "omq: replay job "+id+" interrupted after 1 of 3; ")
	require.Contains(t, out, "\nreplayed 1, skipped 0, failed 0\n")
	jobs := env.jobs(t)
	j, err := jobs.Get(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, deadletter.JobInterrupted, j.State, "stored as interrupted, not left running until its heartbeat is stale")
	require.Equal(t, 1, j.Replayed)

	code, out, errOut = runReplay(&Env{}, []string{"dlq", "replay", "--resume", id, "--rate", "0", "--nats-url", env.url}, nil)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Equal(t, []string{"2", "3"}, replayedIDs(out))
	require.EqualValues(t, 3, env.msgs(t, env.top.EventsStream()))
	j, err = jobs.Get(t.Context(), id)
	require.NoError(t, err)
	require.Equal(t, deadletter.JobDone, j.State)
	require.Equal(t, 3, j.Replayed)
	require.Zero(t, j.Rate, "the resume's --rate is the job's")

	// Done: a further resume replays nothing and says so.
	code, out, _ = runReplay(&Env{}, []string{"dlq", "replay", "--resume", id, "--nats-url", env.url}, nil)
	require.Equal(t, 0, code)
	require.Equal(t, "job "+id+" is already done (replayed 3, skipped 0, failed 0); nothing left to replay\n", out)
}

// A job another runner holds is refused, not run twice.
func TestDLQReplayResumeOfARunningJobIsRefused(t *testing.T) {
	t.Parallel()
	env := newJobEnv(t, 2)
	jobs := env.jobs(t)
	j, err := jobs.Create(t.Context(), deadletter.Filter{}, deadletter.JobOptions{By: "alice", Rate: 0.001})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_, _ = jobs.Run(ctx, j.ID, nil) // the console's runner
	}()
	require.Eventually(t, func() bool {
		got, err := jobs.Get(t.Context(), j.ID)
		// Its first letter replayed, it waits 1000 s for the second.
		return err == nil && got.State == deadletter.JobRunning && got.Replayed == 1
	}, 10*time.Second, 10*time.Millisecond)

	code, out, errOut := runReplay(&Env{}, []string{"dlq", "replay", "--resume", j.ID, "--nats-url", env.url}, nil)
	cancel()
	<-ran
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	require.Contains(t, errOut, "omq: replay job "+j.ID+" is already running, in the console or another omq; ")
	require.NotContains(t, out, "replayed ")
}

func replayedIDs(out string) []string {
	var ids []string
	for _, m := range replayedLine.FindAllStringSubmatch(out, -1) {
		ids = append(ids, m[1])
	}
	return ids
}
