// Package server is TUNA's HTTP face: the protocol endpoints
// (POST /tx/{protocol}/{step}) over the engine, health, readiness and
// metrics, and a separate admin listener behind a token. It owns request
// limits, the response envelope, and the one mapping from error to status.
package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sort"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/engine"
)

// Options configure a Server. Zero values mean the defaults noted.
type Options struct {
	Engine     *engine.Engine
	Log        *zap.Logger
	Gatherer   prometheus.Gatherer // for /metrics; default: the default registry
	AdminToken string              // required for the admin listener
	Limits     Limits
	// DrainTimeout bounds how long Shutdown waits for in-flight steps; default 30s.
	DrainTimeout time.Duration
	// Mounts are application handlers on the public listener, by echo path
	// pattern ("/v1/payments/*"): they get the same middleware (request ID,
	// access log, panic recovery) as the protocol endpoints.
	Mounts map[string]http.Handler
	// AdminMounts are application handlers on the admin listener, behind
	// its token, by echo path pattern under /admin ("/admin/webhooks/*").
	AdminMounts map[string]http.Handler
	// HeaderTimeout and BodyTimeout bound how long a client may take to send
	// its headers (default 5s) and its whole request (default 15s).
	HeaderTimeout, BodyTimeout time.Duration
}

// Server serves the public and the admin listeners.
type Server struct {
	opts   Options
	log    *zap.Logger
	public *echo.Echo
	admin  *echo.Echo
	ready  atomic.Bool
}

// New builds the server's routes; Serve starts it.
func New(opts Options) *Server {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.Gatherer == nil {
		opts.Gatherer = prometheus.DefaultGatherer
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = 5 * time.Second
	}
	if opts.BodyTimeout <= 0 {
		opts.BodyTimeout = 15 * time.Second
	}
	opts.Limits = opts.Limits.withDefaults()
	s := &Server{opts: opts, log: opts.Log}
	s.public = s.newEcho()
	s.public.POST("/tx/:protocol/:step", s.step)
	for pattern, h := range opts.Mounts {
		s.public.Any(pattern, echo.WrapHandler(h))
	}
	s.routeHealth(s.public)
	s.admin = s.newEcho()
	s.routeAdmin(s.admin)
	return s
}

func (s *Server) newEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.recoverer, s.requestID, s.accessLog)
	return e
}

func (s *Server) routeHealth(e *echo.Echo) {
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{})))
}

func (s *Server) readyz(c echo.Context) error {
	if !s.ready.Load() {
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

// Routes lists the paths the public listener routes, sorted (echo patterns:
// /tx/:protocol/:step, /v1/payments/*).
func (s *Server) Routes() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range s.public.Routes() {
		if !seen[r.Path] {
			seen[r.Path] = true
			out = append(out, r.Path)
		}
	}
	sort.Strings(out)
	return out
}

// Handler is the public handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.public }

// AdminHandler is the admin handler, for tests and embedding.
func (s *Server) AdminHandler() http.Handler { return s.admin }

// Serve serves on the two listeners until ctx is done, then shuts down
// gracefully: it stops accepting, reports not ready, and waits for the
// steps in flight to finish (up to DrainTimeout).
func (s *Server) Serve(ctx context.Context, public, admin net.Listener) error {
	servers := []*http.Server{s.httpServer(s.public), s.httpServer(s.admin)}
	errc := make(chan error, 2)
	go func() { errc <- servers[0].Serve(public) }()
	go func() { errc <- servers[1].Serve(admin) }()
	s.ready.Store(true)
	s.log.Info("ready to serve", zap.String("listen", public.Addr().String()), zap.String("admin_listen", admin.Addr().String()))
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.ready.Store(false)
	drain, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	for _, hs := range servers {
		if e := hs.Shutdown(drain); e != nil && err == nil {
			err = e
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.log.Info("stopped")
	return err
}

// httpServer bounds how long a client may take, so slow clients cannot
// hold connections.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.opts.HeaderTimeout,
		ReadTimeout:       s.opts.BodyTimeout,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          zap.NewStdLog(s.log.Named("http")),
	}
}
