package main

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/server"
)

// The merchant-facing protocols, documented in docs/openapi.yaml. The
// example protocol is a tutorial for script authors, not an API.
var merchantProtocols = []string{"payment", "cancel"}

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("docs/openapi.yaml does not validate: %v", err)
	}
	return doc
}

// Every step of the merchant-facing protocols is documented with exactly
// its declared parameters (and TID where the engine requires it), and the
// document has no step the server does not serve.
func TestOpenAPI_MatchesTheProtocols(t *testing.T) {
	doc := loadOpenAPI(t)
	snap, err := engine.Build("../../scripts", "../../protocols")
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]*engine.Step{}
	for _, name := range merchantProtocols {
		for _, st := range snap.Protocols[name].Steps {
			served["/tx/"+name+"/"+st.Name] = st
		}
	}
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/tx/") {
			continue
		}
		st := served[path]
		if st == nil || item.Post == nil {
			t.Errorf("docs/openapi.yaml has POST %s, which the server does not serve", path)
			continue
		}
		delete(served, path)
		checkParams(t, path, item.Post, st)
	}
	for path := range served {
		t.Errorf("the server serves POST %s, which docs/openapi.yaml does not describe", path)
	}
}

func checkParams(t *testing.T, path string, op *openapi3.Operation, st *engine.Step) {
	t.Helper()
	for _, ct := range []string{"application/x-www-form-urlencoded", "application/json"} {
		media := op.RequestBody.Value.Content.Get(ct)
		if media == nil {
			t.Errorf("%s: no %s body", path, ct)
			continue
		}
		schema := media.Schema.Value
		want, required := map[string]bool{}, []string{}
		if !st.Start {
			want["TID"] = true
			required = append(required, "TID")
		}
		for _, p := range st.Params {
			want[p.Name] = true
			if p.Required {
				required = append(required, p.Name)
			}
		}
		got := map[string]bool{}
		for name := range schema.Properties {
			got[name] = true
		}
		if keys(got) != keys(want) {
			t.Errorf("%s %s: documents %s, the protocol declares %s", path, ct, keys(got), keys(want))
		}
		sort.Strings(required)
		docRequired := append([]string{}, schema.Required...)
		sort.Strings(docRequired)
		if strings.Join(docRequired, ",") != strings.Join(required, ",") {
			t.Errorf("%s: documents %v as required, the protocol %v", path, docRequired, required)
		}
	}
}

func keys(m map[string]bool) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Every documented route outside /tx answers on a live sandbox server (not
// the router's NOT_FOUND), and every route the server mounts is documented
// or is operational (health, metrics).
func TestOpenAPI_MatchesTheRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	l := startLive(t)
	tid := l.register("01012345678", "1000", "order-oa")
	expect(t, l.userAuth(tid, "01012345678"), "SUCCESS", "OK")
	samples := map[string]string{"{tid}": tid, "{phone_number}": "01012345678"}
	for path, item := range doc.Paths.Map() {
		if strings.HasPrefix(path, "/tx/") {
			continue
		}
		if item.Get == nil {
			t.Errorf("%s: only GET routes are expected outside /tx", path)
			continue
		}
		url := path
		for k, v := range samples {
			url = strings.ReplaceAll(url, k, v)
		}
		if path == "/v1/payments" {
			url += "?order_id=order-oa"
		}
		if code := l.status(url); code == http.StatusNotFound {
			t.Errorf("GET %s is documented but not served", path)
		}
	}
	documented := func(route string) bool {
		for path := range doc.Paths.Map() {
			if strings.HasPrefix(path, strings.TrimSuffix(strings.ReplaceAll(route, ":protocol/:step", ""), "*")) {
				return true
			}
		}
		return false
	}
	mounts := publicMounts(true, http.NotFoundHandler())
	mounts["/pay/*"] = http.NotFoundHandler()
	routes := server.New(server.Options{Mounts: mounts}).Routes()
	if len(routes) < 5 {
		t.Fatalf("routes %v: is the listing broken?", routes)
	}
	for _, route := range routes {
		switch route {
		case "/healthz", "/readyz", "/metrics":
			continue
		}
		if !documented(route) {
			t.Errorf("the server mounts %s, which docs/openapi.yaml does not describe", route)
		}
	}
}

// status GETs path with the demo merchant's credentials and returns the
// status, following no redirect.
func (l *live) status(path string) int {
	l.t.Helper()
	req, _ := http.NewRequest("GET", l.base+path, nil)
	req.SetBasicAuth("demo", "demo1234")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
