//go:build unix

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/pgstore"
	"github.com/tunapay/tuna/engine"
)

// The cluster test proves DESIGN.md's "Scale" with real processes: three
// `tuna serve` instances share one session table in Redis, one payment
// store in PostgreSQL, one key file and one `tuna carrier-sim`; each step
// of a payment goes to another instance than the step before; and the
// books — the carrier's statement, the ledger, the limits — agree TID by
// TID, under concurrency and when an instance is killed in the middle.
// Fencing of stale session saves is the Redis store's own test.
//
// It needs a Redis and a PostgreSQL it may write to:
//
//	TUNA_TEST_REDIS_URL=redis://127.0.0.1:6379/0 \
//	TUNA_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	go test -race -run TestCluster ./cmd/tuna/

const (
	clusterSize    = 3
	clusterWorkers = 16
	// leaseBound is how long a TID held by a killed instance may stay
	// busy: the step's lease is its timeout (bill: 15s) plus 2s.
	leaseBound = 30 * time.Second
)

func TestCluster(t *testing.T) {
	be := testBackends(t)
	bin := buildTuna(t)
	t.Run("RoundRobin", func(t *testing.T) { testRoundRobin(t, bin, be) })
	t.Run("ConcurrentBillAndCancels", func(t *testing.T) { testConcurrentBillAndCancels(t, bin, be) })
	t.Run("KillOneInstance", func(t *testing.T) { testKillOneInstance(t, bin, be) })
}

// testRoundRobin: 200 payments by 16 concurrent clients, step k of flow i
// on instance (i+k) % 3, all paid, and the books agree.
func testRoundRobin(t *testing.T, bin string, be backends) {
	c := newCluster(t, bin, be, clusterSize)
	flows := newFlows(200, func(i int) int64 { return int64(1000 * (1 + i%5)) })
	if err := c.run(flows, clusterWorkers, phoneNumbers(1, 20), func(f *flow, _ int) error { return c.lookup(f) }); err != nil {
		t.Fatal(err)
	}
	if n := c.redisKeys(t); n < len(flows) {
		t.Errorf("%d keys under the Redis prefix, want one at least per session (%d)", n, len(flows))
	}
	b := c.settle(t)
	if len(b.payments) != len(flows) || len(b.statement) != len(flows) {
		t.Errorf("%d payments in the ledger, %d charges at the carrier; want %d each", len(b.payments), len(b.statement), len(flows))
	}
	perPhone := map[string]int64{}
	for _, f := range flows {
		perPhone[f.phone] += f.amount
		wantPaid(t, b, f)
	}
	for phone, sum := range perPhone {
		if used, held := b.limit(phone); used != sum || held != 0 {
			t.Errorf("limit of %s: used %d held %d, want %d paid", phone, used, held, sum)
		}
	}
}

