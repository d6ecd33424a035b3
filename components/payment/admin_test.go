package payment_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

// adminEvent is an event as the admin list shows it.
type adminEvent struct {
	ID       string `json:"id"`
	CPID     string `json:"cp_id"`
	TID      string `json:"tid"`
	Type     string `json:"type"`
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
}

// adminWorld has three events, newest first: pending (not tried yet),
// failed (two attempts, the schedule's one wait) and delivered.
func adminWorld(t *testing.T) (w *world, h *hook, secret string, ids map[string]string) {
	w = newWorld(t, func(o *payment.Options) { o.WebhookSchedule = []time.Duration{time.Second} })
	var failing atomic.Value
	failing.Store("")
	h = newHook(t)
	h.answer = func(d delivery) int {
		if d.id() == failing.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	secret = w.webhook(cpID, h.srv.URL)
	ids = map[string]string{}
	w.paid(normal, 1000)
	w.deliver(h)
	ids["delivered"] = w.events(payment.EventFilter{})[0].ID
	w.clock.Advance(time.Minute)
	ids["failed-tid"] = w.paid(normal, 2000)
	ids["failed"] = w.events(payment.EventFilter{TID: ids["failed-tid"]})[0].ID
	failing.Store(ids["failed"])
	w.deliver(h)
	w.clock.Advance(2 * time.Second)
	w.deliver(h)
	failing.Store("")
	w.clock.Advance(time.Minute)
	w.paid(normal, 3000)
	ids["pending"] = w.events(payment.EventFilter{Status: payment.EventPending})[0].ID
	return w, h, secret, ids
}

func TestAdminHandler_Webhooks(t *testing.T) {
	w, h, secret, ids := adminWorld(t)
	srv := httptest.NewServer(w.svc.AdminHandler())
	defer srv.Close()
	tests := []struct {
		name, method, path string
		status             int
		want               []string // the ids listed, or for a resend the one answered
	}{
		{"all, newest first", "GET", "/admin/webhooks", 200, []string{"pending", "failed", "delivered"}},
		{"by status", "GET", "/admin/webhooks?status=FAILED", 200, []string{"failed"}},
		{"by status, lower case", "GET", "/admin/webhooks?status=delivered", 200, []string{"delivered"}},
		{"by TID", "GET", "/admin/webhooks?tid=" + ids["failed-tid"], 200, []string{"failed"}},
		{"by merchant", "GET", "/admin/webhooks?cp_id=" + cpID + "&limit=2", 200, []string{"pending", "failed"}},
		{"another merchant", "GET", "/admin/webhooks?cp_id=other", 200, []string{}},
		{"bad status", "GET", "/admin/webhooks?status=LOST", 400, nil},
		{"bad limit", "GET", "/admin/webhooks?limit=0", 400, nil},
		{"too long a list", "GET", "/admin/webhooks?limit=1001", 400, nil},
		{"resend failed", "POST", "/admin/webhooks/" + ids["failed"] + "/resend", 200, []string{"failed"}},
		{"resend delivered", "POST", "/admin/webhooks/" + ids["delivered"] + "/resend", 200, []string{"delivered"}},
		{"resend unknown", "POST", "/admin/webhooks/msg_unknown/resend", 404, nil},
		{"resend by GET", "GET", "/admin/webhooks/" + ids["failed"] + "/resend", 405, nil},
		{"elsewhere", "GET", "/admin/hooks", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("HTTP %d %s, want %d", resp.StatusCode, raw, tt.status)
			}
			if strings.Contains(string(raw), strings.TrimPrefix(secret, "whsec_")) || strings.Contains(string(raw), `"body"`) || strings.Contains(string(raw), "010****5678") {
				t.Fatalf("the answer shows a secret or a body: %s", raw)
			}
			if tt.want == nil {
				return
			}
			var got []adminEvent
			if tt.method == "POST" {
				var one adminEvent
				err = json.Unmarshal(raw, &one)
				got = append(got, one)
			} else {
				err = json.Unmarshal(raw, &got)
			}
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			var names []string
			for _, e := range got {
				names = append(names, nameOf(ids, e.ID))
			}
			if !slices.Equal(names, tt.want) && !(len(names) == 0 && len(tt.want) == 0) {
				t.Fatalf("listed %v, want %v: %s", names, tt.want, raw)
			}
			if tt.method == "POST" && (got[0].Status != "PENDING" || got[0].Attempts != 0) {
				t.Fatalf("after a resend: %s", raw)
			}
		})
	}
	wantStates(t, w, ids, map[string]string{"pending": "PENDING", "failed": "PENDING", "delivered": "PENDING"})
	before := len(h.deliveries())
	if d, f := w.deliver(h); d != 3 || f != 0 {
		t.Fatalf("after the resends: delivered %d, failed %d; want 3, 0", d, f)
	}
	var again []string
	for _, d := range h.deliveries()[before:] {
		again = append(again, nameOf(ids, d.id()))
	}
	slices.Sort(again)
	if !slices.Equal(again, []string{"delivered", "failed", "pending"}) {
		t.Fatalf("sent %v after the resends, with the events' own webhook-ids", again)
	}
	wantStates(t, w, ids, map[string]string{"pending": "DELIVERED", "failed": "DELIVERED", "delivered": "DELIVERED"})
}

func nameOf(ids map[string]string, id string) string {
	for name, v := range ids {
		if v == id && !strings.HasSuffix(name, "-tid") {
			return name
		}
	}
	return id
}

func wantStates(t *testing.T, w *world, ids map[string]string, want map[string]string) {
	t.Helper()
	for _, e := range w.events(payment.EventFilter{}) {
		if name := nameOf(ids, e.ID); string(e.Status) != want[name] {
			t.Errorf("%s is %s, want %s", name, e.Status, want[name])
		}
	}
}

// The events adminWorld makes are what it says, before any resend.
func TestAdminHandler_WorldStates(t *testing.T) {
	w, _, _, ids := adminWorld(t)
	wantStates(t, w, ids, map[string]string{"pending": "PENDING", "failed": "FAILED", "delivered": "DELIVERED"})
}
