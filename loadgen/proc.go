package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports (the kernel fixes it for user space).
const clockTicks = 100

// ProcSample is one reading of a process's counters.
type ProcSample struct {
	CPU   time.Duration // user + system time so far
	RSS   int64         // resident set, bytes
	HWM   int64         // peak resident set so far (VmHWM), bytes
	Taken time.Time

	// RSSAnon is the anonymous part of RSS (heap, stacks), bytes; the rest
	// is mostly mapped files, such as an embedded database.
	RSSAnon int64

	// HeapGoal is the Go heap goal the server reports on /metrics
	// (go_memstats_next_gc_bytes), bytes, 0 if it does not: with GOGC=100,
	// twice what was live after its last collection. The resident set keeps
	// the highest the heap ever reached; this follows what stays live.
	HeapGoal int64
}

// ReadProc reads the CPU time and memory of process pid from /proc.
func ReadProc(pid int) (ProcSample, error) {
	s := ProcSample{Taken: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := bytes.Fields(stat[i+1:])
	if len(f) < 13 { // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name
		return s, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return s, fmt.Errorf("/proc/%d/stat: bad times", pid)
	}
	s.CPU = time.Duration(ut+st) * time.Second / clockTicks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.RSS, s.HWM = statusKB(status, "VmRSS:")*1024, statusKB(status, "VmHWM:")*1024
	s.RSSAnon = statusKB(status, "RssAnon:") * 1024
	return s, nil
}

// statusKB reads a "Key:   1234 kB" line of /proc/<pid>/status.
func statusKB(status []byte, key string) int64 {
	i := bytes.Index(status, []byte(key))
	if i < 0 {
		return 0
	}
	line := status[i+len(key):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := bytes.Fields(line)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return n
}

// ProcStats is what a process used over the measured window.
type ProcStats struct {
	PID        int     `json:"pid"`
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUCores is CPU seconds per second of the window: 1.0 is one core busy.
	CPUCores float64 `json:"cpu_cores"`
	// PeakRSSBytes is the largest resident set seen (sampled every second
	// in the window, and the kernel's high-water mark at its end).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// CPUPerFlowMicros is CPU time per completed flow (or request, in
	// floor mode): the cost that throughput alone hides.
	CPUPerFlowMicros float64 `json:"cpu_per_op_us"`
}

// procWatch follows one process over the window.
type procWatch struct {
	pid        int
	start, end ProcSample
	began      bool
	ended      bool
	peak       int64
	err        error
}

func (w *procWatch) begin() {
	w.start, w.err = ReadProc(w.pid)
	w.peak, w.began = w.start.RSS, w.err == nil
}

// sample notes the resident set, within the window.
func (w *procWatch) sample() {
	if !w.began || w.ended {
		return
	}
	if s, err := ReadProc(w.pid); err == nil {
		w.peak = max(w.peak, s.RSS)
	}
}

func (w *procWatch) stop() {
	if w.began && !w.ended {
		w.end, w.err = ReadProc(w.pid)
		w.ended = w.err == nil
	}
}

// finish is the use over the window, or nil if it was never read; ops is
// what CPU per operation divides by.
func (w *procWatch) finish(ops int64) *ProcStats {
	w.stop() // a run cut short ends now
	if !w.ended {
		return nil
	}
	cpu := (w.end.CPU - w.start.CPU).Seconds()
	st := &ProcStats{PID: w.pid, CPUSeconds: cpu, PeakRSSBytes: max(w.peak, w.end.RSS, w.end.HWM)}
	if secs := w.end.Taken.Sub(w.start.Taken).Seconds(); secs > 0 {
		st.CPUCores = cpu / secs
	}
	if ops > 0 {
		st.CPUPerFlowMicros = cpu * 1e6 / float64(ops)
	}
	return st
}
