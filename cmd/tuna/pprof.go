package main

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler serves Go's profiles under /admin/debug/pprof/ (the admin
// listener puts its token in front). net/http/pprof names a profile by the
// path after "/debug/pprof/", so the /admin prefix is stripped first.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.StripPrefix("/admin", mux)
}
