package payment

// Codes of the payment application's business answers (HTTP 200 with
// result FAIL). docs/errors.md lists each one; a test keeps them equal.
const (
	CodeCPAuthFailed      = "CP_AUTH_FAILED"
	CodeOrderIDDuplicate  = "ORDER_ID_DUPLICATE"
	CodePaymentNotFound   = "PAYMENT_NOT_FOUND"
	CodePaymentExpired    = "PAYMENT_EXPIRED"
	CodeRMBlocked         = "RM_BLOCKED"
	CodeLimitExceeded     = "LIMIT_EXCEEDED"
	CodeIdentityMismatch  = "CARRIER_IDENTITY_MISMATCH"
	CodeUserNotChecked    = "USER_NOT_CHECKED"
	CodeSMSNotDelivered   = "SMS_NOT_DELIVERED"
	CodeOTPSendLimit      = "OTP_SEND_LIMIT"
	CodeOTPNotSent        = "OTP_NOT_SENT"
	CodeOTPMismatch       = "OTP_MISMATCH"
	CodeOTPExpired        = "OTP_EXPIRED"
	CodeOTPLocked         = "OTP_LOCKED"
	CodeOTPUsed           = "OTP_ALREADY_USED"
	CodeNotVerified       = "NOT_VERIFIED"
	CodeAmountMismatch    = "AMOUNT_MISMATCH"
	CodeBillDeclined      = "BILL_DECLINED"
	CodeBillUnknown       = "BILL_UNKNOWN"
	CodeBillNotCharged    = "BILL_NOT_CHARGED"
	CodeBillNetCancelled  = "BILL_NET_CANCELLED"
	CodePaymentFailed     = "PAYMENT_FAILED"
	CodeOriginalNotFound  = "ORIGINAL_NOT_FOUND"
	CodeNotPaid           = "NOT_PAID"
	CodePaymentUnknown    = "PAYMENT_UNKNOWN"
	CodeAlreadyCancelled  = "ALREADY_CANCELLED"
	CodeCancelExceeds     = "CANCEL_AMOUNT_EXCEEDS"
	CodeCancelRefused     = "CANCEL_REFUSED"
	CodeCancelUnknown     = "CANCEL_UNKNOWN"
	CodeCancelNotApplied  = "CANCEL_NOT_APPLIED"
	CodeIdempotencyReused = "IDEMPOTENCY_KEY_REUSED"
	CodeInvalidAmount     = "INVALID_AMOUNT"
)

// messages are the default messages of the codes, for setFail.
var messages = map[string]string{
	CodeCPAuthFailed:      "merchant id or password is wrong",
	CodeOrderIDDuplicate:  "this ORDER_ID is already used by a live or paid transaction",
	CodePaymentNotFound:   "no such payment for this merchant",
	CodePaymentExpired:    "the payment expired before it was completed",
	CodeRMBlocked:         "the risk manager does not allow this user",
	CodeLimitExceeded:     "the monthly limit of this phone number is not enough",
	CodeIdentityMismatch:  "the carrier does not know this name, birth date and gender for this phone number",
	CodeUserNotChecked:    "the user must pass the risk manager and the carrier checks first",
	CodeSMSNotDelivered:   "the OTP SMS could not be delivered",
	CodeOTPSendLimit:      "no more OTPs may be sent for this transaction",
	CodeOTPNotSent:        "no OTP was sent for this transaction",
	CodeOTPMismatch:       "wrong OTP",
	CodeOTPExpired:        "the OTP expired; ask for a new one",
	CodeOTPLocked:         "too many wrong OTPs; the transaction failed",
	CodeOTPUsed:           "this OTP was already used",
	CodeNotVerified:       "the user has not verified the OTP",
	CodeAmountMismatch:    "AMOUNT differs from the registered price",
	CodeBillDeclined:      "the carrier declined the charge",
	CodeBillUnknown:       "the carrier's answer is not known yet; it is being resolved, ask again later",
	CodeBillNotCharged:    "the charge did not happen",
	CodeBillNetCancelled:  "the charge was cancelled because its outcome could not be confirmed in time",
	CodePaymentFailed:     "the payment failed earlier",
	CodeOriginalNotFound:  "no such payment (O_TID) for this merchant",
	CodeNotPaid:           "the payment was not paid",
	CodePaymentUnknown:    "the payment's outcome is still being resolved; retry later",
	CodeAlreadyCancelled:  "nothing is left to cancel",
	CodeCancelExceeds:     "AMOUNT is more than what is left to cancel",
	CodeCancelRefused:     "the carrier refused the cancel or refund",
	CodeCancelUnknown:     "the carrier's answer is not known yet; it is being resolved, ask again later",
	CodeCancelNotApplied:  "the cancel did not happen",
	CodeIdempotencyReused: "this IDEMPOTENCY_KEY was used for a different cancel",
	CodeInvalidAmount:     "AMOUNT must be a whole number of KRW of at least 1",
}

// Codes lists every business code, for the catalogue test.
func Codes() []string {
	out := make([]string, 0, len(messages))
	for c := range messages {
		out = append(out, c)
	}
	return out
}
