package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/loadgen"
	"github.com/tunapay/tuna/server"
	"github.com/tunapay/tuna/session"
)

func envLookup(k string) string { return os.Getenv(k) }

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, envLookup)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	store, err := openSessions(cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	return serveWith(ctx, cfg, log, store)
}

func serveWith(ctx context.Context, cfg config, log *zap.Logger, store session.Store) error {
	a, err := newApp(ctx, cfg, log, store)
	if err != nil {
		return err
	}
	defer a.close()
	pub, adm, err := listen(cfg)
	if err != nil {
		return err
	}
	if cfg.Watch {
		go func() {
			if err := a.eng.Watch(ctx, cfg.Debounce); err != nil {
				log.Error("hot reload is off", zap.Error(err))
			}
		}()
	}
	go sweep(ctx, store, cfg, log)
	go reloadOnHangup(ctx, a.eng)
	go recoverLoop(ctx, a.svc, cfg.RecoverEvery, log)
	go payment.RunWebhooks(ctx, a.svc, time.Second, log)
	return a.srv.Serve(ctx, pub, adm)
}

// app is what `tuna serve` serves, built but not yet listening or running
// its background loops: the in-process benchmarks drive its handler.
type app struct {
	srv   *server.Server
	eng   *engine.Engine
	svc   *payment.Service
	close func()
}

func newApp(ctx context.Context, cfg config, log *zap.Logger, store session.Store) (a *app, err error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	shared := components.NewShared()
	defer func() {
		if err != nil {
			shared.Close()
		}
	}()
	svc, err := openPayment(ctx, cfg, log, shared)
	if err != nil {
		return nil, err
	}
	if _, err := svc.Recover(ctx); err != nil {
		return nil, fmt.Errorf("payment recovery at start-up: %w", err)
	}
	comps, closeComps, err := buildComponents(cfg, log, shared)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			closeComps()
		}
	}()
	eng, err := engine.New(engine.Options{
		Scripts: cfg.Scripts, Protocols: cfg.Protocols, Store: store, Components: comps,
		Log: log, PoolMin: cfg.PoolMin, PoolMax: cfg.PoolMax, Registerer: reg,
	})
	if err != nil {
		return nil, fmt.Errorf("loading scripts and protocols:\n%w", err)
	}
	token, err := adminToken(cfg, log)
	if err != nil {
		return nil, err
	}
	key, err := serverKey(keyPath(cfg))
	if err != nil {
		return nil, err
	}
	pay, err := payWindow(eng, svc, key, log)
	if err != nil {
		return nil, err
	}
	mounts := publicMounts(cfg.Mode == "sandbox", svc.Handler(cfg.Mode == "sandbox"))
	mounts["/pay/*"] = pay
	if cfg.BenchEndpoints {
		mounts[loadgen.FloorPath] = loadgen.FloorHandler()
		mounts[loadgen.BaselinePrefix+"/*"] = loadgen.BaselineHandler(svc)
		mounts[loadgen.SessionBaselinePrefix+"/*"] = loadgen.SessionBaselineHandler(svc, store)
	}
	admin := svc.AdminHandler()
	adminMounts := map[string]http.Handler{"/admin/webhooks": admin, "/admin/webhooks/*": admin}
	if cfg.Pprof {
		adminMounts["/admin/debug/pprof/*"] = pprofHandler()
	}
	srv := server.New(server.Options{Engine: eng, Log: log, Gatherer: reg, AdminToken: token, Mounts: mounts,
		AdminMounts: adminMounts})
	return &app{srv: srv, eng: eng, svc: svc, close: func() { closeComps(); shared.Close() }}, nil
}

func listen(cfg config) (net.Listener, net.Listener, error) {
	pub, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	adm, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		pub.Close()
		return nil, nil, fmt.Errorf("admin listen: %w", err)
	}
	return pub, adm, nil
}

// buildComponents builds every registered component once.
func buildComponents(cfg config, log *zap.Logger, shared *components.Shared) (map[string]any, func(), error) {
	comps := map[string]any{}
	var closers []io.Closer
	closeAll := func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	for _, r := range components.Registered() {
		c, err := r.New(components.Env{
			Log: log.Named(strings.ToLower(r.Name)), Now: time.Now, DataDir: cfg.Data,
			Sandbox: cfg.Mode == "sandbox", Config: cfg.Components[r.Name], Shared: shared,
		})
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("component %s: %w", r.Name, err)
		}
		comps[r.Name] = c
		if cl, ok := c.(io.Closer); ok {
			closers = append(closers, cl)
		}
	}
	return comps, closeAll, nil
}

// adminToken returns the configured token, or generates one into
// DATA/admin.token (readable by the owner only) and says where, never what.
func adminToken(cfg config, log *zap.Logger) (string, error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, nil
	}
	path := filepath.Join(cfg.Data, "admin.token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		log.Info("admin token read from file", zap.String("file", path))
		return strings.TrimSpace(string(b)), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	token := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	log.Info("admin token generated", zap.String("file", path))
	return token, nil
}

// sweep deletes sessions that expired more than the retention ago.
func sweep(ctx context.Context, store session.Store, cfg config, log *zap.Logger) {
	t := time.NewTicker(cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n, err := store.Sweep(ctx, now.Add(-cfg.Retention))
			if err != nil {
				log.Warn("session sweep failed", zap.Error(err))
			} else if n > 0 {
				log.Info("swept expired sessions", zap.Int("sessions", n))
			}
		}
	}
}

// reloadOnHangup reloads on SIGHUP, for deploys that swap folders in a way
// the watcher cannot see (a parent symlink).
func reloadOnHangup(ctx context.Context, eng *engine.Engine) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = eng.Reload() // logged, and shown by the admin status
		}
	}
}

// publicMounts are the payment application's routes beside the protocol
// endpoints: the lookup API, and in sandbox mode the SMS inbox.
func publicMounts(sandbox bool, api http.Handler) map[string]http.Handler {
	m := map[string]http.Handler{"/v1/payments": api, "/v1/payments/*": api}
	if sandbox {
		m["/sandbox/*"] = api
	}
	return m
}
