package payment

import (
	"testing"
	"time"
)

// The test vector of the Standard Webhooks reference libraries: a receiver
// using any of them accepts what sign makes.
func TestSign_StandardWebhooksVector(t *testing.T) {
	got, err := sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Fatalf("sign = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"", "whsec_", "whsec_not base64!"} {
		if _, err := sign(bad, "msg_1", 1, nil); err == nil {
			t.Errorf("sign with secret %q succeeded", bad)
		}
	}
}

func TestJitter_WithinTenPercent(t *testing.T) {
	for _, d := range DefaultWebhookSchedule {
		for range 1000 {
			if j := jitter(d); j < d*9/10 || j >= d*11/10 {
				t.Fatalf("jitter(%s) = %s, want within ±10%%", d, j)
			}
		}
	}
	if jitter(time.Nanosecond) != time.Nanosecond {
		t.Fatal("a tiny wait is not kept")
	}
}

func TestDefaultWebhookSchedule_AboutThreeDays(t *testing.T) {
	var total time.Duration
	for _, d := range DefaultWebhookSchedule {
		total += d
	}
	if len(DefaultWebhookSchedule) != 8 || total < 70*time.Hour || total > 74*time.Hour {
		t.Fatalf("%d waits, %s in all; want 8 over about three days", len(DefaultWebhookSchedule), total)
	}
}
