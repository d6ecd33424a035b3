package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
)

// merchant runs `tuna merchant add --name NAME [--id ID]` and
// `tuna merchant list`, on the embedded store (with the server stopped).
func merchant(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		fmt.Fprintln(stderr, "usage: tuna merchant add --name NAME [--id ID] [--data DIR] | tuna merchant list [--data DIR]")
		return 2
	}
	fs := flag.NewFlagSet("merchant "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", envOr("TUNA_DATA", "./data"), "data folder of the server")
	name := fs.String("name", "", "the merchant's name (add)")
	id := fs.String("id", "", "the merchant's id, 2-20 of A-Z a-z 0-9 _ - (add; default generated)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	svc, closeAll, err := merchantService(*data)
	if err != nil {
		fmt.Fprintln(stderr, "tuna merchant:", err)
		return 1
	}
	defer closeAll()
	if args[0] == "list" {
		return listMerchants(svc, stdout, stderr)
	}
	return addMerchant(svc, *id, *name, stdout, stderr)
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
	fmt.Fprintln(w, "CP_ID\tNAME\tCREATED")
	for _, m := range ms {
		fmt.Fprintf(w, "%s\t%s\t%s\n", m.ID, m.Name, m.CreatedAt.In(payment.Seoul).Format("2006-01-02 15:04"))
	}
	return errCode(w.Flush())
}

func errCode(err error) int {
	if err != nil {
		return 1
	}
	return 0
}

// merchantService opens the payment store and key of a data folder. The
// carrier is not used by merchant commands: an in-memory simulator stands in.
func merchantService(data string) (*payment.Service, func(), error) {
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, nil, err
	}
	store, err := boltstore.Open(filepath.Join(data, "payment.db"), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%w (stop the server first: it holds the file)", err)
	}
	key, err := serverKey(data)
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
