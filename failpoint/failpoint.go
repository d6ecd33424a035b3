// Package failpoint kills the process at named points of the money paths,
// so that crash tests can prove nothing is lost or charged twice wherever a
// crash lands. Every point is off unless named in TUNA_FAILPOINTS (a comma
// separated list) when the process starts, and Disable turns them all off
// for good (live mode does).
package failpoint

import (
	"os"
	"strings"
	"sync/atomic"
	"syscall"
)

// The named points. A crash test enables one at a time.
const (
	BillBeforeCarrier   = "bill.before_carrier"
	BillAfterCarrier    = "bill.after_carrier_charge"
	BillAfterLedger     = "bill.after_ledger_write"
	CancelBeforeCarrier = "cancel.before_carrier"
	CancelAfterCarrier  = "cancel.after_carrier"
	CancelAfterLedger   = "cancel.after_ledger_write"
	SessionBeforeSave   = "session.before_save"
)

var enabled atomic.Pointer[map[string]bool]

func init() {
	m := map[string]bool{}
	for _, name := range strings.Split(os.Getenv("TUNA_FAILPOINTS"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			m[name] = true
		}
	}
	enabled.Store(&m)
}

// Enabled lists the points that are on.
func Enabled() []string {
	var out []string
	for name := range *enabled.Load() {
		out = append(out, name)
	}
	return out
}

// Disable turns every point off.
func Disable() { enabled.Store(&map[string]bool{}) }

// Hit kills the process with SIGKILL — no deferred call, no flush, as a
// power cut would — if the point name is on.
func Hit(name string) {
	if (*enabled.Load())[name] {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}
