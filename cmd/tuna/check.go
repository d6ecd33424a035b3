package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tunapay/tuna/engine"
)

// check loads everything the server would and prints every problem, one
// per line as file:line: message. It exits 1 on any problem.
func check(args []string, stdout, stderr io.Writer) int {
	cfg, err := loadConfig("check", args, envLookup)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "tuna check:", err)
		return 2
	}
	snap, err := engine.Build(cfg.Scripts, cfg.Protocols)
	if err != nil {
		var le engine.LoadErrors
		if errors.As(err, &le) {
			for _, e := range le {
				fmt.Fprintln(stderr, e)
			}
			fmt.Fprintf(stderr, "%d problem(s)\n", len(le))
		} else {
			fmt.Fprintln(stderr, err)
		}
		return 1
	}
	steps := 0
	for _, p := range snap.Protocols {
		steps += len(p.Steps)
	}
	fmt.Fprintf(stdout, "ok: %d protocol(s), %d step(s), snapshot %s\n", len(snap.Protocols), steps, snap.Hash)
	return 0
}
