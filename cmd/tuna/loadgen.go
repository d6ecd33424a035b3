package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tunapay/tuna/loadgen"
)

// runLoadgen is `tuna loadgen`: it drives payment flows (or the floor
// endpoint) against a running server, prints a table to stdout and
// progress to stderr, and with --json writes the result for machines.
func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, jsonPath, err := parseLoadgenFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	res, err := loadgen.Run(ctx, opts)
	if res != nil {
		table := stdout
		if jsonPath == "-" {
			table = stderr // stdout is the JSON's
		}
		res.WriteTable(table)
		if werr := writeResult(jsonPath, res, stdout); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func parseLoadgenFlags(args []string, stderr io.Writer) (loadgen.Options, string, error) {
	var o loadgen.Options
	var jsonPath string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.URL, "url", "http://127.0.0.1:8080", "the server's public URL")
	fs.IntVar(&o.Concurrency, "concurrency", 64, "flows (or floor requests) in flight")
	fs.DurationVar(&o.Duration, "duration", 10e9, "measured time, after the warm-up")
	fs.DurationVar(&o.Warmup, "warmup", 2e9, "time first whose results are discarded (0s: none)")
	fs.BoolVar(&o.Cancel, "cancel", false, "end each flow with a full cancel (cancel/cancel)")
	fs.BoolVar(&o.Floor, "floor", false, "hit POST "+loadgen.FloorPath+" instead of running flows")
	fs.StringVar(&o.Prefix, "prefix", "/tx", "where the protocols are served: /tx, or /baseline for the hand-written handlers")
	fs.StringVar(&o.CPID, "cp-id", "demo", "merchant id")
	fs.StringVar(&o.CPPwd, "cp-pwd", "demo1234", "merchant password")
	fs.Int64Var(&o.Price, "price", 1000, "KRW per payment (300,000 a month per phone is never reached: each flow takes a new number)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "the server's process id: its CPU and peak RSS are reported (Linux /proc)")
	fs.StringVar(&jsonPath, "json", "", "write the result as JSON to this file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return o, "", err
	}
	if fs.NArg() > 0 {
		return o, "", fmt.Errorf("loadgen: unexpected arguments %v", fs.Args())
	}
	if o.Warmup == 0 {
		o.Warmup = -1 // Options: 0 means the default, negative none
	}
	o.Progress = stderr
	return o, jsonPath, nil
}

func writeResult(path string, res *loadgen.Result, stdout io.Writer) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
