package boltstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tunapay/tuna/components/payment"
	bolt "go.etcd.io/bbolt"
)

// The buckets. Values are the JSON of the payment types; the order and
// unresolved indexes are written only by PutPayment, in the same
// transaction as the payment, and the due index only by PutEvent.
var (
	bucketPayments   = []byte("payments")   // tid -> Payment
	bucketOrders     = []byte("orders")     // cp_id \x00 order_id -> tid of the latest payment
	bucketUnresolved = []byte("unresolved") // tid -> empty, exactly when Payment.Unresolved()
	bucketLimits     = []byte("limits")     // month \x00 phone -> Limit
	bucketMerchants  = []byte("merchants")  // id -> Merchant
	bucketOTPs       = []byte("otps")       // tid -> OTP
	bucketEvents     = []byte("events")     // id -> Event
	bucketDue        = []byte("events_due") // dueKey(NextAt, id) -> empty, exactly for PENDING events
)

// appendFill makes bbolt fill the pages it splits to 90 % in the OTP
// bucket: its keys are TIDs, which begin with their creation time, so new
// keys land at the right-hand end, and an OTP does not grow once written.
// bbolt's default (half full) left the bucket twice the size of what it
// holds. The payments bucket keeps the default: a payment grows with each
// update of its flow, and its page needs the room (filled to 90 % at a
// split, it ended 64 % full instead of 71 %).
func appendFill(btx *bolt.Tx) {
	btx.Bucket(bucketOTPs).FillPercent = 0.9
}

func createBuckets(btx *bolt.Tx) error {
	for _, name := range [][]byte{
		bucketPayments, bucketOrders, bucketUnresolved,
		bucketLimits, bucketMerchants, bucketOTPs, bucketEvents, bucketDue,
	} {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// pairKey joins two key parts with a NUL. The first part must not hold a
// NUL, so the split is unambiguous and keys sort by the first part, then
// the second.
func pairKey(first, second string) ([]byte, error) {
	if strings.IndexByte(first, 0) >= 0 {
		return nil, fmt.Errorf("%w: NUL in %q", ErrInvalidKey, first)
	}
	k := make([]byte, 0, len(first)+1+len(second))
	k = append(k, first...)
	k = append(k, 0)
	return append(k, second...), nil
}

func orderKey(cpID, orderID string) ([]byte, error) { return pairKey(cpID, orderID) }

// limitKey puts the month first, so a cursor walks limits by month, then
// phone.
func limitKey(phone, month string) ([]byte, error) { return pairKey(month, phone) }

// get decodes the value under key into v: payment.ErrNotFound if none.
func get(b *bolt.Bucket, key []byte, v any) error {
	data := b.Get(key)
	if data == nil {
		return payment.ErrNotFound
	}
	return json.Unmarshal(data, v)
}

func put(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// list decodes every value of the bucket named name, in key order.
func list[T any](btx *bolt.Tx, name []byte) ([]T, error) {
	out := []T{}
	err := btx.Bucket(name).ForEach(func(_, data []byte) error {
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return fmt.Errorf("decode %s: %w", name, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}
