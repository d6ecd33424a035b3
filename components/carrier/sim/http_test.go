package sim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler_Scenarios(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	_ = s.Charge(ctx, "T1", "01012345678", 1000)
	_ = s.Charge(ctx, "T5", PhoneChargedUnknown, 1000)
	_ = s.Cancel(ctx, "T1", "C1", 100)
	_ = s.SendSMS(ctx, "01012345678", "인증번호 123456")
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	identity := `{"name":"홍길동","phone_number":"01012345678","carrier":"SKT","birth":"19900101","gender":"M"}`
	// The rows run in order on one simulator: later rows see the effects
	// of earlier ones.
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string // in the body
	}{
		{"identity", "POST", "/v1/identity", identity, 200, `{}`},
		{"identity 001", "POST", "/v1/identity", strings.Replace(identity, "01012345678", "01099990001", 1), 422, `"error":"IDENTITY_MISMATCH"`},
		{"identity bad JSON", "POST", "/v1/identity", `{"name":`, 400, `"error":"BAD_REQUEST"`},
		{"identity unknown field", "POST", "/v1/identity", `{"phone":"01012345678"}`, 400, `"error":"BAD_REQUEST"`},
		{"sms", "POST", "/v1/sms", `{"phone_number":"01011112222","text":"code 654321"}`, 200, `{}`},
		{"sms 003", "POST", "/v1/sms", `{"phone_number":"01099990003","text":"x"}`, 422, `"error":"SMS_NOT_DELIVERED"`},
		{"sms bad JSON", "POST", "/v1/sms", `[]`, 400, `BAD_REQUEST`},
		{"last sms", "GET", "/v1/sms/01012345678", "", 200, `"otp":"123456"`},
		{"last sms none", "GET", "/v1/sms/01000000000", "", 404, `"error":"NOT_FOUND"`},
		{"charge", "POST", "/v1/charges", `{"tid":"H1","phone_number":"01012345678","amount":500}`, 200, `{}`},
		{"charge 004", "POST", "/v1/charges", `{"tid":"H4","phone_number":"01099990004","amount":500}`, 422, `"error":"DECLINED"`},
		{"charge 005", "POST", "/v1/charges", `{"tid":"H5","phone_number":"01099990005","amount":500}`, 504, `"error":"OUTCOME_UNKNOWN"`},
		{"charge 006", "POST", "/v1/charges", `{"tid":"H6","phone_number":"01099990006","amount":500}`, 504, `"error":"OUTCOME_UNKNOWN"`},
		{"charge conflict", "POST", "/v1/charges", `{"tid":"T1","phone_number":"01012345678","amount":999}`, 409, `"error":"CONFLICT"`},
		{"charge no TID", "POST", "/v1/charges", `{"phone_number":"01012345678","amount":500}`, 400, `BAD_REQUEST`},
		{"charge amount as text", "POST", "/v1/charges", `{"tid":"H7","phone_number":"01012345678","amount":"500"}`, 400, `BAD_REQUEST`},
		{"inquire", "GET", "/v1/charges/T1", "", 200, `{"charged":true,"amount":1000,"cancelled":100,"refunded":0}`},
		{"inquire never seen", "GET", "/v1/charges/NOPE", "", 200, `{"charged":false,"amount":0,"cancelled":0,"refunded":0}`},
		{"inquire 005", "GET", "/v1/charges/T5", "", 503, `"error":"INQUIRY_UNAVAILABLE"`},
		{"cancel", "POST", "/v1/charges/T1/cancels", `{"cancel_id":"C2","amount":100,"type":"CANCEL"}`, 200, `{}`},
		{"refund", "POST", "/v1/charges/T1/cancels", `{"cancel_id":"R1","amount":100,"type":"REFUND"}`, 200, `{}`},
		{"cancel repeat", "POST", "/v1/charges/T1/cancels", `{"cancel_id":"C1","amount":100,"type":"CANCEL"}`, 200, `{}`},
		{"cancel too much", "POST", "/v1/charges/T1/cancels", `{"cancel_id":"C3","amount":100000,"type":"CANCEL"}`, 422, `"error":"REFUSED"`},
		{"cancel never charged", "POST", "/v1/charges/NOPE/cancels", `{"cancel_id":"C4","amount":1,"type":"REFUND"}`, 422, `"error":"REFUSED"`},
		{"cancel bad type", "POST", "/v1/charges/T1/cancels", `{"cancel_id":"C5","amount":1,"type":"VOID"}`, 400, `BAD_REQUEST`},
		{"cancel conflict", "POST", "/v1/charges/T1/cancels", `{"cancel_id":"C1","amount":1,"type":"CANCEL"}`, 409, `CONFLICT`},
		{"inquire cancel", "GET", "/v1/charges/T1/cancels/C1", "", 200, `{"done":true}`},
		{"inquire cancel unknown", "GET", "/v1/charges/T1/cancels/NOPE", "", 200, `{"done":false}`},
		{"statement", "GET", "/statement", "", 200, `"tid":"T1","phone_number":"01012345678","amount":1000,"cancelled":200,"refunded":100,"status":"PARTIALLY_CANCELLED","charged_at":"2026-03-14T10:00:00Z","cancels":[{"id":"C1","type":"CANCEL","amount":100,"at":"2026-03-14T10:00:00Z"},{"id":"C2"`},
		{"healthz", "GET", "/healthz", "", 200, `"ok"`},
		{"wrong method", "DELETE", "/v1/charges/T1", "", 405, ``},
		{"unknown path", "GET", "/v2/charges", "", 404, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := do(t, srv.URL, tt.method, tt.path, tt.body)
			if status != tt.status || !strings.Contains(body, tt.want) {
				t.Fatalf("%s %s = %d %s; want %d with %s", tt.method, tt.path, status, body, tt.status, tt.want)
			}
		})
	}
}

func do(t *testing.T, base, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestHandler_StatementIsJSONArray(t *testing.T) {
	s, _ := newSim(t, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if status, body := do(t, srv.URL, "GET", "/statement", ""); status != 200 || body != "[]" {
		t.Fatalf("empty statement = %d %s", status, body)
	}
	_ = s.Charge(context.Background(), "T1", PhoneDeclined, 10)
	_, body := do(t, srv.URL, "GET", "/statement", "")
	var st []Entry
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st) != 1 || st[0].Status != StatusDeclined {
		t.Fatalf("statement %s: %v", body, err)
	}
}

func TestHandler_Closed(t *testing.T) {
	s, _ := newSim(t, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	s.Close()
	if status, body := do(t, srv.URL, "GET", "/statement", ""); status != 503 || !strings.Contains(body, "CLOSED") {
		t.Fatalf("statement of a closed simulator = %d %s", status, body)
	}
	if status, _ := do(t, srv.URL, "POST", "/v1/charges", `{"tid":"T","phone_number":"01012345678","amount":1}`); status != 503 {
		t.Fatalf("charge on a closed simulator = %d", status)
	}
}
