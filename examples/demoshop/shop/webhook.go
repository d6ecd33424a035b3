package shop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The ways VerifyWebhook refuses an event.
var (
	ErrWebhookSecret    = errors.New("webhook: the secret is not whsec_ and base64")
	ErrWebhookHeaders   = errors.New("webhook: webhook-id, webhook-timestamp or webhook-signature missing or malformed")
	ErrWebhookTimestamp = errors.New("webhook: timestamp more than 5 minutes from now")
	ErrWebhookSignature = errors.New("webhook: no valid v1 signature")
)

// webhookTolerance is how far an event's timestamp may be from the clock:
// an event replayed later than this is refused.
const webhookTolerance = 5 * time.Minute

// VerifyWebhook checks a Standard Webhooks event as TUNA signs it: one of
// the space-separated "v1,<base64>" signatures of header webhook-signature
// must be the HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>",
// keyed with the base64 after the secret's "whsec_", and the timestamp (Unix
// seconds) must be within five minutes of now. body is the raw request body.
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time) error {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return ErrWebhookSecret
	}
	id, ts, sigs := header.Get("webhook-id"), header.Get("webhook-timestamp"), header.Get("webhook-signature")
	sent, err := strconv.ParseInt(ts, 10, 64)
	if id == "" || sigs == "" || err != nil {
		return ErrWebhookHeaders
	}
	if d := now.Sub(time.Unix(sent, 0)); d > webhookTolerance || d < -webhookTolerance {
		return ErrWebhookTimestamp
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	for _, s := range strings.Fields(sigs) {
		version, sig, _ := strings.Cut(s, ",")
		if version == "v1" && hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrWebhookSignature
}

// event is a webhook's body; data is the payment as the lookup API shows it.
type event struct {
	Type string  `json:"type"`
	Data payment `json:"data"`
}

// webhook is POST /webhooks: a signed event moves the order of its TID.
// Events may come twice (same webhook-id) and out of order: repeats are
// ignored, and an order's status only moves forward.
func (s *Shop) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusBadRequest)
		return
	}
	if err := VerifyWebhook(s.opts.WebhookSecret, r.Header, body, time.Now()); err != nil {
		s.opts.Log.Warn("webhook refused", "err", err)
		http.Error(w, err.Error(), webhookStatus(err))
		return
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.TID == "" {
		http.Error(w, "not a payment event", http.StatusBadRequest)
		return
	}
	if s.book.firstDelivery(r.Header.Get("webhook-id")) {
		s.apply(ev)
	}
	w.WriteHeader(http.StatusNoContent)
}

func webhookStatus(err error) int {
	switch {
	case errors.Is(err, ErrWebhookSecret):
		return http.StatusInternalServerError // the shop's configuration, not the sender
	case errors.Is(err, ErrWebhookHeaders):
		return http.StatusBadRequest
	}
	return http.StatusUnauthorized
}

// apply moves the order of ev's payment, if it is one of the shop's.
func (s *Shop) apply(ev event) {
	o, ok := s.book.byTID(ev.Data.TID)
	st, code, known := fromTUNA(ev.Data)
	if !ok || !known {
		s.opts.Log.Info("webhook ignored", "type", ev.Type, "tid", ev.Data.TID)
		return
	}
	s.book.set(o.ID, st, code)
}
