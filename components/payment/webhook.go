package payment

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// secretPrefix starts every webhook signing secret, as Standard Webhooks
// (https://www.standardwebhooks.com) has it.
const secretPrefix = "whsec_"

// SetWebhook registers (or replaces) the URL merchant cpID's webhook events
// are sent to, and returns a new signing secret for it: shown this once,
// and replacing the old one at once. An empty URL stops the events, and
// returns no secret. Only absolute http and https URLs are taken.
func (s *Service) SetWebhook(ctx context.Context, cpID, rawURL string) (secret string, err error) {
	if rawURL != "" {
		if err := checkWebhookURL(rawURL); err != nil {
			return "", fmt.Errorf("%w: %q", err, rawURL)
		}
		secret = newWebhookSecret()
	}
	err = s.update(ctx, func(tx Tx) error {
		m, err := tx.Merchant(cpID)
		if err != nil {
			return err
		}
		m.WebhookURL, m.WebhookSecret = rawURL, secret
		return tx.PutMerchant(m)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// checkWebhookURL accepts an absolute http or https URL with a host.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ErrWebhookURL
	}
	return nil
}

// newWebhookSecret is whsec_ and the base64 of 32 random bytes.
func newWebhookSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// sign is the webhook-signature header of an attempt: "v1," and the base64
// of the HMAC-SHA256, keyed by the secret's bytes (the base64 after
// whsec_), of "<id>.<timestamp>.<body>".
func sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(key) == 0 {
		return "", errors.New("the merchant's webhook secret is not whsec_ and base64")
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(timestamp, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}
