// Package shop is TUNA's demo shop: the reference merchant integration of
// carrier-billed mobile payment (휴대폰 결제), small enough to copy. It talks
// to TUNA only over HTTP, as any merchant server does:
//
//  1. POST /orders records the order, registers it with payment/cp_auth
//     (ORDER_ID, and RETURN_URL = PublicURL + "/return") and sends the
//     browser to PAY_URL, TUNA's hosted payment window.
//  2. The window checks the user and the OTP, then sends the browser back
//     to GET /return with TID and RESULT. The shop trusts only the TID from
//     that query, to find its own order; on RESULT=SUCCESS it confirms with
//     payment/bill for the order's own price, from its server.
//  3. BILL_UNKNOWN is never a failure: the order is pending, and its page
//     asks GET /v1/payments/{tid} until TUNA has resolved it.
//  4. POST /orders/{id}/cancel cancels with cancel/cancel; POST /webhooks
//     hears every later change of status, signed as Standard Webhooks.
//
// Orders live in memory, and the shop has no accounts or CSRF protection:
// a real shop keeps orders in its database and lets only their owner act.
package shop
