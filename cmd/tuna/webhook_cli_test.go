package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

func TestMerchant_Webhook(t *testing.T) {
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := merchant([]string{"add", "--data", data, "--name", "My Shop", "--id", "myshop"}, &out, &errb); code != 0 {
		t.Fatalf("add: %d %s", code, errb.String())
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"webhook", "--data", data, "--id", "myshop"}, 2},
		{[]string{"webhook", "--data", data, "--url", "https://shop.example/hooks"}, 2},
		{[]string{"webhook", "--data", data, "--id", "myshop", "--url", "ftp://shop.example/hooks"}, 1},
		{[]string{"webhook", "--data", data, "--id", "nobody", "--url", "https://shop.example/hooks"}, 1},
	} {
		if code := merchant(tc.args, &out, &errb); code != tc.code {
			t.Errorf("merchant %v: %d, want %d", tc.args, code, tc.code)
		}
	}
	out.Reset()
	if code := merchant([]string{"webhook", "--data", data, "--id", "myshop", "--url", "https://shop.example/hooks"}, &out, &errb); code != 0 {
		t.Fatalf("webhook: %d %s", code, errb.String())
	}
	m := regexp.MustCompile(`WEBHOOK_URL=(\S+)\nWEBHOOK_SECRET=(whsec_[A-Za-z0-9+/]{43}=)\n`).FindStringSubmatch(out.String())
	if m == nil || m[1] != "https://shop.example/hooks" {
		t.Fatalf("webhook printed %q", out.String())
	}
	cfg := defaultConfig()
	cfg.Data = data
	svc, closeAll, err := merchantService(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := svc.Store().Merchants(context.Background())
	closeAll()
	if err != nil || len(ms) != 1 || ms[0].WebhookURL != m[1] || ms[0].WebhookSecret != m[2] {
		t.Fatalf("stored %+v, %v; want the printed URL and secret", ms, err)
	}
	out.Reset()
	if code := merchant([]string{"list", "--data", data}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "https://shop.example/hooks") || strings.Contains(out.String(), m[2]) {
		t.Fatalf("list: %d %q", code, out.String())
	}
	out.Reset()
	if code := merchant([]string{"webhook", "--data", data, "--id", "myshop", "--url", ""}, &out, &errb); code != 0 ||
		strings.Contains(out.String(), "whsec_") {
		t.Fatalf("removing the webhook: %d %q", code, out.String())
	}
}
