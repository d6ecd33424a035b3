package paymenttest

import (
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// mutatePayment changes p everywhere a shared reference could hide.
func mutatePayment(p *payment.Payment) {
	p.Status, p.Amount, p.Phone = payment.StatusFailed, 1, "mutated"
	p.Cancels[0].Amount, p.Cancels[0].Status = 999999, payment.CancelPending
	p.Cancels = append(p.Cancels[:1], payment.Cancel{ID: "added"})
}

func mutateRows(m *payment.Merchant, o *payment.OTP, l *payment.Limit) {
	m.Name, m.SecretHash[0] = "mutated", 'X'
	o.Used, o.Hash[0] = true, 'X'
	l.Used, l.Held = -1, -1
}

func aliasRows() (*payment.Payment, *payment.Merchant, *payment.OTP, *payment.Limit) {
	return SamplePayment("tid-alias", Epoch), SampleMerchant("CP-alias", Epoch),
		SampleOTP("tid-alias", Epoch), &payment.Limit{Phone: "01012345678", Month: "2026-03", Used: 7}
}

// readRows reads what aliasRows stored.
func readRows(tx payment.Tx) (*payment.Payment, *payment.Merchant, *payment.OTP, *payment.Limit, error) {
	p, err := tx.Payment("tid-alias")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	m, err := tx.Merchant("CP-alias")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	o, err := tx.OTP("tid-alias")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	l, err := tx.Limit("01012345678", "2026-03")
	return p, m, o, l, err
}

// checkRows reports how what tx reads differs from aliasRows.
func checkRows(t *testing.T, tx payment.Tx, when string) error {
	t.Helper()
	p, m, o, l, err := readRows(tx)
	if err != nil {
		return err
	}
	wp, wm, wo, wl := aliasRows()
	for name, d := range map[string]string{
		"payment": DiffPayment(wp, p), "merchant": DiffMerchant(wm, m), "otp": DiffOTP(wo, o),
	} {
		if d != "" {
			t.Errorf("%s %s: %s", name, when, d)
		}
	}
	if *l != *wl {
		t.Errorf("limit %s = %+v, want %+v", when, *l, *wl)
	}
	return nil
}

func testPutNotAliased(t *testing.T, s payment.Store) {
	p, m, o, l := aliasRows()
	mustUpdate(t, s, func(tx payment.Tx) error {
		if err := putAll(tx, p, m, o, l); err != nil {
			return err
		}
		mutatePayment(p)
		mutateRows(m, o, l)
		return checkRows(t, tx, "changed after Put, same Update")
	})
	mustView(t, s, func(tx payment.Tx) error { return checkRows(t, tx, "changed after Put") })
}

func testGetNotAliased(t *testing.T, s payment.Store) {
	p, m, o, l := aliasRows()
	seed(t, s, p, m, o, l)
	mustUpdate(t, s, func(tx payment.Tx) error {
		p, m, o, l, err := readRows(tx)
		if err != nil {
			return err
		}
		mutatePayment(p)
		mutateRows(m, o, l)
		return checkRows(t, tx, "read again after changing a copy")
	})
	mustView(t, s, func(tx payment.Tx) error { return checkRows(t, tx, "after changing a copy") })
}