// testConcurrentBillAndCancels: 30 bills of one TID through the three
// instances at once charge it once; then 12 cancels of 1000 against its
// 10000 cancel exactly 10000.
func testConcurrentBillAndCancels(t *testing.T, bin string, be backends) {
	const price, part, bills, cancels = 10_000, 1_000, 30, 12
	c := newCluster(t, bin, be, clusterSize)
	f := &flow{phone: "01072000001", amount: price}
	if err := c.walk(f); err != nil {
		t.Fatal(err)
	}
	ran, replayed := 0, 0
	for j, a := range c.concurrently(bills, func(j int) (answer, error) { return c.post(j%clusterSize, "payment/bill", billValues(f)) }) {
		switch {
		case a.err != nil:
			t.Errorf("bill %d: %v", j, a.err)
		case a.Result == "SUCCESS" && a.Code == engine.CodeOK:
			if err := wantBilled(f, a); err != nil {
				t.Errorf("bill %d: %v", j, err)
			}
			if a.replayed {
				replayed++
			} else {
				ran++
			}
		case a.status != http.StatusConflict || a.Code != engine.CodeTIDBusy:
			t.Errorf("bill %d answered HTTP %d %s %s %s; want SUCCESS or 409 TID_BUSY", j, a.status, a.Result, a.Code, a.Data)
		}
	}
	t.Logf("%d bills: %d ran, %d replayed, the rest TID_BUSY", bills, ran, replayed)
	if ran != 1 {
		t.Errorf("%d bills ran; want one, the others replayed or busy", ran)
	}
	st := c.rig(t).statement()
	if e := st[f.tid]; len(st) != 1 || !e.Charged() || e.Amount != price {
		t.Fatalf("statement %+v, want one charge of %d for %s", st, price, f.tid)
	}
	done, cancelled := 0, int64(0)
	for j, a := range c.concurrently(cancels, func(j int) (answer, error) {
		return c.post(j%clusterSize, "cancel/cancel", cancelValues(f.tid, part, fmt.Sprintf("part-%d", j)))
	}) {
		var d cancelData
		switch {
		case a.err != nil:
			t.Errorf("cancel %d: %v", j, a.err)
		case a.Result == "SUCCESS" && json.Unmarshal(a.Data, &d) == nil && d.Cancelled == part && d.Type == string(payment.TypeCancel):
			done++
			cancelled += d.Cancelled
		case a.Result != "FAIL" || (a.Code != payment.CodeCancelExceeds && a.Code != payment.CodeAlreadyCancelled):
			t.Errorf("cancel %d answered HTTP %d %s %s %s", j, a.status, a.Result, a.Code, a.Data)
		}
	}
	if done != price/part || cancelled != price {
		t.Errorf("%d cancels of %d KRW went through; want %d", done, cancelled, price/part)
	}
	var v payment.View
	if err := c.get(0, "/v1/payments/"+f.tid, true, &v); err != nil {
		t.Fatal(err)
	}
	wantView(t, v, payment.StatusCancelled, "", price)
	b := c.settle(t)
	if e := b.statement[f.tid]; e.Cancelled != price || len(e.Cancels) != price/part {
		t.Errorf("carrier: %+v, want %d cancels of %d", e, price/part, part)
	}
	if used, held := b.limit(f.phone); used != 0 || held != 0 {
		t.Errorf("limit of %s: used %d held %d, want none", f.phone, used, held)
	}
}

