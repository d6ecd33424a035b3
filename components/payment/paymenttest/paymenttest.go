// Package paymenttest is the contract suite every payment.Store must pass,
// and the sample rows and comparisons that tests of the payment service
// share. A backend's test calls Run with a function that opens a fresh
// store.
package paymenttest

import (
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// Run runs the contract suite against the stores open returns.
//
// Every subtest calls t.Parallel and then open(t) once, so open is called
// from parallel subtests: it must return a fresh, empty store that shares
// no rows with the others (for a database server, its own database or
// schema) and close it in t.Cleanup. The Close subtest closes its store
// first, so closing twice must be harmless.
//
// Beyond payment.go's comments, the suite holds a store to this: a View
// sees one snapshot across rows (PostgreSQL: REPEATABLE READ, READ ONLY);
// an Update with a canceled context fails with context.Canceled; the latest
// payment of an order is the one created last, not the one written last;
// Put* fail in a View; an event's body comes back byte for byte, and its
// times to the nanosecond.
func Run(t *testing.T, open func(t *testing.T) payment.Store) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, open(t))
		})
	}
}

var suite = []struct {
	name string
	run  func(t *testing.T, s payment.Store)
}{
	{"Payment_RoundTrip", testPaymentRoundTrip},
	{"Limit_RoundTrip", testLimitRoundTrip},
	{"Merchant_RoundTrip", testMerchantRoundTrip},
	{"OTP_RoundTrip", testOTPRoundTrip},
	{"Get_NotFound", testGetNotFound},
	{"Put_EmptyKey", testPutEmptyKey},
	{"Put_NotAliased", testPutNotAliased},
	{"Get_NotAliased", testGetNotAliased},
	{"Update_SeesOwnWrites", testUpdateSeesOwnWrites},
	{"Update_Rollback", testUpdateRollback},
	{"Update_Panic", testUpdatePanic},
	{"Update_CanceledContext", testUpdateCanceledContext},
	{"View_ReadOnly", testViewReadOnly},
	{"PaymentByOrder_Latest", testPaymentByOrderLatest},
	{"PaymentByOrder_Merchants", testPaymentByOrderMerchants},
	{"PaymentByOrder_Moves", testPaymentByOrderMoves},
	{"Unresolved_Index", testUnresolvedIndex},
	{"List_Empty", testListEmpty},
	{"List_All", testListAll},
	{"Concurrent_Limit", testConcurrentLimit},
	{"Concurrent_Cancel", testConcurrentCancel},
	{"Concurrent_ViewConsistent", testConcurrentViewConsistent},
	{"Lease", testLease},
	{"Concurrent_OrderID", testConcurrentOrderID},
	{"Event_RoundTrip", testEventRoundTrip},
	{"Event_Rollback", testEventRollback},
	{"DueEvents_Order", testDueEventsOrder},
	{"DueEvents_Index", testDueEventsIndex},
	{"Events_Filter", testEventsFilter},
	{"Concurrent_EventClaim", testConcurrentEventClaim},
	{"Update_ErrorUnchanged", testUpdateErrorUnchanged},
	{"Close", testClose},
}
