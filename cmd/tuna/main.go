// Command tuna runs the TUNA flow engine: `tuna serve` serves protocols,
// `tuna check` loads them as the server would and reports every problem,
// `tuna version` prints the version. main only wires the pieces together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: tuna <command> [flags]

commands:
  serve     serve the protocol endpoints (tuna serve -h for flags)
  check     load every protocol and script and report every problem
  carrier-sim   run the carrier simulator (tuna carrier-sim -h)
  merchant add|list   manage merchants
  migrate   apply the PostgreSQL schema (tuna migrate --db URL)
  loadgen   drive payment flows against a server and measure (tuna loadgen -h)
  seed-sessions   fill the embedded session table with live sessions (tuna seed-sessions -h)
  version   print the version
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = serve(ctx, args[1:], stderr)
	case "carrier-sim":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = carrierSim(ctx, args[1:], stdout, stderr)
	case "loadgen":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = runLoadgen(ctx, args[1:], stdout, stderr)
	case "seed-sessions":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return seedSessions(ctx, args[1:], stdout, stderr)
	case "migrate":
		return migrate(context.Background(), args[1:], stdout, stderr)
	case "merchant":
		return merchant(args[1:], stdout, stderr)
	case "check":
		return check(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "tuna", versionString())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "tuna: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, "tuna:", err)
		}
		return 1
	}
	return 0
}

var errUsage = errors.New("usage")

func versionString() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}
