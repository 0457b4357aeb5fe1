package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/openmoove/omq/internal/httpserve"
	"github.com/openmoove/omq/openmoove"
)

// APIPrefix is the path of the Partner API on the sandbox.
const APIPrefix = "/api/v1/partners/"

// AdminPrefix is the path of the admin API (faults, journal, clock).
const AdminPrefix = "/_sandbox/"

// ErrNotFound is returned by the Go API for an unknown property or milestone.
var ErrNotFound = errors.New("sandbox: not found")

// Server is an in-memory OpenMoove Partner API. Create it with New, serve it
// with Start (or mount Handler), and always Close it: Close also stops
// webhook deliveries. A Server is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	limiter *limiter
	journal journal
	hooks   *webhooks

	ctx    context.Context // ends at Close; bounds sleeps and webhooks
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu          sync.Mutex // guards everything below
	faults      Faults
	rejects     []Reject
	dice        *rand.Rand
	ids         *rand.ChaCha8
	offset      time.Duration
	nextID      int64 // properties, movers, professionals, purchases
	nextMile    int64
	props       []*property
	byTx        map[string]*property
	byID        map[int64]*property
	seeded      []string
	srv         *httpserve.Server
	closeOnce   sync.Once
	closeErr    error
	serveErrors chan error
}

// New builds a Server from cfg (defaults filled), with cfg.Seed demo
// properties. It does not listen: call Start, or mount Handler.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var seed [32]byte
	copy(seed[:], strconv.FormatUint(cfg.RandSeed, 10))
	s := &Server{
		cfg: cfg, log: cfg.Logger, limiter: newLimiter(cfg),
		faults: cfg.Faults, rejects: append([]Reject(nil), cfg.Rejects...),
		dice: rand.New(rand.NewPCG(cfg.RandSeed, cfg.RandSeed^0x9e3779b97f4a7c15)),
		ids:  rand.NewChaCha8(seed), nextID: 1, nextMile: 1001,
		byTx: map[string]*property{}, byID: map[int64]*property{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.WebhookURL != "" {
		s.hooks = newWebhooks(s.ctx, cfg, &s.wg)
	}
	s.handler = s.routes()
	s.seeded = s.seedDemo(cfg.Seed)
	return s, nil
}

// Start listens on Config.Addr and serves until Close. ctx bounds only the
// start.
func (s *Server) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	srv, err := httpserve.Listen(ctx, httpserve.Options{Addr: s.cfg.Addr, Handler: s.handler, Limits: httpserve.Limits(s.cfg.Limits),
		BaseContext: s.ctx, Logger: s.log})
	if err != nil {
		return fmt.Errorf("sandbox: listen on %s: %w (is another sandbox running? try --addr 127.0.0.1:0)", s.cfg.Addr, err)
	}
	s.mu.Lock()
	if s.srv != nil {
		s.mu.Unlock()
		_ = srv.Close()
		return errors.New("sandbox: already started")
	}
	s.srv = srv
	s.mu.Unlock()
	s.wg.Go(func() {
		if err := srv.Serve(); err != nil {
			s.log.Error("sandbox stopped serving", "err", err)
		}
	})
	s.log.Info("sandbox listening", "url", s.URL())
	return nil
}

// Close stops listening, waits for calls in progress until ctx ends, and
// stops webhook deliveries (pending retries are dropped). Calls still in
// progress when ctx ends are cut off, and the error says so, wrapping ctx's
// error. A second call returns the first call's result.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		srv := s.srv
		s.mu.Unlock()
		if srv != nil {
			if err := srv.Shutdown(ctx); err != nil {
				s.closeErr = fmt.Errorf("sandbox: calls still in progress, cut off: %w", err)
			}
		}
		s.cancel()
		if srv != nil && s.closeErr != nil {
			_ = srv.Close()
		}
		s.wg.Wait()
		if s.hooks != nil {
			s.hooks.client.CloseIdleConnections()
		}
	})
	return s.closeErr
}

// Name is "sandbox". With Start and Stop it keeps omq's role contract
// (workers.Component).
func (s *Server) Name() string { return "sandbox" }

// Stop is Close.
func (s *Server) Stop(ctx context.Context) error { return s.Close(ctx) }

// Handler serves the partner and admin APIs; mount it in an httptest.Server
// when Start's listener is not wanted.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr returns the address Start listens on ("127.0.0.1:41234"), or "" before
// Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return ""
	}
	return s.srv.Addr()
}

// URL returns the Partner API base URL, "http://127.0.0.1:41234/api/v1/partners/",
// ready for openmoove.Config.BaseURL; "" before Start.
func (s *Server) URL() string {
	if a := s.Addr(); a != "" {
		return "http://" + a + APIPrefix
	}
	return ""
}

// AdminURL returns the admin API root, "http://127.0.0.1:41234/_sandbox/".
func (s *Server) AdminURL() string {
	if a := s.Addr(); a != "" {
		return "http://" + a + AdminPrefix
	}
	return ""
}

// Now returns the sandbox clock: Config.Now plus every AdvanceClock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

// nowLocked is the sandbox clock at DRF's microsecond precision.
func (s *Server) nowLocked() time.Time {
	return s.cfg.Now().Add(s.offset).UTC().Truncate(time.Microsecond)
}

