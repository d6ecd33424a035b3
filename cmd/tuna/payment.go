package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/carrier/httpcarrier"
	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/failpoint"

	// The script components of the payment application.
	_ "github.com/tunapay/tuna/components/bill"
	_ "github.com/tunapay/tuna/components/carrier"
	_ "github.com/tunapay/tuna/components/cp"
	_ "github.com/tunapay/tuna/components/otp"
	_ "github.com/tunapay/tuna/components/rm"
	_ "github.com/tunapay/tuna/components/user"
)

// Sandbox test numbers the risk manager blocks.
var sandboxBlocked = map[string]bool{"01099990002": true}

// openPayment builds the payment service — its store, its carrier, its
// key — and shares it with the components.
func openPayment(ctx context.Context, cfg config, log *zap.Logger, shared *components.Shared) (*payment.Service, error) {
	sandbox, err := sandboxMode(cfg)
	if err != nil {
		return nil, err
	}
	if !sandbox {
		failpoint.Disable()
	}
	carrier, err := openCarrier(cfg, sandbox, log)
	if err != nil {
		return nil, err
	}
	shared.Put("payment.carrier", carrier) // closed at shutdown, if it holds anything
	store, err := openPaymentStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	shared.Put("payment.store", store)
	if cfg.DB != "" && cfg.Carrier == "" {
		log.Warn("the payment store is shared but the carrier simulator runs in this process: run tuna carrier-sim and pass --carrier when several instances share --db")
	}
	key, err := serverKey(keyPath(cfg))
	if err != nil {
		return nil, err
	}
	settle := cfg.Settle
	if cfg.Carrier == "" {
		settle = -1 // in this process: nothing can be in flight once a call returned
	}
	svc, err := payment.New(payment.Options{
		Store: store, Carrier: carrier, Key: key, Log: log.Named("payment"), CarrierSettle: settle,
		MonthlyLimit: cfg.MonthlyLimit, PaymentTTL: 10 * time.Minute, RecoverAfter: cfg.RecoverAfter,
		Blocked: blocked(sandbox), PayURL: func(tid string) string { return strings.TrimRight(cfg.PublicURL, "/") + "/pay/" + tid },
	})
	if err != nil {
		return nil, err
	}
	if sandbox {
		if err := svc.EnsureDemoMerchant(ctx); err != nil {
			return nil, err
		}
	}
	shared.Put(payment.SharedKey, svc)
	log.Info("payment application", zap.String("mode", cfg.Mode), zap.String("carrier", carrierName(cfg)),
		zap.Int64("monthly_limit", svc.MonthlyLimit()), zap.Strings("failpoints", failpoint.Enabled()))
	return svc, nil
}

func sandboxMode(cfg config) (bool, error) {
	switch cfg.Mode {
	case "sandbox":
		return true, nil
	case "live":
		if cfg.Carrier == "" {
			return false, errors.New("live mode needs --carrier URL")
		}
		return false, nil
	}
	return false, fmt.Errorf("mode %q: use sandbox or live", cfg.Mode)
}

func blocked(sandbox bool) func(string) bool {
	if !sandbox {
		return nil
	}
	return func(phone string) bool { return sandboxBlocked[phone] }
}

func carrierName(cfg config) string {
	if cfg.Carrier != "" {
		return cfg.Carrier
	}
	return "in-process simulator"
}

// openCarrier is the carrier at --carrier, or in sandbox mode without it,
// the simulator in this process (its books in DATA/sandbox-carrier.db).
func openCarrier(cfg config, sandbox bool, log *zap.Logger) (payment.Carrier, error) {
	if cfg.Carrier != "" {
		return httpcarrier.New(cfg.Carrier, nil)
	}
	if !sandbox {
		return nil, errors.New("live mode needs --carrier URL")
	}
	path := filepath.Join(cfg.Data, "sandbox-carrier.db")
	if cfg.noSync {
		path = ""
	}
	return sim.New(&sim.Options{Path: path, Log: log.Named("carrier")})
}

func keyPath(cfg config) string {
	if cfg.KeyFile != "" {
		return cfg.KeyFile
	}
	return filepath.Join(cfg.Data, "server.key")
}

// serverKey reads the key file, or makes it: 32 random bytes that key the
// hashes of merchant secrets and OTPs. Instances that share a database must
// share this file. Instances starting at once on a missing file agree: the
// key is written to a temporary file and linked into place, which fails if
// another got there first — then its key is read.
func serverKey(path string) ([]byte, error) {
	if key, err := readKey(path); !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".server.key-*")
	if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("server key: %w", err)
	}
	if err := errors.Join(tmp.Sync(), tmp.Close(), os.Chmod(tmp.Name(), 0o600)); err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, os.ErrExist) {
		return readKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("server key: %w", err)
	}
	return key, nil
}

func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 32 {
		return nil, fmt.Errorf("%s: the server key must be at least 32 bytes", path)
	}
	return b, nil
}

// recoverLoop resolves unknown charges and cancels now and then on a
// timer, until ctx ends.
func recoverLoop(ctx context.Context, svc *payment.Service, every time.Duration, log *zap.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := svc.Recover(ctx); err != nil && ctx.Err() == nil {
			log.Warn("payment recovery pass failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