// testKillOneInstance: 60 payments on three instances, instance 0 killed
// with SIGKILL once 20 are done, in the middle of a bill; the rest finish
// on the other two, and no TID is charged twice.
func testKillOneInstance(t *testing.T, bin string, be backends) {
	c := newCluster(t, bin, be, clusterSize)
	flows := newFlows(60, func(i int) int64 { return int64(1000 * (1 + i%5)) })
	var once sync.Once
	err := c.run(flows, clusterWorkers, phoneNumbers(3, 20), func(_ *flow, finished int) error {
		if finished >= 20 {
			once.Do(func() { c.killBilling(0) })
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if ws, ok := c.nodes[0].proc.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("instance 0 ended with %v, want SIGKILL", c.nodes[0].proc.cmd.ProcessState)
	}
	reportKill(t, flows)
	b := c.settle(t)
	paid := map[string]bool{}
	for _, f := range flows {
		switch f.code {
		case engine.CodeOK:
			wantPaid(t, b, f)
		case payment.CodeBillNetCancelled:
			wantFailed(t, b, f, true)
		case payment.CodeBillNotCharged:
			wantFailed(t, b, f, false)
		}
		paid[f.tid] = f.code != payment.CodeBillNotCharged
	}
	for tid, e := range b.statement {
		if e.Charged() && !paid[tid] {
			t.Errorf("the carrier charged %s, which no flow paid: %+v", tid, e)
		}
	}
}

// reportKill logs what the kill did to the flows: requests lost, longest
// wait for a TID the dead instance held, bills resolved without a charge.
func reportKill(t *testing.T, flows []*flow) {
	t.Helper()
	lost, billsLost, outcomes := 0, 0, map[string]int{}
	var waited time.Duration
	for _, f := range flows {
		lost += f.lost
		if f.billLost {
			billsLost++
		}
		outcomes[f.code]++
		waited = max(waited, f.waited)
	}
	if lost == 0 {
		t.Error("no request went to the killed instance")
	}
	t.Logf("kill: %d requests lost, %d flows lost a bill, longest wait for a held TID %s, outcomes %v",
		lost, billsLost, waited.Round(time.Millisecond), outcomes)
}

// wantPaid: f is PAID in the ledger with its amount and phone, and charged
// that amount once at the carrier.
func wantPaid(t *testing.T, b ledgerBooks, f *flow) {
	t.Helper()
	p, e := b.payments[f.tid], b.statement[f.tid]
	if p.Status != payment.StatusPaid || p.Amount != f.amount || p.Phone != f.phone {
		t.Errorf("flow %d: ledger %s %s %d %s, want PAID %d %s", f.i, f.tid, p.Status, p.Amount, p.Phone, f.amount, f.phone)
	}
	if !e.Charged() || e.Amount != f.amount || e.Cancelled != 0 || e.Phone != f.phone {
		t.Errorf("flow %d: carrier %+v, want one charge of %d to %s", f.i, e, f.amount, f.phone)
	}
}

// wantFailed: a bill whose answer died with an instance was resolved by
// recovery: charged and cancelled in full (망취소), or never charged.
func wantFailed(t *testing.T, b ledgerBooks, f *flow, netCancelled bool) {
	t.Helper()
	p, e := b.payments[f.tid], b.statement[f.tid]
	if p.Status != payment.StatusFailed || p.FailCode != f.code || p.NetCancelled != netCancelled {
		t.Errorf("flow %d: ledger %s %s %s net-cancelled %v, want FAILED %s", f.i, f.tid, p.Status, p.FailCode, p.NetCancelled, f.code)
	}
	if e.Remaining() != 0 {
		t.Errorf("flow %d: carrier %+v, want nothing live", f.i, e)
	}
}

// backends are the stores a cluster shares; the zero value means the
// embedded ones, a set per instance.
type backends struct{ redis, postgres string }

func (b backends) shared() bool { return b.redis != "" }

const backendsHelp = "set TUNA_TEST_REDIS_URL and TUNA_TEST_POSTGRES_URL, e.g. " +
	"TUNA_TEST_REDIS_URL=redis://127.0.0.1:6379/0 TUNA_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:5432/test?sslmode=disable'"

func envBackends() (backends, bool) {
	b := backends{os.Getenv("TUNA_TEST_REDIS_URL"), os.Getenv("TUNA_TEST_POSTGRES_URL")}
	return b, b.redis != "" && b.postgres != ""
}

// testBackends returns the test's Redis and PostgreSQL, or skips.
func testBackends(tb testing.TB) backends {
	tb.Helper()
	if testing.Short() {
		tb.Skip("cluster test skipped in -short mode: it builds tuna and runs several instances")
	}
	b, ok := envBackends()
	if !ok {
		tb.Skip("cluster test skipped: " + backendsHelp)
	}
	return b
}

// cluster is a `tuna carrier-sim` process and `tuna serve` processes on
// loopback that share it and one key file and, with backends, one session
// table (a key prefix of its own in Redis) and one payment store (a schema
// of its own in PostgreSQL); each instance has its own data folder.
type cluster struct {
	tb     testing.TB
	bin    string
	dir    string
	be     backends
	prefix string // of its Redis keys
	schema string // of its PostgreSQL tables
	sim    *proc
	simURL string
	nodes  []*node
	client *http.Client
	n      int // processes started, to name their output files
}

// node is one `tuna serve` process.
type node struct {
	proc    *proc
	base    string
	dead    atomic.Bool  // set before the test kills it
	billing atomic.Int32 // bills in flight to it
}

func newCluster(tb testing.TB, bin string, be backends, size int) *cluster {
	tb.Helper()
	dir := tb.TempDir() // first, so that it is removed after the processes are killed
	c := &cluster{tb: tb, bin: bin, dir: dir, be: be, client: &http.Client{
		Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	shared := []string{"--key-file", c.keyFile()}
	if be.shared() {
		c.prefix, c.schema = "tuna-test:"+randomHex()+":", "tuna_test_"+randomHex()
		tb.Cleanup(c.dropStores) // before the processes' cleanups, so it runs after them
		shared = append(shared, "--session", be.redis, "--session-prefix", c.prefix,
			"--db", be.postgres, "--db-schema", c.schema)
	}
	tb.Cleanup(c.client.CloseIdleConnections)
	c.sim = c.start("carrier-sim", "carrier-sim", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "carrier"))
	c.simURL = "http://" + c.sim.waitReady(tb, "carrier simulator ready", "addr")
	c.startNodes(size, shared)
	return c
}

// keyFile writes the server key every instance shares, as an operator
// provisions it before the first start.
func (c *cluster) keyFile() string {
	path := filepath.Join(c.dir, "server.key")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		c.tb.Fatal(err)
	}
	return path
}

// startNodes starts every instance at once, as a deploy does, then waits
// for each to be ready.
func (c *cluster) startNodes(size int, shared []string) {
	c.tb.Helper()
	for i := range size {
		args := append([]string{"serve", "--carrier", c.simURL, "--data", filepath.Join(c.dir, fmt.Sprintf("node%d", i)),
			"--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--watch=false",
			"--recover-every", "200ms", "--recover-after", "1s", "--carrier-settle", "1s", "--log-format", "json",
			"--scripts", "../../scripts", "--protocols", "../../protocols"}, shared...)
		c.nodes = append(c.nodes, &node{proc: c.start(fmt.Sprintf("serve%d", i), args...)})
	}
	for _, n := range c.nodes {
		n.base = "http://" + n.proc.waitReady(c.tb, "ready to serve", "listen")
	}
}

func (c *cluster) start(name string, args ...string) *proc {
	c.tb.Helper()
	c.n++
	return startProc(c.tb, filepath.Join(c.dir, fmt.Sprintf("%02d-%s", c.n, name)), c.bin, nil, args)
}

// kill ends instance i with SIGKILL. Its requests are lost from then on.
func (c *cluster) kill(i int) {
	c.nodes[i].dead.Store(true)
	c.nodes[i].proc.kill()
}

// killBilling kills instance i while it runs a bill, if one comes within
// 5s: the TID stays held for the bill's lease, and its charge may be half
// done.
func (c *cluster) killBilling(i int) {
	for deadline := time.Now().Add(5 * time.Second); c.nodes[i].billing.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	c.kill(i)
}

// stop kills every process at once, freeing the machine for what follows.
func (c *cluster) stop() {
	for _, n := range c.nodes {
		n.proc.kill()
	}
	c.sim.kill()
	c.client.CloseIdleConnections()
}

// dropStores deletes the cluster's schema and Redis keys.
func (c *cluster) dropStores() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := dropSchema(ctx, c.be.postgres, c.schema); err != nil {
		c.tb.Errorf("drop schema %s: %v", c.schema, err)
	}
	if err := dropKeys(ctx, c.be.redis, c.prefix); err != nil {
		c.tb.Errorf("delete Redis keys %s*: %v", c.prefix, err)
	}
}

func dropSchema(ctx context.Context, url, schema string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

func dropKeys(ctx context.Context, url, prefix string) error {
	keys, err := redisKeys(ctx, url, prefix)
	if err != nil || len(keys) == 0 {
		return err
	}
	rdb, err := redisClient(url)
	if err != nil {
		return err
	}
	defer rdb.Close()
	for batch := range slices.Chunk(keys, 500) {
		if err := rdb.Unlink(ctx, batch...).Err(); err != nil {
			return err
		}
	}
	return nil
}

func redisClient(url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return redis.NewClient(opts), nil
}

func redisKeys(ctx context.Context, url, prefix string) ([]string, error) {
	rdb, err := redisClient(url)
	if err != nil {
		return nil, err
	}
	defer rdb.Close()
	var keys []string
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// redisKeys counts the keys under the cluster's prefix: the sessions went
// to the shared table, not to an instance's own.
func (c *cluster) redisKeys(t *testing.T) int {
	t.Helper()
	keys, err := redisKeys(context.Background(), c.be.redis, c.prefix)
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// rig is a crash-test rig over the cluster's carrier, for its helpers.
func (c *cluster) rig(t *testing.T) *crashRig {
	return &crashRig{t: t, client: c.client, simURL: c.simURL}
}

// settle stops the live instances, reads the carrier's statement and the
// ledger in PostgreSQL, and checks them with the crash test's rules.
func (c *cluster) settle(t *testing.T) ledgerBooks {
	t.Helper()
	for _, n := range c.nodes {
		if !n.dead.Load() {
			n.proc.stop(t)
		}
	}
	b := ledgerBooks{statement: c.rig(t).statement()}
	b.payments, b.limits = c.ledger(t)
	books(t, b)
	return b
}

// ledger reads the payment store the instances shared.
func (c *cluster) ledger(t *testing.T) (map[string]payment.Payment, []payment.Limit) {
	t.Helper()
	ctx := context.Background()
	store, err := pgstore.Open(ctx, c.be.postgres, &pgstore.Options{Schema: c.schema})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	list, err := store.Payments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	limits, err := store.Limits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	payments := map[string]payment.Payment{}
	for _, p := range list {
		if _, dup := payments[p.TID]; dup {
			t.Errorf("the ledger lists %s twice", p.TID)
		}
		payments[p.TID] = p
	}
	return payments, limits
}

// answer is a step's envelope and what HTTP said of it.
type answer struct {
	envelope
	status   int
	replayed bool  // Idempotent-Replayed: true
	retried  bool  // an earlier try died with a killed instance
	err      error // for concurrently
}

func (c *cluster) post(n int, step string, form url.Values) (answer, error) {
	if step == "payment/bill" {
		c.nodes[n].billing.Add(1)
		defer c.nodes[n].billing.Add(-1)
	}
	var a answer
	resp, err := c.client.PostForm(c.nodes[n].base+"/tx/"+step, form)
	if err != nil {
		return a, err
	}
	defer resp.Body.Close()
	a.status, a.replayed = resp.StatusCode, resp.Header.Get("Idempotent-Replayed") == "true"
	if err := json.NewDecoder(resp.Body).Decode(&a.envelope); err != nil {
		return a, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return a, nil
}

func (c *cluster) get(n int, path string, merchant bool, v any) error {
	return (&crashRig{client: c.client}).get(c.nodes[n].base+path, merchant, v)
}

// concurrently runs n calls of post at once and returns their answers.
func (c *cluster) concurrently(n int, post func(j int) (answer, error)) []answer {
	answers := make([]answer, n)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for j := range answers {
		wg.Go(func() {
			<-gate
			a, err := post(j)
			a.err = err
			answers[j] = a
		})
	}
	close(gate)
	wg.Wait()
	return answers
}

// flow is one payment walked through the cluster: its k-th request goes to
// instance (i+k) % size, so that no two requests in a row meet the same one.
type flow struct {
	i        int
	phone    string
	amount   int64
	tid      string
	code     string        // the bill's final answer: OK, or how recovery resolved it
	k        int           // requests sent
	lost     int           // requests a killed instance did not answer
	billLost bool          // one of them was a bill
	waited   time.Duration // longest wait for a TID a killed instance held
	took     time.Duration // from cp_auth to the bill's answer
}

func newFlows(n int, amount func(i int) int64) []*flow {
	flows := make([]*flow, n)
	for i := range flows {
		flows[i] = &flow{i: i, amount: amount(i)}
	}
	return flows
}

// phoneNumbers returns n normal subscribers of a series; the series keep
// tests and benchmarks off each other's numbers.
func phoneNumbers(series, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("0107%03d%04d", series, i)
	}
	return out
}

// run pays flows with workers concurrent clients. Each flow has a phone
// number no other flow in progress has — the sandbox's SMS inbox is the
// latest message per number — and after, if not nil, runs once the flow
// is paid, with the number of flows finished so far.
func (c *cluster) run(flows []*flow, workers int, phones []string, after func(f *flow, finished int) error) error {
	free := make(chan string, len(phones))
	for _, p := range phones {
		free <- p
	}
	jobs := make(chan *flow)
	var finished atomic.Int64
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for f := range jobs {
				f.phone = <-free
				err := c.pay(f)
				free <- f.phone
				if n := int(finished.Add(1)); err == nil && after != nil {
					err = after(f, n)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, f := range flows {
		jobs <- f
	}
	close(jobs)
	wg.Wait()
	return firstErrors(errs, 10)
}

func firstErrors(errs []error, n int) error {
	if len(errs) > n {
		errs = append(errs[:n], fmt.Errorf("and %d more errors", len(errs)-n))
	}
	return errors.Join(errs...)
}

// pay walks f through every step, bill included.
func (c *cluster) pay(f *flow) error {
	t0 := time.Now()
	defer func() { f.took = time.Since(t0) }()
	if err := c.walk(f); err != nil {
		return err
	}
	return c.bill(f)
}

// walk takes f from cp_auth to a verified OTP.
func (c *cluster) walk(f *flow) error {
	a, err := c.send(f, "payment/cp_auth", url.Values{"CP_ID": {crashCP}, "CP_PWD": {crashPwd}, "P_ID": {"tea-01"},
		"P_NAME": {"Green tea"}, "P_PRICE": {strconv.FormatInt(f.amount, 10)}})
	if err := want(f, "cp_auth", a, err, engine.CodeOK); err != nil {
		return err
	}
	f.tid = a.TID
	for otps := 1; ; otps++ {
		a, err := c.send(f, "payment/user_auth", url.Values{"TID": {f.tid}, "name": {"홍길동"}, "phone_number": {f.phone},
			"carrier": {"SKT"}, "birth": {"19900101"}, "gender": {"M"}})
		if err := want(f, "user_auth", a, err, engine.CodeOK); err != nil {
			return err
		}
		otp, err := c.readSMS(f)
		if err != nil {
			return err
		}
		a, err = c.send(f, "payment/otp_verify", url.Values{"TID": {f.tid}, "OTP": {otp}})
		if err == nil && a.retried && a.Code == payment.CodeOTPUsed && otps < 3 {
			continue // its first answer died with an instance: the user asks for a new OTP
		}
		return want(f, "otp_verify", a, err, engine.CodeOK)
	}
}

// bill confirms f's payment, asking again after BILL_UNKNOWN as merchants
// are told to. Only a bill whose answer died with an instance may end
// resolved by recovery without a charge: cancelled at the carrier (망취소)
// or never charged.
func (c *cluster) bill(f *flow) error {
	deadline := time.Now().Add(leaseBound)
	unknown := false
	for {
		a, err := c.send(f, "payment/bill", billValues(f))
		f.billLost = f.billLost || a.retried
		switch {
		case err != nil:
			return err
		case a.Code == payment.CodeBillUnknown && time.Now().Before(deadline):
			unknown = true
			time.Sleep(200 * time.Millisecond)
			continue
		case a.Code == payment.CodeBillNetCancelled || a.Code == payment.CodeBillNotCharged:
			if !f.billLost {
				return fmt.Errorf("flow %d (%s): bill answered %s (BILL_UNKNOWN before: %v), yet no answer was lost: "+
					"recovery took over a charge whose step was still running", f.i, f.tid, a.Code, unknown)
			}
			f.code = a.Code
			return nil
		}
		if err := want(f, "bill", a, nil, engine.CodeOK); err != nil {
			return err
		}
		f.code = engine.CodeOK
		return wantBilled(f, a)
	}
}

func billValues(f *flow) url.Values {
	return url.Values{"TID": {f.tid}, "CP_ID": {crashCP}, "CP_PWD": {crashPwd}, "AMOUNT": {strconv.FormatInt(f.amount, 10)}}
}

func cancelValues(tid string, amount int64, key string) url.Values {
	return url.Values{"CP_ID": {crashCP}, "CP_PWD": {crashPwd}, "O_TID": {tid},
		"AMOUNT": {strconv.FormatInt(amount, 10)}, "REASON": {"one item returned"}, "IDEMPOTENCY_KEY": {key}}
}

func wantBilled(f *flow, a answer) error {
	var d billData
	if err := json.Unmarshal(a.Data, &d); err != nil || d.Amount != f.amount || d.Status != string(payment.StatusPaid) {
		return fmt.Errorf("flow %d (%s): bill answered %s, want PAID %d", f.i, f.tid, a.Data, f.amount)
	}
	return nil
}

// lookup asks the next instance what the merchant sees of f's payment.
func (c *cluster) lookup(f *flow) error {
	var v payment.View
	if err := c.get(c.next(f), "/v1/payments/"+f.tid, true, &v); err != nil {
		return fmt.Errorf("flow %d: %w", f.i, err)
	}
	if v.Status != payment.StatusPaid || v.Amount != f.amount {
		return fmt.Errorf("flow %d: lookup of %s: %s %d, want PAID %d", f.i, f.tid, v.Status, v.Amount, f.amount)
	}
	return nil
}

// readSMS reads f's OTP from the sandbox SMS inbox of the next instance.
func (c *cluster) readSMS(f *flow) (string, error) {
	for {
		n := c.next(f)
		var sms payment.SMS
		err := c.get(n, "/sandbox/sms/"+f.phone, false, &sms)
		if err != nil && c.nodes[n].dead.Load() {
			f.lost++
			continue
		}
		if err != nil {
			return "", fmt.Errorf("flow %d: SMS on instance %d: %w", f.i, n, err)
		}
		return sms.OTP, nil
	}
}

// send posts one of f's requests to the next instance in turn. A request a
// killed instance did not answer goes on to the next instance, and a TID
// the killed instance held is asked for again until its lease ends.
func (c *cluster) send(f *flow, step string, form url.Values) (answer, error) {
	var retried bool
	var busySince time.Time
	for {
		n, sent := c.next(f), time.Now()
		a, err := c.post(n, step, form)
		a.retried = retried
		switch {
		case err != nil && c.nodes[n].dead.Load():
			f.lost++
			retried = true
		case err != nil:
			return a, fmt.Errorf("flow %d (%s): %s on instance %d: %w", f.i, f.tid, step, n, err)
		case retried && a.Code == engine.CodeTIDBusy:
			if busySince.IsZero() {
				busySince = sent
			}
			if f.waited = max(f.waited, time.Since(busySince)); f.waited > leaseBound {
				return a, fmt.Errorf("flow %d (%s): %s: the TID is still busy after %s", f.i, f.tid, step, f.waited)
			}
			time.Sleep(100 * time.Millisecond)
		default:
			return a, nil
		}
	}
}

func (c *cluster) next(f *flow) int {
	n := (f.i + f.k) % len(c.nodes)
	f.k++
	return n
}

// want checks that a step answered code: OK is a SUCCESS, any other a FAIL.
func want(f *flow, step string, a answer, err error, code string) error {
	if err != nil {
		return err
	}
	result := "FAIL"
	if code == engine.CodeOK {
		result = "SUCCESS"
	}
	if a.Result != result || a.Code != code {
		return fmt.Errorf("flow %d (%s): %s answered HTTP %d %s %s %s, want %s %s",
			f.i, f.tid, step, a.status, a.Result, a.Code, a.Data, result, code)
	}
	return nil
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
