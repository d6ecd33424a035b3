package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tunapay/tuna/loadgen"
)

// runLoadgen is `tuna loadgen`: it drives payment flows (or the floor
// endpoint) against a running server, prints a table to stdout and
// progress to stderr, and with --json writes the result for machines.
func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, jsonPath, series, err := parseLoadgenFlags(args, stderr)
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
		if series {
			res.WriteSamples(table)
		}
		if werr := writeResult(jsonPath, res, stdout); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

func parseLoadgenFlags(args []string, stderr io.Writer) (loadgen.Options, string, bool, error) {
	var o loadgen.Options
	var jsonPath string
	var series bool
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
	fs.DurationVar(&o.SampleEvery, "sample-every", 0,
		"report the measured window as a time series of intervals this long, e.g. 1s (0: none; 1s when reloading)")
	fs.BoolVar(&series, "print-samples", false, "print the time series, one interval a line, after the table")
	fs.DurationVar(&o.Reload.At, "reload-at", 0,
		"make the server reload this far into the measured window (default 10s, or half the window if shorter); needs --reload-touch or --reload-admin")
	fs.DurationVar(&o.Reload.Every, "reload-every", 0, "reload again at this interval until the window ends (0: once)")
	fs.StringVar(&o.Reload.Touch, "reload-touch", "",
		"reload by rewriting this file of the server's watched scripts or protocols (a comment is appended; the file is restored at the end)")
	fs.StringVar(&o.Reload.Admin, "reload-admin", "", "reload by POST URL/admin/reload on the server's admin listener")
	fs.StringVar(&o.Reload.Token, "reload-token", "", "the admin bearer token, for --reload-admin")
	fs.DurationVar(&o.Reload.Window, "reload-window", 2e9,
		"latency within this long after a reload, and failures within this long either side, count as the reload's")
	if err := fs.Parse(args); err != nil {
		return o, "", false, err
	}
	if fs.NArg() > 0 {
		return o, "", false, fmt.Errorf("loadgen: unexpected arguments %v", fs.Args())
	}
	if o.Warmup == 0 {
		o.Warmup = -1 // Options: 0 means the default, negative none
	}
	sampleSet := false
	fs.Visit(func(f *flag.Flag) { sampleSet = sampleSet || f.Name == "sample-every" })
	if !sampleSet && (o.Reload.Touch != "" || o.Reload.Admin != "") {
		o.SampleEvery = time.Second
	}
	o.Progress = stderr
	return o, jsonPath, series, nil
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
