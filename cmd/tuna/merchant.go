package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
)

// merchant runs `tuna merchant add --name NAME [--id ID]`,
// `tuna merchant list` and `tuna merchant webhook --id ID --url URL`, on the
// embedded store (with the server stopped) or the shared one.
func merchant(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list" && args[0] != "webhook") {
		fmt.Fprintln(stderr, "usage: tuna merchant add --name NAME [--id ID] [store flags] | tuna merchant list [store flags]\n"+
			"       | tuna merchant webhook --id ID --url URL [store flags]")
		return 2
	}
	fs := flag.NewFlagSet("merchant "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaultConfig()
	fs.StringVar(&cfg.Data, "data", envOr("TUNA_DATA", cfg.Data), "data folder (the embedded store: stop the server first)")
	fs.StringVar(&cfg.DB, "db", envOr("TUNA_DB", ""), "payment store: a postgres:// URL shared by the instances")
	fs.StringVar(&cfg.DBSchema, "db-schema", envOr("TUNA_DB_SCHEMA", cfg.DBSchema), "PostgreSQL schema")
	fs.StringVar(&cfg.KeyFile, "key-file", envOr("TUNA_KEY_FILE", ""), "the server key (default DATA/server.key)")
	name := fs.String("name", "", "the merchant's name (add)")
	id := fs.String("id", "", "the merchant's id, 2-20 of A-Z a-z 0-9 _ - (add: default generated; webhook: required)")
	hookURL := fs.String("url", "", "the http:// or https:// URL the merchant's webhook events are sent to; '' stops them (webhook)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if args[0] == "webhook" && !flagSet(fs, "url") {
		fmt.Fprintln(stderr, "tuna merchant webhook: --id and --url are required")
		return 2
	}
	svc, closeAll, err := merchantService(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "tuna merchant:", err)
		return 1
	}
	defer closeAll()
	switch args[0] {
	case "list":
		return listMerchants(svc, stdout, stderr)
	case "webhook":
		return setWebhook(svc, *id, *hookURL, stdout, stderr)
	}
	return addMerchant(svc, *id, *name, stdout, stderr)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func setWebhook(svc *payment.Service, id, hookURL string, stdout, stderr io.Writer) int {
	if id == "" {
		fmt.Fprintln(stderr, "tuna merchant webhook: --id and --url are required")
		return 2
	}
	secret, err := svc.SetWebhook(context.Background(), id, hookURL)
	if err != nil {
		fmt.Fprintln(stderr, "tuna merchant webhook:", err)
		return 1
	}
	if hookURL == "" {
		fmt.Fprintf(stdout, "CP_ID=%s\nThe webhook is removed: no more events are sent.\n", id)
		return 0
	}
	fmt.Fprintf(stdout, "CP_ID=%s\nWEBHOOK_URL=%s\nWEBHOOK_SECRET=%s\n\n"+
		"The signing secret is shown this once and replaces any earlier one: keep it now.\n", id, hookURL, secret)
	return 0
}

func addMerchant(svc *payment.Service, id, name string, stdout, stderr io.Writer) int {
	if name == "" {
		fmt.Fprintln(stderr, "tuna merchant add: --name is required")
		return 2
	}
	m, secret, err := svc.AddMerchant(context.Background(), id, name)
	if err != nil {
		fmt.Fprintln(stderr, "tuna merchant add:", err)
		return 1
	}
	fmt.Fprintf(stdout, "CP_ID=%s\nCP_PWD=%s\n\nThe password is shown this once and stored only as a keyed hash: keep it now.\n", m.ID, secret)
	return 0
}

func listMerchants(svc *payment.Service, stdout, stderr io.Writer) int {
	ms, err := svc.Store().Merchants(context.Background())
	if err != nil {
		fmt.Fprintln(stderr, "tuna merchant list:", err)
		return 1
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CP_ID\tNAME\tCREATED\tWEBHOOK")
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", m.ID, m.Name, m.CreatedAt.In(payment.Seoul).Format("2006-01-02 15:04"), m.WebhookURL)
	}
	return errCode(w.Flush())
}

func errCode(err error) int {
	if err != nil {
		return 1
	}
	return 0
}

// merchantService opens the payment store and key the server uses. The
// carrier is not used by merchant commands: an in-memory simulator stands in.
func merchantService(cfg config) (*payment.Service, func(), error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, nil, err
	}
	store, err := openPaymentStore(context.Background(), cfg)
	if err != nil {
		if cfg.DB == "" {
			err = fmt.Errorf("%w (stop the server first: it holds the file)", err)
		}
		return nil, nil, err
	}
	key, err := serverKey(keyPath(cfg))
	carrier, cerr := sim.New(nil)
	if err = errors.Join(err, cerr); err != nil {
		store.Close()
		return nil, nil, err
	}
	svc, err := payment.New(payment.Options{Store: store, Carrier: carrier, Key: key, Log: zap.NewNop()})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return svc, func() { store.Close(); carrier.Close() }, nil
}

func envOr(key, def string) string {
	if v := envLookup(key); v != "" {
		return v
	}
	return def
}
