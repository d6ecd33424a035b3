package payment

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
)

var merchantIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{2,20}$`)

// Demo merchant of the sandbox.
const (
	DemoID     = "demo"
	DemoSecret = "demo1234"
)

// Authenticate returns the merchant whose id and password these are, or
// false. The password is compared as a keyed hash, in constant time; a
// fast keyed hash, since every bill and cancel checks it (the secret is
// random and long, so a slow hash adds nothing but latency).
func (s *Service) Authenticate(ctx context.Context, id, secret string) (*Merchant, bool) {
	var m *Merchant
	err := s.opts.Store.View(ctx, func(tx Tx) error {
		var err error
		m, err = tx.Merchant(id)
		return err
	})
	want := s.keyed("merchant", id, secret)
	if err != nil {
		hmac.Equal(want, want) // same work whether or not the id exists
		return nil, false
	}
	if !hmac.Equal(m.SecretHash, want) {
		return nil, false
	}
	m.SecretHash, m.WebhookSecret = nil, ""
	return m, true
}

// AddMerchant registers a merchant and returns its secret, which is shown
// this once and stored only as a keyed hash: 192 random bits.
func (s *Service) AddMerchant(ctx context.Context, id, name string) (*Merchant, string, error) {
	if id == "" {
		id = "cp_" + randomString(6)
	}
	if !merchantIDRE.MatchString(id) {
		return nil, "", fmt.Errorf("merchant id %q must be 2 to 20 letters, digits, _ or -", id)
	}
	secret := randomString(24)
	m := &Merchant{ID: id, Name: name, SecretHash: s.keyed("merchant", id, secret), CreatedAt: s.now()}
	err := s.update(ctx, func(tx Tx) error {
		if _, err := tx.Merchant(id); err == nil {
			return fmt.Errorf("merchant %q: %w", id, ErrExists)
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return tx.PutMerchant(m)
	})
	if err != nil {
		return nil, "", err
	}
	m.SecretHash = nil
	return m, secret, nil
}

// EnsureDemoMerchant registers the sandbox's demo merchant (demo/demo1234),
// keeping its webhook if it has one.
func (s *Service) EnsureDemoMerchant(ctx context.Context) error {
	m := &Merchant{ID: DemoID, Name: "Demo Shop", SecretHash: s.keyed("merchant", DemoID, DemoSecret), CreatedAt: s.now()}
	return s.update(ctx, func(tx Tx) error {
		old, err := tx.Merchant(DemoID)
		if err == nil && hmac.Equal(old.SecretHash, m.SecretHash) {
			return nil
		}
		if err == nil {
			m.WebhookURL, m.WebhookSecret = old.WebhookURL, old.WebhookSecret
		}
		return tx.PutMerchant(m)
	})
}

// randomString returns n random bytes, base64url: n*8 bits of entropy.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