// AdvanceClock moves the sandbox clock forward by d (due dates, is_overdue,
// timestamps); it returns the new time. Rate windows are not affected.
func (s *Server) AdvanceClock(d time.Duration) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
	return s.nowLocked()
}

// SetFaults replaces the faults in force.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
	return nil
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// AddReject adds a rule making POST /clients/ refuse matching requests.
func (s *Server) AddReject(r Reject) error {
	if err := r.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	s.rejects = append(s.rejects, r)
	s.mu.Unlock()
	return nil
}

// ClearRejects removes every reject rule.
func (s *Server) ClearRejects() {
	s.mu.Lock()
	s.rejects = nil
	s.mu.Unlock()
}

// Requests returns the journal: every partner call so far, in the order
// the answers completed.
func (s *Server) Requests() []Request { return s.journal.list() }

// ResetRequests empties the journal.
func (s *Server) ResetRequests() { s.journal.reset() }

// SeededIDs returns the transaction ids of the demo properties of
// Config.Seed.
func (s *Server) SeededIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seeded...)
}

// Property is a snapshot of a property for assertions.
type Property struct {
	ID            int64
	TransactionID string
	Partner       string
	CreatedAt     time.Time
	// Request is the creation request as stored (normalised).
	Request    openmoove.CreateClientRequest
	Milestones []openmoove.Milestone
}

// Properties returns a snapshot of every property, oldest first.
func (s *Server) Properties() []Property {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Property, len(s.props))
	for i, p := range s.props {
		out[i] = s.snapshot(p)
	}
	return out
}

// Lookup returns a snapshot of the property with the transaction UUID or
// numeric id.
func (s *Server) Lookup(id string) (Property, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.findLocked(id)
	if p == nil {
		return Property{}, false
	}
	return s.snapshot(p), true
}

func (s *Server) snapshot(p *property) Property {
	return Property{ID: p.id, TransactionID: p.txID, Partner: p.partner, CreatedAt: p.createdAt,
		Request: p.req, Milestones: p.milestoneViews(s.nowLocked())}
}

// SeedProperty creates a property as POST /clients/ would for apiKey's
// partner (validated, without rate limit, faults or webhook) and returns its
// transaction id.
func (s *Server) SeedProperty(apiKey string, req openmoove.CreateClientRequest) (string, error) {
	partner, ok := s.cfg.Keys[apiKey]
	if !ok {
		return "", fmt.Errorf("sandbox: SeedProperty: unknown API key")
	}
	if err := openmoove.ValidateCreate(&req); err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createLocked(partner, req, s.nowLocked()).txID, nil
}

// CompleteMilestone completes the named milestone (case-insensitive) of a
// property, as if a conveyancer did it in the OpenMoove app, and sends a
// property.milestone.updated webhook. Completing a completed milestone
// changes nothing. id is the transaction UUID or numeric id.
func (s *Server) CompleteMilestone(id, name string) (openmoove.Milestone, error) {
	s.mu.Lock()
	p := s.findLocked(id)
	if p == nil {
		s.mu.Unlock()
		return openmoove.Milestone{}, fmt.Errorf("%w: property %q", ErrNotFound, id)
	}
	m := p.milestoneByName(name)
	if m == nil {
		s.mu.Unlock()
		return openmoove.Milestone{}, fmt.Errorf("%w: milestone %q of property %q", ErrNotFound, name, id)
	}
	now := s.nowLocked()
	changed := m.completedAt == nil
	if changed {
		m.completedAt = &now
	}
	v, pid := m.view(now), p.id
	s.mu.Unlock()
	if changed {
		s.milestoneWebhook(EventMilestoneUpdated, pid, v, now)
	}
	return v, nil
}

// createLocked stores a validated request as a new property.
func (s *Server) createLocked(partner string, req openmoove.CreateClientRequest, at time.Time) *property {
	u, _ := uuid.NewRandomFromReader(s.ids)
	p := &property{id: s.next(), txID: u.String(), partner: partner, moverID: s.next(), req: req,
		createdAt: at, roleIDs: map[string]int64{}}
	for _, r := range p.professionals() {
		p.roleIDs[r.role] = s.next()
	}
	for range req.Products { // the one product today is free
		p.purchases = append(p.purchases, openmoove.Purchase{ID: s.next(), ProductName: productList().Results[0].Name,
			Amount: "0", PaymentTerms: "net_30", PaymentStatus: "pending", PurchasedAt: at})
	}
	for i, t := range Template(req.SaleMethod) {
		p.milestones = append(p.milestones, &milestone{tmpl: t, id: s.nextMile, order: i + 1, due: at.Add(t.DueAfter)})
		s.nextMile++
	}
	s.props = append(s.props, p)
	s.byTx[p.txID] = p
	s.byID[p.id] = p
	return p
}

func (s *Server) next() int64 {
	id := s.nextID
	s.nextID++
	return id
}

// findLocked looks a property up by transaction UUID or numeric id.
func (s *Server) findLocked(id string) *property {
	if p, ok := s.byTx[id]; ok {
		return p
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		return s.byID[n]
	}
	return nil
}
