package window

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
)

// details are the user's details of a user_auth, sealed into the OTP
// screen so that a resend can run user_auth again without asking for them,
// and without the page holding them in clear: AES-256-GCM, bound to the TID
// as additional data, with an expiry inside.
type details struct {
	Form       userForm `json:"f"`
	OTPExpires string   `json:"o,omitempty"` // RFC 3339: the countdown on a re-rendered OTP screen
	Expires    int64    `json:"x"`           // Unix seconds
}

const maxSealed = 2048 // bytes of base64: far more than any sealed details

// deriveKeys derives the CSRF key and the sealing key from the server key,
// one key per purpose.
func deriveKeys(key []byte) (csrf, seal []byte, err error) {
	if csrf, err = hkdf.Key(sha256.New, key, nil, "tuna/pay/window csrf", 32); err != nil {
		return nil, nil, fmt.Errorf("window: csrf key: %w", err)
	}
	if seal, err = hkdf.Key(sha256.New, key, nil, "tuna/pay/window resend", 32); err != nil {
		return nil, nil, fmt.Errorf("window: seal key: %w", err)
	}
	return csrf, seal, nil
}

// aeadFor is the AES-256-GCM of tid's sealed details. A key per TID keeps
// random nonces far from GCM's limit of 2^32 messages under one key; the
// TID is the additional data too.
func (w *Window) aeadFor(tid string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, w.sealKey, nil, "tuna/pay/window resend "+tid, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealAD(tid string) []byte { return []byte("tuna/pay/window resend\x00" + tid) }

// sealDetails seals d for tid's window, good for w.resendTo.
func (w *Window) sealDetails(tid string, d details) (string, error) {
	aead, err := w.aeadFor(tid)
	if err != nil {
		return "", fmt.Errorf("window: sealing: %w", err)
	}
	d.Expires = w.now().Add(w.resendTo).Unix()
	plain, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("window: sealing: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, sealAD(tid))), nil
}

// openDetails opens what sealDetails sealed for tid; errDetails if it is
// malformed, tampered with, another TID's, or expired.
func (w *Window) openDetails(tid, sealed string) (details, error) {
	var d details
	if sealed == "" || len(sealed) > maxSealed {
		return d, errDetails
	}
	aead, err := w.aeadFor(tid)
	if err != nil {
		return d, fmt.Errorf("window: opening: %w", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	ns := aead.NonceSize()
	if err != nil || len(raw) < ns+aead.Overhead() {
		return d, errDetails
	}
	plain, err := aead.Open(nil, raw[:ns], raw[ns:], sealAD(tid))
	if err != nil || json.Unmarshal(plain, &d) != nil {
		return details{}, errDetails
	}
	if !w.now().Before(time.Unix(d.Expires, 0)) {
		return details{}, errDetails
	}
	return d, nil
}
