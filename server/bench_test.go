package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/server"
	"github.com/tunapay/tuna/session"
)

// BenchmarkStep_HTTP: one continuing step over real HTTP on loopback, with
// keep-alive, the whole middleware chain and the JSON envelope.
func BenchmarkStep_HTTP(b *testing.B) {
	eng, err := engine.New(engine.Options{Scripts: "testdata/scripts", Protocols: "testdata/protocols",
		Store: session.NewMemory(nil), Log: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(server.Options{Engine: eng, Log: zap.NewNop()})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	client := ts.Client()
	post := func(path, body string) {
		resp, err := client.Post(ts.URL+path, form, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post("/tx/demo/begin", "NAME=kim&PHONE=01012345678")
	}
}

// BenchmarkEnvelope: the JSON envelope of a step's answer, written as the
// server writes it (echo's c.JSON) — a cp_auth-sized success — and the
// request body parsed as the server parses it.
func BenchmarkEnvelope(b *testing.B) {
	env := server.Envelope{Result: "SUCCESS", Code: "OK", Message: "success", TID: "01KTESTTESTTESTTESTTESTTES",
		Data: map[string]any{"TID": "01KTESTTESTTESTTESTTESTTES", "PAY_URL": "http://127.0.0.1:8080/pay/01KTESTTESTTESTTESTTESTTES",
			"EXPIRES_AT": "2026-03-01T12:30:00+09:00"}}
	b.Run("write", func(b *testing.B) {
		e := echo.New()
		req := httptest.NewRequest(http.MethodPost, "/tx/payment/cp_auth", nil)
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			if err := e.NewContext(req, rec).JSON(http.StatusOK, env); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse", func(b *testing.B) {
		body := "CP_ID=demo&CP_PWD=demo1234&P_ID=p-1&P_NAME=%ED%99%8D%EC%B0%A8&P_PRICE=1000&ORDER_ID=o-123&RETURN_URL=http%3A%2F%2Fshop.example%2Fdone"
		b.ReportAllocs()
		for b.Loop() {
			if _, err := server.ParseBody(form, strings.NewReader(body), server.Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
