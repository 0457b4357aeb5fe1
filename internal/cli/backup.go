package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/broker"
	"github.com/openmoove/omq/streams"
)

// A backup is the JetStream server's own snapshot of each stream (a KV
// bucket is the stream KV_<bucket>), not a re-publish of its messages:
// omq keys state by stream sequence (dead-letter ids, the FAILURES bucket's
// per-message history, MessageRef), and only a snapshot restores the same
// sequences, the consumers' positions and the buckets' revisions. Each
// stream is two files in the backup directory: NAME.json (the config and
// state the server answered the snapshot request with) and NAME.snap (the
// snapshot bytes as the server sent them).
const (
	snapshotAPI = "$JS.API.STREAM.SNAPSHOT."
	restoreAPI  = "$JS.API.STREAM.RESTORE."
	// chunkSize is what restore sends per request: the server's own
	// snapshot chunk size, well under the default 1 MiB max payload.
	chunkSize = 128 * 1024
	// chunkTimeout bounds the wait for one chunk or its ack; a snapshot
	// of a large stream takes long in total but never stalls this long.
	chunkTimeout = 30 * time.Second
)

// snapshotMeta is NAME.json: the server's snapshot response, kept raw so
// that stream settings this omq does not know survive the round trip.
type snapshotMeta struct {
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
}

type streamCounts struct {
	Msgs      uint64 `json:"messages"`
	Bytes     uint64 `json:"bytes"`
	Consumers int    `json:"consumer_count"`
}

type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (code %d)", e.Description, e.ErrCode) }

// backupNames are the streams a backup holds: omq's streams, then its
// buckets' streams. The console's SESSIONS are left out: they are
// disposable (a restore asks everyone to log in again), and a restore of
// old ones would bring back logins that were ended since.
func backupNames(top streams.Topology) []string {
	var names []string
	for _, s := range top.Streams() {
		names = append(names, s.Name)
	}
	for _, b := range top.Buckets() {
		if b.Bucket == top.SessionsBucket() {
			continue
		}
		names = append(names, "KV_"+b.Bucket)
	}
	return names
}

func newBackupCmd(e *Env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "backup --dir DIR",
		Short: "Snapshot every stream and bucket of omq into a directory",
		Long: `Write a snapshot of every stream and key-value bucket omq uses, with their
consumers, into a new directory: for each, NAME.json (its settings and
counts) and NAME.snap (the server's snapshot). omq run may keep running;
each stream is snapshotted consistently on its own. The directory must not
exist: the backup is written beside it and renamed into place when whole,
so a DIR that exists is a complete backup. Restore it with omq restore.`,
		Example: `  omq backup --dir backups/$(date +%F)
  omq backup --dir /var/backups/omq --nats-url nats://nats-1:4222`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams)
	cmd.Flags().StringVar(&dir, "dir", "", "directory to create for the backup (required; must not exist)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		if dir == "" {
			return usageErrorf("--dir is required: the directory to write the backup into (it must not exist yet)")
		}
		if _, err := os.Stat(dir); err == nil {
			return usageErrorf("--dir %s already exists; name a new directory (omq backup never overwrites a backup)", dir)
		}
		ctx := cmd.Context()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		nc, js, err := connect(cctx, cfg, "omq backup")
		cancel()
		if err != nil {
			return err
		}
		defer nc.Close()
		tmp := dir + ".partial"
		if err := os.RemoveAll(tmp); err != nil {
			return err
		}
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return usageErrorf("--dir: %v", err)
		}
		for _, name := range backupNames(cfg.Topology()) {
			ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := js.Stream(ictx, name)
			cancel()
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				fmt.Fprintf(e.Stdout, "%-26s absent, skipped\n", name)
				continue
			}
			if err != nil {
				return fmt.Errorf("stream %s: %w", name, err)
			}
			c, err := snapshotStream(ctx, nc, name, tmp)
			if err != nil {
				return fmt.Errorf("backup of %s: %w; the partial backup is in %s", name, err, tmp)
			}
			printCounts(e.Stdout, name, c)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "backup written to %s\n", dir)
		return nil
	}
	return cmd
}

func printCounts(w io.Writer, name string, c streamCounts) {
	fmt.Fprintf(w, "%-26s %s, %s, %s\n", name, plural(int(c.Msgs), "message"), plural(c.Consumers, "consumer"), humanBytes(c.Bytes))
}

