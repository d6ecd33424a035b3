package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tunapay/tuna/components/carrier/sim"
)

// carrierSimFlags are the flags of `tuna carrier-sim`.
type carrierSimFlags struct {
	listen, data string
	latency      time.Duration
	unknownFor   time.Duration
	failRate     float64
	seed         int64
}

// carrierSim runs `tuna carrier-sim`: the sandbox carrier over HTTP, its
// books in DATA/carrier.db, until ctx is done.
func carrierSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseCarrierSimFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := carrierSimLogger(stderr)
	defer func() { _ = log.Sync() }()
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return fmt.Errorf("data folder: %w", err)
	}
	s, err := sim.New(&sim.Options{
		Path: filepath.Join(f.data, "carrier.db"), Latency: f.latency, UnknownFor: f.unknownFor,
		FailRate: f.failRate, Seed: f.seed, Log: log,
	})
	if err != nil {
		return err
	}
	err = serveCarrierSim(ctx, f.listen, s, log)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

func parseCarrierSimFlags(args []string, stderr io.Writer) (carrierSimFlags, error) {
	var f carrierSimFlags
	fs := flag.NewFlagSet("carrier-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:9090", "address of the carrier API")
	fs.StringVar(&f.data, "data", "./data/carrier-sim", "folder of carrier.db, the carrier's books")
	fs.DurationVar(&f.latency, "latency", 0, "added to every carrier call")
	fs.DurationVar(&f.unknownFor, "unknown-for", sim.DefaultUnknownFor, "how long inquiry of a 01099990005/6 charge stays unknown (0: none)")
	fs.Float64Var(&f.failRate, "fail-rate", 0, "probability, 0 to 1, that a charge, cancel or refund answers outcome unknown")
	fs.Int64Var(&f.seed, "seed", 1, "seed of the random failures")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if !(f.failRate >= 0 && f.failRate <= 1) {
		return f, fmt.Errorf("--fail-rate %v: want 0 to 1", f.failRate)
	}
	if f.latency < 0 {
		return f, fmt.Errorf("--latency %s: want 0 or more", f.latency)
	}
	if f.unknownFor == 0 {
		f.unknownFor = -1 // sim reads 0 as its default
	}
	return f, nil
}

// carrierSimLogger writes JSON lines at info level.
func carrierSimLogger(w io.Writer) *zap.Logger {
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.AddSync(w), zapcore.InfoLevel)
	return zap.New(core).Named("carrier-sim")
}

// serveCarrierSim serves s on addr until ctx is done, then shuts down
// gracefully: requests in flight finish before the caller closes s.
func serveCarrierSim(ctx context.Context, addr string, s *sim.Simulator, log *zap.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("carrier simulator ready", zap.String("addr", ln.Addr().String()))
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(stop)
	<-done
	log.Info("carrier simulator stopped")
	return err
}
