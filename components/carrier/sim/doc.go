// Package sim is the sandbox carrier: a payment.Carrier and
// payment.SMSOutbox that keeps the carrier's side of the books in a bbolt
// file (or in memory), answers the documented test numbers, and can inject
// latency and lost answers. Statement lists every charge attempt, for
// reconciliation and crash tests; Handler serves it all over HTTP.
//
// # Test numbers
//
// A normal subscriber is any phone ^010[0-9]{8}$ with a name of 1–20
// characters, a real birth date YYYYMMDD not in the future, gender M or F
// and carrier SKT, KT, LGU, SKT_MVNO, KT_MVNO or LGU_MVNO. Beside those:
//
//	01099990001  VerifyIdentity: always IDENTITY_MISMATCH
//	01099990003  SendSMS: SMS_NOT_DELIVERED
//	01099990004  Charge: DECLINED (recorded as DECLINED)
//	01099990005  Charge: applied, but answers outcome unknown; Inquire on the
//	             TID answers unknown for UnknownFor, then the truth
//	01099990006  Charge: not applied, answers outcome unknown; Inquire as 005
//	01099990008  prepaid: every Cancel and Refund is REFUSED
//
// A charge of an amount <= 0 is DECLINED. Charge is idempotent per TID and
// Cancel/Refund per cancel ID: a repeat answers as the first did (005 and
// 006 answer unknown again) and never applies twice; a repeat with other
// parameters is ErrConflict. A cancel or refund is REFUSED when the TID was
// not charged, the amount is <= 0, or it exceeds what is left of the
// charge; a refusal changes nothing and is not remembered.
//
// # HTTP API
//
// Bodies are JSON; errors are {"error": CODE, "message": text}.
//
//	POST /v1/identity                     payment.Identity
//	     200 {} | 422 IDENTITY_MISMATCH
//	POST /v1/sms                          {"phone_number","text"}
//	     200 {} | 422 SMS_NOT_DELIVERED
//	GET  /v1/sms/{phone}                  200 payment.SMS | 404 NOT_FOUND
//	POST /v1/charges                      {"tid","phone_number","amount"}
//	     200 {} | 422 DECLINED | 409 CONFLICT | 504 OUTCOME_UNKNOWN
//	GET  /v1/charges/{tid}                200 payment.ChargeState | 503 INQUIRY_UNAVAILABLE
//	POST /v1/charges/{tid}/cancels        {"cancel_id","amount","type":"CANCEL"|"REFUND"}
//	     200 {} | 422 REFUSED | 409 CONFLICT | 504 OUTCOME_UNKNOWN
//	GET  /v1/charges/{tid}/cancels/{id}   200 {"done":bool} | 503 INQUIRY_UNAVAILABLE
//	GET  /statement                       200 [Entry…], sorted by TID
//	GET  /healthz                         200 {"status":"ok"}
//
// A malformed body, an unknown field or a missing TID or cancel ID is
// 400 BAD_REQUEST; a closed simulator 503 CLOSED; a request whose client
// gave up during the latency 504 TIMEOUT; a store failure 500 INTERNAL. 504 and 5xx on a POST mean the request may have taken effect.
// Path segments are URL-escaped ({tid} may hold any character).
package sim
