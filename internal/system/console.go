package system

import (
	"context"
	"strings"

	"github.com/openmoove/omq/config"
	"github.com/openmoove/omq/internal/console"
	"github.com/openmoove/omq/internal/logging"
)

// startConsole serves the operator console under /console/ on the HTTP
// listener, unless --console off or --http off. It is a component: stopped
// with the roles, after the listener.
func (s *System) startConsole(ctx context.Context) error {
	cfg := s.deps.Config
	if strings.EqualFold(cfg.Console, "off") || s.httpSrv == nil {
		return nil
	}
	api := s.deps.API
	where := config.RedactURL(s.deps.APIConfig.BaseURL)
	c, err := console.New(ctx, console.Options{JS: s.deps.JS, Topology: s.deps.Topology, Config: cfg,
		Logger: s.log, Addr: cfg.HTTP, TLS: s.httpSrv.TLS(),
		Probe: func(ctx context.Context) (string, error) { return where, api.Probe(ctx) }})
	if err != nil {
		return err
	}
	if err := c.Start(ctx); err != nil {
		return err
	}
	s.comps = append(s.comps, c)
	s.deps.Mux.Handle(console.Prefix, c)
	s.log.Info("console ready", logging.KeyComponent, "console", "url", s.HTTPScheme()+"://"+s.httpSrv.Addr()+console.Prefix)
	return nil
}