func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// snapshotStream asks the server for a snapshot of one stream and writes
// it to dir/NAME.snap, acknowledging each chunk (the server's flow
// control), then dir/NAME.json.
func snapshotStream(ctx context.Context, nc *nats.Conn, name, dir string) (streamCounts, error) {
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return streamCounts{}, err
	}
	defer sub.Unsubscribe()
	req, _ := json.Marshal(map[string]any{"deliver_subject": inbox, "chunk_size": chunkSize})
	rctx, cancel := context.WithTimeout(ctx, chunkTimeout)
	resp, err := nc.RequestWithContext(rctx, snapshotAPI+name, req)
	cancel()
	if err != nil {
		return streamCounts{}, fmt.Errorf("snapshot request: %w", err)
	}
	var r struct {
		snapshotMeta
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return streamCounts{}, fmt.Errorf("snapshot answer: %w", err)
	}
	if r.Error != nil {
		return streamCounts{}, r.Error
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".snap"), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return streamCounts{}, err
	}
	defer f.Close()
	if err := receiveChunks(ctx, sub, f); err != nil {
		return streamCounts{}, err
	}
	if err := f.Close(); err != nil {
		return streamCounts{}, err
	}
	meta, _ := json.MarshalIndent(r.snapshotMeta, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(meta, '\n'), 0o600); err != nil {
		return streamCounts{}, err
	}
	var c streamCounts
	err = json.Unmarshal(r.State, &c)
	return c, err
}

// receiveChunks copies the snapshot's chunks to w until the server's empty
// end message, whose status header carries a failure.
func receiveChunks(ctx context.Context, sub *nats.Subscription, w io.Writer) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, chunkTimeout)
		m, err := sub.NextMsgWithContext(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("waiting for the next snapshot chunk: %w", err)
		}
		if len(m.Data) == 0 {
			if s := m.Header.Get("Status"); s != "" && s != "204" {
				return fmt.Errorf("server ended the snapshot with %s %s", s, m.Header.Get("Description"))
			}
			return nil
		}
		if _, err := w.Write(m.Data); err != nil {
			return err
		}
		if m.Reply != "" {
			if err := m.Respond(nil); err != nil {
				return err
			}
		}
	}
}

func newRestoreCmd(e *Env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "restore --dir DIR",
		Short: "Recreate omq's streams and buckets from a backup",
		Long: `Recreate every stream and bucket of a backup written by omq backup, with
the same messages, sequences, consumers and bucket revisions. A stream
that already exists is refused, so restore into a wiped data dir or a new
cluster, before omq run or omq streams apply creates empty ones.

With --nats-url empty, restore opens --data-dir itself (omq run must be
stopped; a missing data dir is created, with a new NATS password). With
--nats-url it restores into that server or cluster; each stream keeps the
replicas it had, or takes --replicas when given (a single server takes 1).`,
		Example: `  omq restore --dir backups/2026-01-31
  omq restore --dir backups/2026-01-31 --nats-url nats://127.0.0.1:4222 --replicas 3`,
		Args: cobra.NoArgs,
	}
	cfg := bindConfig(cmd, config.GroupNATS, config.GroupStreams, config.GroupLayout)
	cmd.Flags().StringVar(&dir, "dir", "", "directory of a backup written by omq backup (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := e.loadConfig(cmd, cfg); err != nil {
			return err
		}
		if dir == "" {
			return usageErrorf("--dir is required: the directory omq backup wrote")
		}
		names, err := backupContents(dir)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		nc, stop, err := restoreTarget(ctx, cfg)
		if err != nil {
			return err
		}
		defer stop()
		replicas := 0
		switch {
		case cfg.EmbeddedNATS():
			replicas = 1
		case cmd.Flags().Changed("replicas"):
			replicas = cfg.Replicas
		}
		if err := checkAbsent(ctx, nc, names); err != nil {
			return err
		}
		for _, name := range names {
			c, err := restoreStream(ctx, nc, dir, name, replicas)
			if err != nil {
				return fmt.Errorf("restore of %s: %w", name, err)
			}
			printCounts(e.Stdout, name, c)
		}
		fmt.Fprintf(e.Stdout, "restored %s from %s\n", plural(len(names), "stream"), dir)
		return nil
	}
	return cmd
}

