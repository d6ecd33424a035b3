// Package loadgen is TUNA's load harness: it drives full payment flows (or
// a do-nothing floor endpoint) against a running server over keep-alive
// HTTP, and reports throughput, latency percentiles per step, errors by
// code and the server's CPU and memory. It also owns the two yardsticks the
// engine is measured against: FloorHandler, an endpoint that does nothing
// on the same server, and BaselineHandler, the same payment flow written
// as plain Go handlers over the same payment.Service.
package loadgen
