package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck_ReportsProblemsWithFileAndLine(t *testing.T) {
	var out, errb bytes.Buffer
	dir := "../../engine/testdata/bad/dangling"
	code := run([]string{"check", "--scripts", dir + "/scripts", "--protocols", dir + "/protocols"}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if want := "dangling/protocols/p.yaml:6: step \"b\": after names unknown step \"nope\""; !strings.Contains(errb.String(), want) {
		t.Fatalf("stderr %q lacks %q", errb.String(), want)
	}
}

func TestCheck_RepositoryProtocolsLoad(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"check", "--scripts", "../../scripts", "--protocols", "../../protocols"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "ok: ") {
		t.Fatalf("stdout %q", out.String())
	}
}

func TestRun_UnknownCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"fly"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if code := run([]string{"version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "tuna ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
}

// Defaults, then the file, then TUNA_* variables, then flags.
func TestLoadConfig_Precedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tuna.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:7000\nadmin_listen: 127.0.0.1:7001\ndata: /from/file\npool_max: 3\n"), 0o600)
	env := map[string]string{"TUNA_ADMIN_LISTEN": "127.0.0.1:7101", "TUNA_DATA": "/from/env", "TUNA_WATCH": "false"}
	cfg, err := loadConfig("serve", []string{"--config", file, "--data", "/from/flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:7000" || cfg.AdminListen != "127.0.0.1:7101" || cfg.Data != "/from/flag" ||
		cfg.PoolMax != 3 || cfg.Watch || cfg.Scripts != "./scripts" {
		t.Fatalf("config %+v", cfg)
	}
}

func TestLoadConfig_Errors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tuna.yaml")
	os.WriteFile(file, []byte("lisen: x\n"), 0o600)
	noEnv := func(string) string { return "" }
	if _, err := loadConfig("serve", []string{"--config", file}, noEnv); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := loadConfig("serve", nil, func(k string) string { return map[string]string{"TUNA_POOL_MAX": "many"}[k] }); err == nil {
		t.Error("a malformed TUNA_POOL_MAX was accepted")
	}
	if _, err := loadConfig("serve", []string{"extra"}, noEnv); err == nil {
		t.Error("a stray argument was accepted")
	}
}

// serveWith wires a whole server on the repository's example protocol: it
// logs one line naming its address when ready, serves a step, and stops.
func TestServe_Smoke(t *testing.T) {
	l := startLive(t)
	env := l.step("example/order", "ITEM", "tea", "QUANTITY", "2")
	if env["result"] != "SUCCESS" || env["data"].(map[string]any)["SUMMARY"] != "2 × tea" {
		t.Fatalf("order: %v", env)
	}
	if b, err := os.ReadFile(filepath.Join(l.data, "admin.token")); err != nil || len(strings.TrimSpace(string(b))) != 64 {
		t.Fatalf("admin token file: %q, %v", b, err)
	}
	l.stop()
}
