package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	cfg := defaultConfig()
	cfg.Data = data
	svc, closeAll, err := merchantService(cfg)
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

func TestServe_UnreachableBackendsFailClearly(t *testing.T) {
	for name, tweak := range map[string]func(*config){
		"redis":    func(c *config) { c.Session = "redis://:secretpw@127.0.0.1:1/0" },
		"postgres": func(c *config) { c.DB = "postgres://tuna:secretpw@127.0.0.1:1/tuna?connect_timeout=2" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Data = t.TempDir()
			tweak(&cfg)
			var err error
			if cfg.Session != "" {
				_, err = openSessions(cfg, zap.NewNop())
			} else {
				_, err = openPaymentStore(context.Background(), cfg)
			}
			if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "secretpw") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestMigrate(t *testing.T) {
	url := os.Getenv("TUNA_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("set TUNA_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run")
	}
	schema := fmt.Sprintf("tuna_migrate_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		if err := dropTestSchema(url, schema); err != nil {
			t.Log(err)
		}
	})
	var out, errb bytes.Buffer
	if code := run([]string{"migrate", "--db", url, "--db-schema", schema}, &out, &errb); code != 0 || !strings.Contains(out.String(), "applied") {
		t.Fatalf("first: %d %q %q", code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"migrate", "--db", url, "--db-schema", schema}, &out, &errb); code != 0 || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("second: %d %q %q", code, out.String(), errb.String())
	}
}

func dropTestSchema(url, schema string) error {
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

// Instances starting together on a missing shared key file agree on one key.
func TestServerKey_ConcurrentStartsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "server.key")
	keys := make(chan string, 8)
	for i := 0; i < 8; i++ {
		go func() {
			k, err := serverKey(path)
			if err != nil {
				t.Error(err)
			}
			keys <- string(k)
		}()
	}
	first := <-keys
	for i := 1; i < 8; i++ {
		if k := <-keys; k != first || len(k) != 32 {
			t.Fatal("instances got different keys")
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", fi, err)
	}
}
