package window

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// text is something the window says, in Korean and in English; pages show
// both, Korean first.
type text struct{ Ko, En string }

// Codes of the window's own pages, beside the steps' codes.
const (
	msgGeneric      = "FAIL"
	msgPageNotFound = "NOT_FOUND"
	msgBadRequest   = "BAD_REQUEST"
	msgCSRF         = "CSRF_FAILED"
	msgDetails      = "DETAILS_EXPIRED"
	msgDone         = "DONE"
)

// messages is every code the user may meet in the window, with what it
// means for them. Codes missing here show the generic message.
var messages = map[string]text{
	// Business codes of payment/user_auth and payment/otp_verify.
	"CARRIER_IDENTITY_MISMATCH": {"입력하신 이름, 생년월일 또는 성별이 통신사 가입 정보와 일치하지 않습니다. 확인 후 다시 입력해 주세요.",
		"Your name, date of birth or gender does not match your carrier's records. Please check them and try again."},
	"RM_BLOCKED": {"이 휴대폰 번호로는 휴대폰 결제를 이용할 수 없습니다. 다른 결제 수단을 이용해 주세요.",
		"Mobile payment is not available for this phone number. Please use another payment method."},
	"LIMIT_EXCEEDED": {"이번 달 휴대폰 결제 한도가 부족합니다. 다른 결제 수단을 이용하시거나 다음 달에 결제해 주세요.",
		"Your monthly mobile payment limit is not enough for this amount. Please use another payment method, or pay next month."},
	"SMS_NOT_DELIVERED": {"인증번호 문자를 보내지 못했습니다. 잠시 후 다시 시도해 주세요.",
		"We could not deliver the verification code by SMS. Please try again in a moment."},
	"OTP_SEND_LIMIT": {"인증번호 발송 횟수를 초과했습니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"Too many verification codes were sent for this payment. Please start the payment again from the shop."},
	"OTP_NOT_SENT": {"아직 인증번호를 받지 않으셨습니다. 본인 정보를 입력하고 인증번호를 받아 주세요.",
		"No verification code was sent yet. Please enter your details to receive one."},
	"USER_NOT_CHECKED": {"본인 확인이 끝나지 않았습니다. 본인 정보를 다시 입력해 주세요.",
		"Your details have not been checked yet. Please enter them again."},
	"OTP_MISMATCH": {"인증번호가 일치하지 않습니다.",
		"The verification code is wrong."},
	"OTP_EXPIRED": {"인증번호 입력 시간이 지났습니다. 인증번호를 다시 받아 주세요.",
		"The verification code has expired. Please request a new one."},
	"OTP_LOCKED": {"인증번호를 여러 번 잘못 입력하여 결제가 중단되었습니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"The verification code was entered wrongly too many times, so the payment has stopped. Please start again from the shop."},
	"OTP_ALREADY_USED": {"이미 인증이 완료되었습니다.",
		"This payment is already verified."},
	"PAYMENT_EXPIRED": {"결제 가능 시간이 지났습니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"The time for this payment has run out. Please start again from the shop."},
	"PAYMENT_FAILED": {"이미 실패한 결제입니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"This payment has already failed. Please start again from the shop."},
	"PAYMENT_NOT_FOUND": {"결제 정보를 찾을 수 없습니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"We could not find this payment. Please start again from the shop."},
	"BILL_DECLINED": {"통신사에서 결제를 승인하지 않았습니다. 다른 결제 수단을 이용해 주세요.",
		"Your carrier declined the charge. Please use another payment method."},
	"BILL_NOT_CHARGED": {"결제가 완료되지 않았습니다. 요금은 청구되지 않습니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"The payment did not go through and you will not be charged. Please start again from the shop."},
	"BILL_NET_CANCELLED": {"결제 결과를 확인하지 못해 결제가 취소되었습니다. 요금은 청구되지 않습니다.",
		"The payment could not be confirmed in time and was cancelled. You will not be charged."},

	// Engine codes.
	"TID_EXPIRED": {"결제 세션이 만료되었습니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"This payment session has expired. Please start again from the shop."},
	"TID_NOT_FOUND": {"결제 정보를 찾을 수 없습니다. 주소를 확인하시거나 가맹점에서 결제를 다시 시작해 주세요.",
		"We could not find this payment. Please check the address, or start again from the shop."},
	"TOO_MANY_ATTEMPTS": {"시도 횟수를 초과했습니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"There were too many attempts. Please start the payment again from the shop."},
	"STEP_OUT_OF_ORDER": {"이전 단계가 완료되지 않았습니다. 본인 정보를 다시 입력해 주세요.",
		"An earlier step is not complete. Please enter your details again."},
	"INVALID_PARAMS": {"입력하신 내용을 확인해 주세요.",
		"Please check what you entered."},
	"TID_BUSY": {"이전 요청을 처리하고 있습니다. 잠시 후 다시 시도해 주세요.",
		"Your previous request is still being processed. Please try again in a moment."},
	"SESSION_CLOSED": {"이미 완료된 결제입니다.",
		"This payment is already complete."},
	"WRONG_PROTOCOL": {"휴대폰 결제 건이 아닙니다. 가맹점에서 결제를 다시 시작해 주세요.",
		"This is not a mobile payment. Please start again from the shop."},
	"SERVER_BUSY": {"요청이 많아 처리하지 못했습니다. 잠시 후 다시 시도해 주세요.",
		"The service is busy. Please try again in a moment."},
	"SCRIPT_TIMEOUT": {"처리 시간이 초과되었습니다. 잠시 후 다시 시도해 주세요.",
		"The request took too long. Please try again in a moment."},

	// The window's own.
	msgGeneric: {"일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.",
		"Something went wrong. Please try again in a moment."},
	msgPageNotFound: {"페이지를 찾을 수 없습니다. 결제창 주소를 확인해 주세요.",
		"This page does not exist. Please check the address of the payment window."},
	msgBadRequest: {"요청을 처리할 수 없습니다. 결제창을 새로 고친 뒤 다시 시도해 주세요.",
		"The request could not be read. Please reload the payment window and try again."},
	msgCSRF: {"보안 확인에 실패했습니다. 결제창을 새로 고친 뒤 다시 시도해 주세요.",
		"The security check failed. Please reload the payment window and try again."},
	msgDetails: {"입력하신 정보의 유효 시간이 지났습니다. 본인 정보를 다시 입력해 주세요.",
		"Your details are no longer valid. Please enter them again."},
	msgDone: {"본인 인증이 완료되었습니다. 이 창을 닫으셔도 됩니다.",
		"You are verified. You may close this window."},
}

// fieldNames names the steps' parameters for INVALID_PARAMS.
var fieldNames = map[string]text{
	"name":         {"이름", "name"},
	"phone_number": {"휴대폰 번호", "phone number"},
	"carrier":      {"통신사", "carrier"},
	"birth":        {"생년월일", "date of birth"},
	"gender":       {"성별", "gender"},
	"OTP":          {"인증번호", "verification code"},
	"TID":          {"결제 번호", "payment number"},
}

// Message returns what the window tells the user for code, in Korean and
// in English: a generic message for a code it does not know.
func Message(code string) (ko, en string) {
	m := message(code)
	return m.Ko, m.En
}

func message(code string) text {
	if m, ok := messages[code]; ok {
		return m
	}
	return messages[msgGeneric]
}

// alertFor is the message for a failed step, with what its data adds: the
// attempts left after a wrong OTP, the fields to fix.
func alertFor(env Envelope) *text {
	m := message(env.Code)
	switch env.Code {
	case "OTP_MISMATCH":
		if n, ok := intData(env.Data, "ATTEMPTS_LEFT"); ok {
			m.Ko += fmt.Sprintf(" 남은 입력 횟수: %d회", n)
			m.En += fmt.Sprintf(" Attempts left: %d.", n)
		}
	case "INVALID_PARAMS":
		var ko, en []string
		for _, f := range badFields(env.Data) {
			if n, ok := fieldNames[f]; ok {
				ko, en = append(ko, n.Ko), append(en, n.En)
			}
		}
		if len(ko) > 0 {
			m.Ko += " 확인할 항목: " + strings.Join(ko, ", ")
			m.En += " Check: " + strings.Join(en, ", ") + "."
		}
	}
	return &m
}

// badFields lists the parameters INVALID_PARAMS names in data.missing and
// data.invalid, whether they are []string or decoded JSON.
func badFields(data map[string]any) []string {
	var out []string
	for _, k := range []string{"missing", "invalid"} {
		switch v := data[k].(type) {
		case []string:
			out = append(out, v...)
		case []any:
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// intData reads a number from a step's data, which a script or a JSON
// decoder may have made any numeric type.
func intData(data map[string]any, key string) (int64, bool) {
	switch v := data[key].(type) {
	case int:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case float64:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	return 0, false
}

func stringData(data map[string]any, key string) string {
	s, _ := data[key].(string)
	return s
}
