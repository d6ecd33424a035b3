// Package window is the hosted payment window (결제창): the pages at
// /pay/{tid} where the user of a registered payment enters their details,
// receives an OTP and proves it, before going back to the merchant's
// RETURN_URL. It drives the payment protocol's user_auth and otp_verify
// steps through a RunStep function and reads the ledger only to choose
// which page to show; it keeps no state of its own beyond a CSRF cookie.
package window
