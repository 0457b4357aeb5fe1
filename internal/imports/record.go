package imports

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/streams"
)

// Record is one file omq import queued, as the IMPORTS bucket keeps it
// under "file.<ID>"; its rows are under "rows.<ID>.<n>", chunkRows a key,
// so a file of any size stays under NATS's message limit.
type Record struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Format string    `json:"format"`
	At     time.Time `json:"at"`
	// By is who ran the import: "cli:<OS user>".
	By   string `json:"by"`
	Rows int    `json:"rows"`
	// Summary is what the latest import of the file did.
	Summary Summary `json:"summary"`
	// Runs counts the imports of this same file.
	Runs   int `json:"runs"`
	Chunks int `json:"chunks"`
}

// RowRef is what the bucket keeps of a row: enough to read its state.
type RowRef struct {
	Line      int    `json:"line"`
	RequestID string `json:"request_id,omitempty"`
	// Problems is set for a row that did not validate (never queued).
	Problems string `json:"problems,omitempty"`
}

// Ref is what the bucket keeps of r.
func (r Row) Ref() RowRef {
	if r.Valid() {
		return RowRef{Line: r.Line, RequestID: r.Creation.RequestID}
	}
	p := r.Problems()
	if p == "" {
		p = "invalid"
	}
	return RowRef{Line: r.Line, RequestID: r.Creation.RequestID, Problems: p}
}

// chunkRows bounds one key's rows: a row's problems are a few hundred
// bytes at most, so a chunk stays well under NATS's 1 MiB payload.
const chunkRows = 1000

// Store is the IMPORTS bucket.
type Store struct{ kv jetstream.KeyValue }

// OpenStore opens topology's IMPORTS bucket (streams.Apply provisions it).
func OpenStore(ctx context.Context, js jetstream.JetStream, top streams.Topology) (*Store, error) {
	kv, err := js.KeyValue(ctx, top.ImportsBucket())
	if err != nil {
		return nil, fmt.Errorf("imports: open bucket %s (run omq streams apply): %w", top.ImportsBucket(), err)
	}
	return &Store{kv: kv}, nil
}

// Save records an import of f: its rows, then the record that points at
// them, so a reader never finds a record without its rows. A file
// imported again keeps its ID and counts one more run.
func (s *Store) Save(ctx context.Context, f File, by string, at time.Time, rows []Row, sum Summary) (Record, error) {
	rec := Record{ID: f.ID, Name: f.Name, Format: f.Format, At: at.UTC(), By: by, Rows: len(rows), Summary: sum, Runs: 1}
	if old, err := s.Get(ctx, f.ID); err == nil {
		rec.Runs = old.Runs + 1
	}
	for start := 0; start < len(rows); start += chunkRows {
		part := rows[start:min(start+chunkRows, len(rows))]
		refs := make([]RowRef, len(part))
		for i, r := range part {
			refs[i] = r.Ref()
		}
		if err := s.put(ctx, rowsKey(f.ID, rec.Chunks), refs); err != nil {
			return rec, err
		}
		rec.Chunks++
	}
	return rec, s.put(ctx, "file."+f.ID, rec)
}

func rowsKey(id string, n int) string { return "rows." + id + "." + strconv.Itoa(n) }

func (s *Store) put(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := s.kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("imports: write %s: %w", key, err)
	}
	return nil
}

// ErrNotFound is Get's answer for an ID the bucket does not hold.
var ErrNotFound = errors.New("imports: no such import")

// Get reads one import's record.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	var rec Record
	e, err := s.kv.Get(ctx, "file."+id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey) {
		return rec, ErrNotFound
	}
	if err != nil {
		return rec, fmt.Errorf("imports: read %s: %w", id, err)
	}
	return rec, json.Unmarshal(e.Value(), &rec)
}

// Rows reads an import's rows, in file order.
func (s *Store) Rows(ctx context.Context, rec Record) ([]RowRef, error) {
	out := make([]RowRef, 0, rec.Rows)
	for n := range rec.Chunks {
		e, err := s.kv.Get(ctx, rowsKey(rec.ID, n))
		if err != nil {
			return out, fmt.Errorf("imports: rows of %s (%s), part %d: %w", rec.Name, rec.ID, n, err)
		}
		var part []RowRef
		if err := json.Unmarshal(e.Value(), &part); err != nil {
			return out, fmt.Errorf("imports: rows of %s, part %d: %w", rec.Name, n, err)
		}
		out = append(out, part...)
	}
	return out, nil
}

// List returns every recorded import, newest first.
func (s *Store) List(ctx context.Context) ([]Record, error) {
	lister, err := s.kv.ListKeysFiltered(ctx, "file.*")
	if err != nil {
		return nil, fmt.Errorf("imports: list: %w", err)
	}
	var out []Record
	for k := range lister.Keys() {
		rec, err := s.Get(ctx, strings.TrimPrefix(k, "file."))
		if errors.Is(err, ErrNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Name, b.Name)) })
	return out, nil
}
