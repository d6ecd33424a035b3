//go:build unix

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/failpoint"
)

// A server killed right after the ledger write of a bill (before any
// delivery could start) loses no webhook: the event was written with the
// PAID status, and the restarted server's dispatcher delivers it.
func TestCrash_WebhookSurvivesACrashAfterTheLedgerWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode: it builds tuna and kills real processes")
	}
	bin := buildTuna(t)
	r := newCrashRig(t, bin)
	hook := newWebhookReceiver(t)
	r.startServe("") // makes the sandbox's demo merchant
	r.srv.stop(t)
	secret := registerWebhook(t, bin, r.data, hook.srv.URL)

	const phone = "01077000101"
	r.startServe(failpoint.BillAfterLedger)
	tid := r.flow(phone)
	r.dies(failpoint.BillAfterLedger, "payment/bill", billForm(tid))
	if e := storedEvents(t, r.data, tid); len(e) != 1 || e[0].Type != payment.WebhookPaid {
		t.Fatalf("events of %s after the crash: %+v; want the payment.paid event, written with the status", tid, e)
	}

	r.startServe("")
	d := hook.wait(t, tid, payment.WebhookPaid, 20*time.Second)
	if !checkSignature(secret, d) {
		t.Fatalf("the delivered event does not verify with the secret tuna merchant webhook printed: %v", d.header)
	}
	var body struct {
		Data payment.View `json:"data"`
	}
	if err := json.Unmarshal(d.body, &body); err != nil || body.Data.Status != payment.StatusPaid || body.Data.Amount != crashPrice {
		t.Fatalf("body %s: %v", d.body, err)
	}
	billPaid(r, tid, phone) // and the books still balance
	if e := storedEvents(t, r.data, tid); len(e) != 1 || e[0].Status != payment.EventDelivered {
		t.Fatalf("events of %s at the end: %+v; want one, DELIVERED", tid, e)
	}
	r.sim.stop(t)
}

// registerWebhook runs `tuna merchant webhook` on the data folder of a
// stopped server, and returns the secret it prints.
func registerWebhook(t *testing.T, bin, data, url string) string {
	t.Helper()
	cmd := exec.Command(bin, "merchant", "webhook", "--data", data, "--id", crashCP, "--url", url)
	cmd.Env = childEnv(nil)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tuna merchant webhook: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^WEBHOOK_SECRET=(whsec_\S+)$`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("tuna merchant webhook printed no secret:\n%s", out)
	}
	return string(m[1])
}

// storedEvents reads the events of tid from the stopped server's store.
func storedEvents(t *testing.T, data, tid string) []payment.Event {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(data, "payment.db"), &boltstore.Options{OpenTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	events, err := store.Events(context.Background(), payment.EventFilter{TID: tid})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// webhookReceiver is the merchant's endpoint: it acknowledges everything
// and keeps what came.
type webhookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []webhookDelivery
}

type webhookDelivery struct {
	header http.Header
	body   []byte
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	h := &webhookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, webhookDelivery{r.Header.Clone(), body})
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the first delivery of an event of type typ for tid.
func (h *webhookReceiver) wait(t *testing.T, tid, typ string, within time.Duration) webhookDelivery {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h.mu.Lock()
		got := h.got
		h.mu.Unlock()
		for _, d := range got {
			var body struct {
				Type string `json:"type"`
				Data struct {
					TID string `json:"tid"`
				} `json:"data"`
			}
			if json.Unmarshal(d.body, &body) == nil && body.Type == typ && body.Data.TID == tid {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s event for %s in %s; got %d requests", typ, tid, within, len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkSignature checks a delivery as docs/api.md tells merchants to.
func checkSignature(secret string, d webhookDelivery) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(d.header.Get("webhook-id") + "." + d.header.Get("webhook-timestamp") + "."))
	mac.Write(d.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(d.header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}
