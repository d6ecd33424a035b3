package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/carrier/sim"
)

func TestMode_LiveNeedsACarrier(t *testing.T) {
	cfg := defaultConfig()
	cfg.Mode, cfg.Data = "live", t.TempDir()
	_, err := openPayment(context.Background(), cfg, zap.NewNop(), components.NewShared())
	if err == nil || !strings.Contains(err.Error(), "--carrier") {
		t.Fatalf("err = %v", err)
	}
	cfg.Mode = "staging"
	if _, err := openPayment(context.Background(), cfg, zap.NewNop(), components.NewShared()); err == nil {
		t.Fatal("an unknown mode was accepted")
	}
}

// Live mode: no demo merchant, no sandbox endpoints; the carrier is the
// one at --carrier.
func TestMode_LiveHasNoSandbox(t *testing.T) {
	carrier, _ := sim.New(nil)
	defer carrier.Close()
	ts := httptest.NewServer(carrier.Handler())
	defer ts.Close()
	l := startLiveWith(t, func(c *config) { c.Mode, c.Carrier = "live", ts.URL })
	expect(t, l.step("payment/cp_auth", "CP_ID", "demo", "CP_PWD", "demo1234", "P_ID", "p", "P_NAME", "n", "P_PRICE", "100"),
		"FAIL", "CP_AUTH_FAILED")
	if code, _ := l.get("/sandbox/sms/01012345678", "", ""); code != 404 {
		t.Fatalf("sandbox SMS in live mode: %d", code)
	}
	if len(l.logs.FilterMessage("payment application").FilterField(zap.String("mode", "live")).All()) != 1 {
		t.Fatal("the start-up log does not say the mode")
	}
}

func TestMerchant_AddAndList(t *testing.T) {
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := merchant([]string{"add", "--data", data, "--name", "My Shop", "--id", "myshop"}, &out, &errb); code != 0 {
		t.Fatalf("add: %d %s", code, errb.String())
	}
	m := regexp.MustCompile(`CP_ID=(\S+)\nCP_PWD=(\S+)`).FindStringSubmatch(out.String())
	if m == nil || m[1] != "myshop" || len(m[2]) < 22 {
		t.Fatalf("add printed %q", out.String())
	}
	svc, closeAll, err := merchantService(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.Authenticate(context.Background(), "myshop", m[2]); !ok {
		t.Fatal("the printed password does not authenticate")
	}
	closeAll()
	if code := merchant([]string{"add", "--data", data, "--name", "Again", "--id", "myshop"}, &out, &errb); code == 0 {
		t.Fatal("a duplicate id was added")
	}
	out.Reset()
	if code := merchant([]string{"list", "--data", data}, &out, &errb); code != 0 || !strings.Contains(out.String(), "myshop") ||
		!strings.Contains(out.String(), "My Shop") || strings.Contains(out.String(), m[2]) {
		t.Fatalf("list: %d %q", code, out.String())
	}
}
