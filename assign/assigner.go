package assign

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/openmoove/omq/failure"
	"github.com/openmoove/omq/openmoove"
)

// loadPrefix starts the LEDGER keys of the load counts.
const loadPrefix = "load."

// maxCASAttempts bounds the compare-and-set retries of one pick; many
// replicas racing for one key is the only way to use them up.
const maxCASAttempts = 32

// Assigner picks professionals from a Table by load. It is safe for
// concurrent use, and replicas sharing the bucket share the loads.
type Assigner struct {
	table *Table
	kv    jetstream.KeyValue
}

// NewAssigner returns an Assigner over table (nil assigns nobody) keeping
// the loads in kv (omq uses the LEDGER bucket).
func NewAssigner(table *Table, kv jetstream.KeyValue) *Assigner {
	if table == nil {
		table = &Table{}
	}
	return &Assigner{table: table, kv: kv}
}

// Table returns the assignment table.
func (a *Assigner) Table() *Table { return a.table }

// Assign fills every role req lacks with its least loaded candidate and
// reserves that candidate's slot (its load goes up by one). It returns what
// it assigned, by role; Release gives the slots back. A KV failure is
// Transient and assigns nothing.
func (a *Assigner) Assign(ctx context.Context, req *openmoove.CreateClientRequest) (map[Role]string, error) {
	var got map[Role]string
	for _, r := range Roles {
		f := r.Field(req)
		if strings.TrimSpace(*f) != "" {
			continue
		}
		cands := a.table.CandidatesFor(r, req.PropertyPostcode, strings.TrimSpace(req.SaleMethod))
		if len(cands) == 0 {
			continue
		}
		email, err := a.pick(ctx, cands)
		if err != nil {
			_ = a.Release(context.WithoutCancel(ctx), got)
			return nil, err
		}
		*f = email
		if got == nil {
			got = map[Role]string{}
		}
		got[r] = email
	}
	return got, nil
}

// pick reserves the least loaded of cands.
func (a *Assigner) pick(ctx context.Context, cands []string) (string, error) {
	for range maxCASAttempts {
		best, bestLoad, bestRev := "", int64(-1), uint64(0)
		for _, c := range cands {
			n, rev, err := a.load(ctx, c)
			if err != nil {
				return "", err
			}
			if bestLoad < 0 || n < bestLoad {
				best, bestLoad, bestRev = c, n, rev
			}
		}
		ok, err := a.set(ctx, best, bestLoad+1, bestRev)
		if err != nil {
			return "", err
		}
		if ok {
			return best, nil
		}
	}
	return "", failure.TransientError(errors.New("assign: too many concurrent picks; retrying later"))
}

// Release gives back the slots Assign reserved.
func (a *Assigner) Release(ctx context.Context, assigned map[Role]string) error {
	var errs []error
	for _, email := range assigned {
		if err := a.add(ctx, email, -1); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// add changes email's load by delta, never below zero.
func (a *Assigner) add(ctx context.Context, email string, delta int64) error {
	for range maxCASAttempts {
		n, rev, err := a.load(ctx, email)
		if err != nil {
			return err
		}
		ok, err := a.set(ctx, email, max(0, n+delta), rev)
		if err != nil || ok {
			return err
		}
	}
	return failure.TransientError(fmt.Errorf("assign: load of %s is contended", email))
}

// load reads email's load and the key's revision (0: absent).
func (a *Assigner) load(ctx context.Context, email string) (int64, uint64, error) {
	e, err := a.kv.Get(ctx, LoadKey(email))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, failure.TransientError(fmt.Errorf("assign: read load: %w", err))
	}
	n, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil {
		n = 0 // a corrupt count restarts rather than blocking every creation
	}
	return n, e.Revision(), nil
}

// set writes email's load if the key is still at rev; ok is false when
// another writer got there first.
func (a *Assigner) set(ctx context.Context, email string, n int64, rev uint64) (bool, error) {
	val := []byte(strconv.FormatInt(n, 10))
	var err error
	if rev == 0 {
		_, err = a.kv.Create(ctx, LoadKey(email), val)
	} else {
		_, err = a.kv.Update(ctx, LoadKey(email), val, rev)
	}
	if err == nil {
		return true, nil
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return false, nil
	}
	return false, failure.TransientError(fmt.Errorf("assign: write load: %w", err))
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// Loads returns every professional's load, by email.
func (a *Assigner) Loads(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	lister, err := a.kv.ListKeysFiltered(ctx, loadPrefix+">")
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return out, nil
		}
		return nil, err
	}
	defer func() { _ = lister.Stop() }()
	for k := range lister.Keys() {
		email, ok := emailOfKey(k)
		if !ok {
			continue
		}
		n, _, err := a.load(ctx, email)
		if err != nil {
			return nil, err
		}
		out[email] = n
	}
	return out, nil
}

// LoadKey is the LEDGER key of a professional's load: "load." and the
// lower-cased email in unpadded base64url (KV keys cannot hold "@" or "+").
func LoadKey(email string) string {
	return loadPrefix + base64.RawURLEncoding.EncodeToString([]byte(strings.ToLower(strings.TrimSpace(email))))
}

func emailOfKey(k string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k, loadPrefix))
	return string(b), err == nil && strings.HasPrefix(k, loadPrefix)
}

// Professionals lists every email of the table, sorted, once each.
func (t *Table) Professionals() []string {
	seen := map[string]bool{}
	add := func(c Candidates) {
		for _, r := range Roles {
			for _, e := range c.For(r) {
				seen[e] = true
			}
		}
	}
	add(t.Default)
	for _, r := range t.Rules {
		add(r.Candidates)
	}
	out := make([]string, 0, len(seen))
	for e := range seen {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}