// backupContents lists the streams of a backup directory, refusing one
// with a stream whose snapshot is missing.
func backupContents(dir string) ([]string, error) {
	metas, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(metas) == 0 {
		return nil, usageErrorf("--dir %s holds no backup (no NAME.json files); name a directory omq backup wrote", dir)
	}
	var names []string
	for _, m := range metas {
		name := strings.TrimSuffix(filepath.Base(m), ".json")
		if _, err := os.Stat(filepath.Join(dir, name+".snap")); err != nil {
			return nil, usageErrorf("--dir %s: %s.json has no %s.snap; the backup is incomplete", dir, name, name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// restoreTarget connects to --nats-url, or starts the embedded server on
// --data-dir in this process, refusing while an omq run serves it: the
// store of a running server must not be written by a second one.
func restoreTarget(ctx context.Context, cfg *config.Config) (*nats.Conn, func(), error) {
	if !cfg.EmbeddedNATS() {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		nc, _, err := connect(cctx, cfg, "omq restore")
		if err != nil {
			return nil, nil, err
		}
		return nc, nc.Close, nil
	}
	if _, err := broker.ReadPassword(cfg.DataDir); err == nil && cfg.ClientNATSURL() != "" {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		nc, _, err := connect(cctx, cfg, "omq restore")
		cancel()
		if err == nil {
			nc.Close()
			return nil, nil, usageErrorf("omq run is serving --data-dir %s; stop it first: restore writes the store itself", cfg.DataDir)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, usageErrorf("--data-dir: %v", err)
	}
	creds := broker.Credentials{User: cfg.NATSUser, Password: cfg.NATSPassword}
	if cfg.NATSUser == "" {
		var err error
		if creds, err = broker.EnsurePassword(cfg.DataDir, nil); err != nil {
			return nil, nil, err
		}
	}
	srv, err := broker.StartEmbedded(broker.EmbeddedOptions{
		StoreDir: filepath.Join(cfg.DataDir, "jetstream"), Credentials: creds,
	})
	if err != nil {
		return nil, nil, err
	}
	stop := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	nc, err := srv.Connect("omq restore")
	if err != nil {
		stop()
		return nil, nil, err
	}
	return nc, func() { nc.Close(); stop() }, nil
}

// checkAbsent refuses a restore before it starts when one of its streams
// exists, rather than leaving half of a backup restored.
func checkAbsent(ctx context.Context, nc *nats.Conn, names []string) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for _, name := range names {
		ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := js.Stream(ictx, name)
		cancel()
		switch {
		case err == nil:
			return existsError(name)
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return fmt.Errorf("stream %s: %w", name, err)
		}
	}
	return nil
}

func existsError(name string) error {
	return fmt.Errorf("stream %s already exists; restore needs it absent: restore into a wiped --data-dir or a new cluster, before omq run or omq streams apply create empty streams (nothing was restored)", name)
}

// restoreStream sends one stream's snapshot to the server's restore
// endpoint, one acknowledged chunk at a time. replicas > 0 replaces the
// backup's replica count.
func restoreStream(ctx context.Context, nc *nats.Conn, dir, name string, replicas int) (streamCounts, error) {
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return streamCounts{}, err
	}
	var meta snapshotMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return streamCounts{}, fmt.Errorf("%s.json: %w", name, err)
	}
	if replicas > 0 {
		var c map[string]any
		if err := json.Unmarshal(meta.Config, &c); err != nil {
			return streamCounts{}, fmt.Errorf("%s.json: config: %w", name, err)
		}
		c["num_replicas"] = replicas
		meta.Config, _ = json.Marshal(c)
	}
	req, _ := json.Marshal(meta)
	var start struct {
		DeliverSubject string    `json:"deliver_subject"`
		Error          *apiError `json:"error"`
	}
	if err := request(ctx, nc, restoreAPI+name, req, &start); err != nil {
		return streamCounts{}, err
	}
	if start.Error != nil {
		if start.Error.ErrCode == 10130 { // JSStreamNameExistRestoreFailedErr
			return streamCounts{}, existsError(name)
		}
		return streamCounts{}, start.Error
	}
	f, err := os.Open(filepath.Join(dir, name+".snap"))
	if err != nil {
		return streamCounts{}, err
	}
	defer f.Close()
	if err := sendChunks(ctx, nc, start.DeliverSubject, f); err != nil {
		return streamCounts{}, err
	}
	// The answer is a stream-create response: the stream info's fields
	// at its top level.
	var done struct {
		State *streamCounts `json:"state"`
		Error *apiError     `json:"error"`
	}
	// The empty message ends the upload; the answer comes once the server
	// has rebuilt the stream, which takes longer than one chunk.
	if err := request(ctx, nc, start.DeliverSubject, nil, &done, 10*time.Minute); err != nil {
		return streamCounts{}, err
	}
	if done.Error != nil {
		return streamCounts{}, done.Error
	}
	if done.State == nil {
		return streamCounts{}, errors.New("the server answered the restore without the stream's state; check it with omq status")
	}
	return *done.State, nil
}

func sendChunks(ctx context.Context, nc *nats.Conn, subject string, r io.Reader) error {
	buf := make([]byte, chunkSize)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			var ack struct {
				Error *apiError `json:"error"`
			}
			if rerr := request(ctx, nc, subject, buf[:n], &ack); rerr != nil {
				return rerr
			}
			if ack.Error != nil {
				return ack.Error
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// request sends data and decodes a non-empty answer into v, within
// chunkTimeout or the one timeout given.
func request(ctx context.Context, nc *nats.Conn, subject string, data []byte, v any, timeout ...time.Duration) error {
	d := chunkTimeout
	if len(timeout) > 0 {
		d = timeout[0]
	}
	rctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	m, err := nc.RequestWithContext(rctx, subject, data)
	if err != nil {
		return fmt.Errorf("request to %s: %w", subject, err)
	}
	if len(m.Data) == 0 {
		return nil
	}
	return json.Unmarshal(m.Data, v)
}
