package shop_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tunapay/tuna/examples/demoshop/shop"
)

// The browser test walks the demo shop in a real Chromium: the shop's
// product page, TUNA's hosted payment window (a real `tuna serve` in
// sandbox mode, built from this repository), and back to the shop, which
// bills over HTTP. Screenshots of the last pages go to TUNA_ARTIFACTS, or
// to test-artifacts/screenshots at the repository's root.

const chromeHelp = "no chromium: apt-get install -y chromium (or set CHROME_PATH)"

func TestBrowser_Checkout(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode: it builds tuna and drives Chromium")
	}
	chrome := chromePath(t)
	root := repoRoot(t)
	tuna := startTUNA(t, root)
	shopURL := startShop(t, tuna)
	b := &browserRig{tuna: tuna, shop: shopURL, shots: screenshotDir(t, root), ctx: newChrome(t, chrome)}

	t.Run("paid", func(t *testing.T) {
		ctx := b.tab(t, "browser-paid")
		b.buyAndVerify(t, ctx, "tea-01", "01024680001", false)
		b.wantOrder(t, ctx, "paid", "")
		b.wantAtTUNA(t, ctx, "PAID", 5000)
		b.screenshot(t, ctx, "browser-paid")

		b.do(t, ctx, chromedp.Click(chromedp.CSS(`#cancel button`)),
			chromedp.WaitVisible(chromedp.CSS(`#status[data-status="cancelled"]`)))
		b.wantAtTUNA(t, ctx, "CANCELLED", 5000)
		b.screenshot(t, ctx, "browser-cancelled")
	})
	t.Run("wrong-otp", func(t *testing.T) {
		ctx := b.tab(t, "browser-wrong-otp")
		b.buyAndVerify(t, ctx, "coffee-01", "01024680002", true)
		b.wantOrder(t, ctx, "paid", "")
		b.wantAtTUNA(t, ctx, "PAID", 4500)
		b.screenshot(t, ctx, "browser-wrong-otp")
	})
	t.Run("declined", func(t *testing.T) {
		ctx := b.tab(t, "browser-declined")
		b.buyAndVerify(t, ctx, "mug-01", "01099990004", false) // the sandbox's declined charge
		b.wantOrder(t, ctx, "failed", "BILL_DECLINED")
		b.wantAtTUNA(t, ctx, "FAILED", 12000)
		b.screenshot(t, ctx, "browser-declined")
	})
}

// browserRig is one Chromium over one TUNA and one shop.
type browserRig struct {
	tuna  string // TUNA's base URL
	shop  string // the shop's
	shots string // where screenshots go
	ctx   context.Context
}

// tab opens a tab in a fresh browser context (no cookies shared with the
// other scenarios). If the scenario fails, the page it stopped on is saved
// as name-failed.png.
func (b *browserRig) tab(t *testing.T, name string) context.Context {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() {
		if t.Failed() {
			b.save(t, ctx, name+"-failed")
		}
		cancelTimeout()
		cancel()
	})
	return ctx
}

func (b *browserRig) do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// buyAndVerify buys product on the shop's page, fills the payment window
// for phone, and enters the OTP from the sandbox SMS inbox — a wrong one
// first if wrongFirst — and waits for the shop's order page.
func (b *browserRig) buyAndVerify(t *testing.T, ctx context.Context, product, phone string, wrongFirst bool) {
	t.Helper()
	b.do(t, ctx,
		chromedp.Navigate(b.shop),
		chromedp.Click(chromedp.CSS(`form[data-product="`+product+`"] button`)),
		chromedp.WaitVisible(chromedp.ID("phone_number")),
	)
	if loc := b.location(t, ctx); !strings.HasPrefix(loc, b.tuna+"/pay/") {
		t.Fatalf("Buy led to %s, not TUNA's payment window", loc)
	}
	b.do(t, ctx,
		chromedp.SendKeys(chromedp.ID("name"), "홍길동"),
		chromedp.SendKeys(chromedp.ID("phone_number"), phone),
		chromedp.SetValue(chromedp.ID("carrier"), "SKT"),
		chromedp.SendKeys(chromedp.ID("birth"), "19900101"),
		chromedp.Click(chromedp.CSS(`input[name="gender"][value="F"]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/user"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("otp")),
	)
	otp := b.otp(t, phone)
	if wrongFirst {
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, otp)+1)%1_000_000)
		b.do(t, ctx,
			chromedp.SendKeys(chromedp.ID("otp"), wrong),
			chromedp.Click(chromedp.CSS(`form[action$="/otp"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`.alert`)),
		)
		alert, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.alert`)))
		if err != nil || !strings.Contains(alert, "Attempts left: 4") {
			t.Fatalf("after a wrong OTP the window says %q (%v), want \"Attempts left: 4\"", alert, err)
		}
	}
	b.do(t, ctx,
		chromedp.SendKeys(chromedp.ID("otp"), otp),
		chromedp.Click(chromedp.CSS(`form[action$="/otp"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("status")),
	)
	if loc := b.location(t, ctx); !strings.HasPrefix(loc, b.shop+"/orders/order-") {
		t.Fatalf("the window returned to %s, not the shop's order page", loc)
	}
}

func (b *browserRig) location(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// wantOrder checks the status (and failure code) the order page shows.
func (b *browserRig) wantOrder(t *testing.T, ctx context.Context, status, code string) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("status"), "data-status"))
	if err != nil || got.Value != status {
		t.Fatalf("the order page shows %q (%v), want %q", got.Value, err, status)
	}
	if code == "" {
		return
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("code")))
	if err != nil || shown != code {
		t.Fatalf("the order page shows code %q (%v), want %q", shown, err, code)
	}
}

