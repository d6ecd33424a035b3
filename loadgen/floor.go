package loadgen

import (
	"io"
	"net/http"
)

// floorBody is the floor's whole answer: an envelope as small as a step's.
var floorBody = []byte(`{"result":"SUCCESS","code":"OK","message":"success","tid":"","data":{}}`)

// FloorHandler is an endpoint that does nothing: it reads the request and
// answers a constant envelope. Mounted on the server beside the protocol
// endpoints (at FloorPath), it costs what the server, its middleware and
// HTTP cost, and nothing else: the floor under any step.
func FloorHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeEnvelope(w, http.StatusMethodNotAllowed, failEnvelope("METHOD_NOT_ALLOWED", "method not allowed", ""))
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(floorBody)
	})
}
