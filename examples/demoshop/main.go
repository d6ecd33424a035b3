// Command demoshop runs TUNA's demo shop, the reference merchant
// integration (package shop), against a TUNA server:
//
//	go run ./examples/demoshop --listen 127.0.0.1:8090 --tuna http://127.0.0.1:8080 \
//	    --cp-id demo --cp-pwd demo1234 [--webhook-secret whsec_…]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tunapay/tuna/examples/demoshop/shop"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demoshop:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:8090", "the shop's address")
	tuna := flag.String("tuna", "http://127.0.0.1:8080", "TUNA's base URL")
	cpID := flag.String("cp-id", "demo", "merchant id (CP_ID)")
	cpPwd := flag.String("cp-pwd", "demo1234", "merchant password (CP_PWD)")
	secret := flag.String("webhook-secret", "", "whsec_… from `tuna merchant webhook`; empty turns POST /webhooks off")
	public := flag.String("public-url", "", "the shop's URL as browsers reach it, for RETURN_URL (default http://LISTEN)")
	flag.Parse()
	if *public == "" {
		*public = "http://" + *listen
	}
	s := shop.New(shop.Options{TUNA: *tuna, CPID: *cpID, CPPassword: *cpPwd, WebhookSecret: *secret, PublicURL: *public})
	srv := &http.Server{Addr: *listen, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	slog.Info("demo shop ready", "url", *public, "tuna", *tuna, "webhooks", *secret != "")
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