// wantAtTUNA checks, through the lookup API, that TUNA agrees with the
// order page.
func (b *browserRig) wantAtTUNA(t *testing.T, ctx context.Context, status string, amount int64) {
	t.Helper()
	tid, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("tid")))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Status string `json:"status"`
		Amount int64  `json:"amount"`
	}
	if err := getJSON(b.tuna+"/v1/payments/"+tid, true, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != status || p.Amount != amount {
		t.Fatalf("TUNA has %s %s of %d, want %s of %d", tid, p.Status, p.Amount, status, amount)
	}
}

// otp reads the OTP TUNA's sandbox "sent" to phone.
func (b *browserRig) otp(t *testing.T, phone string) string {
	t.Helper()
	var sms struct {
		OTP string `json:"otp"`
	}
	if err := getJSON(b.tuna+"/sandbox/sms/"+phone, false, &sms); err != nil || len(sms.OTP) != 6 {
		t.Fatalf("sandbox SMS for %s: %q %v", phone, sms.OTP, err)
	}
	return sms.OTP
}

func (b *browserRig) screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := b.save(t, ctx, name); err != nil {
		t.Fatal(err)
	}
}

func (b *browserRig) save(t *testing.T, ctx context.Context, name string) error {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err == nil {
		err = os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644)
	}
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
	} else {
		t.Logf("screenshot: %s", filepath.Join(b.shots, name+".png"))
	}
	return err
}

func getJSON(u string, merchant bool, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	if merchant {
		req.SetBasicAuth("demo", "demo1234")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: HTTP %d: %s", u, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func mustAtoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The world around the browser.

// chromePath is CHROME_PATH, or Debian's /usr/bin/chromium; the test skips
// without either.
func chromePath(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROME_PATH"), "/usr/bin/chromium"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip(chromeHelp)
	return ""
}

// newChrome starts a headless Chromium on a fresh profile, for the test.
func newChrome(t *testing.T, path string) context.Context {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		// Loopback only: no name resolves but 127.0.0.1 and localhost.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"),
		chromedp.WindowSize(900, 1000),
		chromedp.UserDataDir(t.TempDir()),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancel()
		cancelAlloc()
		t.Fatalf("starting %s: %v", path, err)
	}
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// repoRoot is the repository's root, three folders up from this package.
func repoRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "tuna")); err != nil {
		t.Fatalf("%s is not the repository's root: %v", root, err)
	}
	return root
}

func screenshotDir(t *testing.T, root string) string {
	dir := os.Getenv("TUNA_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(root, "test-artifacts", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startShop(t *testing.T, tuna string) string {
	srv := httptest.NewUnstartedServer(nil)
	public := "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = shop.New(shop.Options{TUNA: tuna, CPID: "demo", CPPassword: "demo1234", PublicURL: public}).Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return public
}

// startTUNA builds tuna and runs `tuna serve` in sandbox mode on a fresh
// data folder, and returns its base URL. PAY_URL is built from
// --public-url, so the port is chosen first rather than left to the kernel;
// if another process takes it meanwhile, the start is tried again.
func startTUNA(t *testing.T, root string) string {
	bin := filepath.Join(t.TempDir(), "tuna")
	build := exec.Command("go", "build", "-o", bin, "./cmd/tuna")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tuna: %v\n%s", err, out)
	}
	for try := 1; ; try++ {
		base, err := runTUNA(t, root, bin)
		if err == nil {
			return base
		}
		if try == 3 {
			t.Fatal(err)
		}
		t.Logf("tuna serve: %v; trying again", err)
	}
}

func runTUNA(t *testing.T, root, bin string) (string, error) {
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--listen", addr, "--admin-listen", "127.0.0.1:0",
		"--public-url", "http://"+addr, "--data", t.TempDir(), "--watch=false", "--log-format", "json",
		"--scripts", filepath.Join(root, "scripts"), "--protocols", filepath.Join(root, "protocols"))
	cmd.Env = withoutTUNAVars(os.Environ())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	r := &stderrReader{ready: make(chan string, 1), done: make(chan struct{})}
	go r.read(stderr)
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("tuna serve did not stop on SIGINT")
			_ = cmd.Process.Kill()
			<-r.done
		}
		_ = cmd.Wait() // only once the pipe is read to its end
	}
	select {
	case listen, ok := <-r.ready:
		if ok {
			t.Cleanup(stop)
			return "http://" + listen, nil
		}
		_ = cmd.Wait()
		return "", fmt.Errorf("exited before it was ready: %v\n%s", cmd.ProcessState, r.head.String())
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-r.done
		_ = cmd.Wait()
		return "", fmt.Errorf("no \"ready to serve\" line in 20 s:\n%s", r.head.String())
	}
}

// stderrReader reads tuna's log: it sends the listen address of the "ready
// to serve" line, or closes ready if the log ends first, and reads on so
// that tuna never blocks on a full pipe. head is the log up to the ready
// line, to read once done is closed.
type stderrReader struct {
	ready chan string
	done  chan struct{}
	head  strings.Builder
}

func (r *stderrReader) read(stderr io.Reader) {
	defer close(r.done)
	sc := bufio.NewScanner(stderr)
	sent := false
	for sc.Scan() {
		if sent {
			continue
		}
		r.head.WriteString(sc.Text() + "\n")
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["msg"] == "ready to serve" {
			listen, _ := line["listen"].(string)
			r.ready <- listen
			sent = true
		}
	}
	if !sent {
		close(r.ready)
	}
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// withoutTUNAVars drops TUNA_* settings, which tuna serve would read.
func withoutTUNAVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TUNA_") {
			out = append(out, kv)
		}
	}
	return out
}
