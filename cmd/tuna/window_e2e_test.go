package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// browser is an HTTP client with cookies that does not follow redirects,
// as the payment window's user agent.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (b *browser) do(method, u string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page), resp.Header
}

func token(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in %s", page)
	}
	return m[1]
}

// The hosted window over the real engine: the merchant registers with a
// RETURN_URL, the user fills the form, gets the OTP, enters a wrong one and
// then the right one, lands back on the shop, and the shop bills.
func TestE2E_PaymentWindow(t *testing.T) {
	l := startLive(t)
	const phone = "01077778888"
	data := expect(t, l.step("payment/cp_auth", "CP_ID", "demo", "CP_PWD", "demo1234", "P_ID", "tea", "P_NAME", "Green <tea>",
		"P_PRICE", "3000", "RETURN_URL", "https://shop.example/return?order=7"), "SUCCESS", "OK")
	tid := data["TID"].(string)
	pay := l.base + "/pay/" + tid
	b := newBrowser(t)
	code, page, _ := b.do("GET", pay, nil)
	if code != 200 || !strings.Contains(page, "3,000") || !strings.Contains(page, "Green &lt;tea&gt;") || !strings.Contains(page, "Demo Shop") {
		t.Fatalf("window %d: %s", code, page)
	}
	if code, _, _ := newBrowser(t).do("POST", pay+"/user", url.Values{"csrf": {token(t, page)}, "name": {"홍길동"}}); code != 403 {
		t.Fatalf("a form without the window's cookie: %d", code)
	}
	code, page, _ = b.do("POST", pay+"/user", url.Values{"csrf": {token(t, page)}, "name": {"홍길동"}, "phone_number": {phone},
		"carrier": {"SKT"}, "birth": {"19900101"}, "gender": {"F"}})
	if code != 200 || !strings.Contains(page, "010****8888") || strings.Contains(page, phone) {
		t.Fatalf("OTP screen %d: %s", code, page)
	}
	otp := l.otp(phone)
	wrong := "000000"
	if otp == wrong {
		wrong = "000001"
	}
	_, page, _ = b.do("POST", pay+"/otp", url.Values{"csrf": {token(t, page)}, "OTP": {wrong}})
	if !strings.Contains(page, "Attempts left: 4") || strings.Contains(page, otp) {
		t.Fatalf("after a wrong OTP: %s", page)
	}
	code, page, header := b.do("POST", pay+"/otp", url.Values{"csrf": {token(t, page)}, "OTP": {otp}})
	back, _ := url.Parse(header.Get("Location"))
	if code != 303 || back.Host != "shop.example" || back.Query().Get("TID") != tid || back.Query().Get("RESULT") != "SUCCESS" ||
		back.Query().Get("order") != "7" {
		t.Fatalf("redirect %d %q: %s", code, header.Get("Location"), page)
	}
	data = expect(t, l.bill(tid, "3000"), "SUCCESS", "OK")
	if data["STATUS"] != "PAID" {
		t.Fatalf("bill %v", data)
	}
	l.secretsStayOut(otp, phone, "demo1234", "19900101")
}
