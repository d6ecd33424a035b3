package session_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tunapay/tuna/session"
	"github.com/tunapay/tuna/session/storetest"
)

// redisURL returns the Redis the tests may use, or skips the test.
func redisURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("TUNA_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("Redis tests need a Redis; run them with TUNA_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test ./session/")
	}
	return url
}

// redisPrefix returns a key prefix of the test's own, whose keys are
// deleted when the test ends.
func redisPrefix(tb testing.TB) string {
	tb.Helper()
	url := redisURL(tb)
	var b [8]byte
	_, _ = rand.Read(b[:])
	prefix := "tunatest:" + hex.EncodeToString(b[:]) + ":"
	tb.Cleanup(func() { deleteRedisKeys(tb, url, prefix) })
	return prefix
}

// deleteRedisKeys deletes every key under prefix, on a client of its own
// since the test may have closed its stores.
func deleteRedisKeys(tb testing.TB, url, prefix string) {
	rdb := redisClient(tb, url)
	defer rdb.Close()
	ctx := context.Background()
	iter := rdb.Scan(ctx, 0, prefix+"*", 500).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("scan %s*: %v", prefix, err)
		return
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		if err := rdb.Del(ctx, keys[:n]...).Err(); err != nil {
			tb.Errorf("delete %s*: %v", prefix, err)
			return
		}
		keys = keys[n:]
	}
}

// redisClient is a plain client, to look at the keys behind a store.
func redisClient(tb testing.TB, url string) *redis.Client {
	tb.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	return redis.NewClient(o)
}

// openRedis opens a store on prefix, closed when the test ends.
func openRedis(tb testing.TB, prefix string, opts session.RedisOptions) *session.RedisStore {
	tb.Helper()
	opts.Prefix = prefix
	s, err := session.OpenRedis(redisURL(tb), &opts)
	if err != nil {
		tb.Fatalf("OpenRedis: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedis_Contract(t *testing.T) {
	redisURL(t)
	storetest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
		return openRedis(t, redisPrefix(t), session.RedisOptions{Now: now})
	})
}

// TestRedis_TwoInstances_NoLostUpdate runs whole steps on one TID from two
// stores with clients of their own, as two servers would: their holds must
// exclude each other so that no increment is lost.
func TestRedis_TwoInstances_NoLostUpdate(t *testing.T) {
	const steps = 50
	prefix := redisPrefix(t)
	servers := []*session.RedisStore{
		openRedis(t, prefix, session.RedisOptions{}),
		openRedis(t, prefix, session.RedisOptions{}),
	}
	s := storetest.Sample("tid-shared", time.Now())
	if err := servers[0].Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range steps {
		store := servers[i%2]
		wg.Go(func() {
			if err := countStep(t.Context(), store, s.TID); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := servers[1].Load(t.Context(), s.TID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["counter"] != float64(steps) || got.Version != steps+1 {
		t.Fatalf("counter %v at Version %d, want %d at %d", got.Data["counter"], got.Version, steps, steps+1)
	}
}

// countStep is one step: hold, load, increment Data["counter"], save.
func countStep(ctx context.Context, store session.Store, tid string) error {
	release, err := store.Hold(ctx, tid, 10*time.Second, time.Minute)
	if err != nil {
		return err
	}
	defer release()
	s, err := store.Load(ctx, tid)
	if err != nil {
		return err
	}
	n, _ := s.Data["counter"].(float64)
	s.Data["counter"] = n + 1
	return store.Save(ctx, s)
}

// TestRedis_Create_SameSessionTwice: two Creates of one session are two
// writes, not a resent one; the second finds the TID taken.
func TestRedis_Create_SameSessionTwice(t *testing.T) {
	store := openRedis(t, redisPrefix(t), session.RedisOptions{})
	s := storetest.Sample("tid-twice", time.Now())
	again := s.Clone()
	if err := store.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := store.Create(t.Context(), again); !errors.Is(err, session.ErrExists) {
		t.Fatalf("second Create of the same session: err %v, want ErrExists", err)
	}
}

// TestRedis_Save_FencesStaleWriter: an instance that loaded a version
// another instance has since saved over cannot write its stale copy.
func TestRedis_Save_FencesStaleWriter(t *testing.T) {
	prefix := redisPrefix(t)
	a := openRedis(t, prefix, session.RedisOptions{})
	b := openRedis(t, prefix, session.RedisOptions{})
	if err := a.Create(t.Context(), storetest.Sample("tid-fence", time.Now())); err != nil {
		t.Fatal(err)
	}
	stale := mustLoadRedis(t, a, "tid-fence")
	fresh := mustLoadRedis(t, b, "tid-fence")
	fresh.Data["writer"] = "b"
	if err := b.Save(t.Context(), fresh); err != nil {
		t.Fatal(err)
	}
	stale.Data["writer"] = "a"
	if err := a.Save(t.Context(), stale); !errors.Is(err, session.ErrConflict) {
		t.Fatalf("stale Save: err %v, want ErrConflict", err)
	}
	got := mustLoadRedis(t, a, "tid-fence")
	if got.Data["writer"] != "b" || got.Version != fresh.Version {
		t.Fatalf("stored writer %v at Version %d, want b at %d", got.Data["writer"], got.Version, fresh.Version)
	}
}

func mustLoadRedis(t *testing.T, store session.Store, tid string) *session.Session {
	t.Helper()
	s, err := store.Load(t.Context(), tid)
	if err != nil {
		t.Fatalf("Load %s: %v", tid, err)
	}
	return s
}

// TestRedis_Hold_CrashedHolderLeaseExpires: a hold never released (its
// holder crashed) blocks the TID until its lease passes, then frees it.
func TestRedis_Hold_CrashedHolderLeaseExpires(t *testing.T) {
	const lease = 300 * time.Millisecond
	prefix := redisPrefix(t)
	crashed := openRedis(t, prefix, session.RedisOptions{})
	other := openRedis(t, prefix, session.RedisOptions{})
	start := time.Now()
	staleRelease, err := crashed.Hold(t.Context(), "tid-crash", 0, lease)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Hold(t.Context(), "tid-crash", lease/3, time.Minute); !errors.Is(err, session.ErrBusy) {
		t.Fatalf("Hold within the lease: err %v, want ErrBusy", err)
	}
	release, err := other.Hold(t.Context(), "tid-crash", 5*time.Second, time.Minute)
	if err != nil {
		t.Fatalf("Hold after the lease: %v", err)
	}
	defer release()
	if waited := time.Since(start); waited < lease {
		t.Fatalf("TID free after %v, before its lease of %v", waited, lease)
	} else if waited > lease+time.Second {
		t.Fatalf("TID free only after %v, lease %v", waited, lease)
	}
	// The late release of the crashed holder must not free the new one.
	staleRelease()
	if _, err := crashed.Hold(t.Context(), "tid-crash", 0, time.Minute); !errors.Is(err, session.ErrBusy) {
		t.Fatalf("Hold after a stale release: err %v, want ErrBusy", err)
	}
}

// TestRedis_KeyTTL: Redis drops a session by itself Retention after its
// ExpiresAt, counted on the store's clock; a session without expiry stays.
func TestRedis_KeyTTL(t *testing.T) {
	const retention = 30 * time.Minute
	prefix := redisPrefix(t)
	clock := storetest.NewClock(storetest.Epoch)
	store := openRedis(t, prefix, session.RedisOptions{Now: clock.Now, Retention: retention})
	rdb := redisClient(t, redisURL(t))
	defer rdb.Close()
	key := prefix + "s:tid-ttl"
	s := storetest.Sample("tid-ttl", storetest.Epoch) // expires at Epoch+TTL
	if err := store.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	checkPTTL(t, rdb, key, storetest.TTL+retention)

	clock.Advance(time.Minute)
	s.ExpiresAt = clock.Now().Add(storetest.TTL)
	if err := store.Save(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	checkPTTL(t, rdb, key, storetest.TTL+retention)

	s.ExpiresAt = time.Time{}
	if err := store.Save(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if ttl := rdb.PTTL(t.Context(), key).Val(); ttl != -1 {
		t.Fatalf("PTTL of a session without expiry = %v, want none (-1)", ttl)
	}
}

func checkPTTL(t *testing.T, rdb *redis.Client, key string, want time.Duration) {
	t.Helper()
	got, err := rdb.PTTL(t.Context(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if got > want || got < want-5*time.Second {
		t.Fatalf("PTTL %s = %v, want about %v", key, got, want)
	}
}

// TestOpenRedis_Unreachable: with nothing listening, OpenRedis fails at
// once, naming the address but never the password of the URL.
func TestOpenRedis_Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	start := time.Now()
	s, err := session.OpenRedis("redis://:hunter2@"+addr+"/0", nil)
	if err == nil {
		_ = s.Close()
		t.Fatal("OpenRedis of a closed port succeeded")
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("error %q does not say %s is unreachable", err, addr)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q shows the password", err)
	}
	if took := time.Since(start); took > 6*time.Second {
		t.Errorf("OpenRedis took %v to fail", took)
	}
}

func TestOpenRedis_BadURL(t *testing.T) {
	for _, url := range []string{
		"http://:hunter2@localhost/",
		"redis://user:hunter2@localhost:6379/%zz",
		"redis://user:hunter2@local host:6379/0",
		"redis://:hunter2@localhost:6379/db",
	} {
		if _, err := session.OpenRedis(url, nil); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("OpenRedis(%q): err %v, want an error without the password", url, err)
		}
	}
}

// TestOpenRedis_WrongPassword: a Redis that answers but refuses is not
// reported as unreachable.
func TestOpenRedis_WrongPassword(t *testing.T) {
	u, err := neturl.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = neturl.UserPassword("tuna-no-such-user", "hunter2")
	_, err = session.OpenRedis(u.String(), nil)
	if err == nil || strings.Contains(err.Error(), "unreachable") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("OpenRedis with a wrong password: err %v, want a refusal without the password", err)
	}
}

// TestRedis_Load_CorruptRecord: a record that does not decode is an error
// that names the TID but shows none of the data.
func TestRedis_Load_CorruptRecord(t *testing.T) {
	prefix := redisPrefix(t)
	store := openRedis(t, prefix, session.RedisOptions{})
	rdb := redisClient(t, redisURL(t))
	defer rdb.Close()
	if err := rdb.HSet(t.Context(), prefix+"s:tid-bad", "v", "3", "d", `{"data":{"card":"4111-secret"`).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := store.Load(t.Context(), "tid-bad")
	if err == nil || !strings.Contains(err.Error(), "tid-bad") || strings.Contains(err.Error(), "secret") {
		t.Fatalf("Load of a corrupt record: err %v, want one naming the TID only", err)
	}
}

// TestRedis_Sweep_LastMillisecond: the index counts in milliseconds, so
// Sweep must settle cutoff's own millisecond by the nanosecond, also when
// it holds more sessions than one batch.
func TestRedis_Sweep_LastMillisecond(t *testing.T) {
	const n = 1200
	store := openRedis(t, redisPrefix(t), session.RedisOptions{Now: storetest.NewClock(storetest.Epoch).Now})
	cutoff := storetest.Epoch.Add(storetest.TTL)
	for i := range n {
		s := &session.Session{TID: fmt.Sprintf("tid-%04d", i), ExpiresAt: cutoff}
		if i%2 == 1 {
			s.ExpiresAt = cutoff.Add(time.Nanosecond)
		}
		if err := store.Create(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := store.Sweep(t.Context(), cutoff); err != nil || got != n/2 {
		t.Fatalf("Sweep = %d, %v; want %d", got, err, n/2)
	}
	if got, err := store.Sweep(t.Context(), cutoff.Add(time.Nanosecond)); err != nil || got != n/2 {
		t.Fatalf("second Sweep = %d, %v; want %d", got, err, n/2)
	}
}

// TestRedis_Sweep_DroppedByRedis: a session Redis dropped by itself leaves
// an index entry, which Sweep removes without counting it.
func TestRedis_Sweep_DroppedByRedis(t *testing.T) {
	clock := storetest.NewClock(storetest.Epoch)
	store := openRedis(t, redisPrefix(t), session.RedisOptions{Now: clock.Now, Retention: time.Minute})
	s := storetest.Sample("tid-dropped", storetest.Epoch)
	clock.Set(s.ExpiresAt.Add(time.Hour)) // long past its retention: a TTL of 1ms
	if err := store.Create(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if _, err := store.Load(t.Context(), s.TID); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after Redis dropped it: err %v, want ErrNotFound", err)
	}
	if got := store.Stats().Sessions; got != 1 {
		t.Fatalf("Stats before Sweep: %d sessions, want the 1 index entry", got)
	}
	if got, err := store.Sweep(t.Context(), clock.Now()); err != nil || got != 0 {
		t.Fatalf("Sweep = %d, %v; want 0", got, err)
	}
	if got := store.Stats().Sessions; got != 0 {
		t.Fatalf("Stats after Sweep: %d sessions, want 0", got)
	}
}

func TestRedis_Stats(t *testing.T) {
	store := openRedis(t, redisPrefix(t), session.RedisOptions{})
	for _, tid := range []string{"tid-1", "tid-2"} {
		if err := store.Create(t.Context(), storetest.Sample(tid, time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	forever := storetest.Sample("tid-forever", time.Now())
	forever.ExpiresAt = time.Time{}
	if err := store.Create(t.Context(), forever); err != nil {
		t.Fatal(err)
	}
	want := session.Stats{Backend: "redis", Sessions: 3, Bytes: -1}
	if got := store.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	_ = store.Close()
	if got := store.Stats(); got.Sessions != -1 {
		t.Fatalf("Stats after Close = %+v, want -1 sessions", got)
	}
}

// TestRedis_Release_AfterClose: releasing a hold once the store is closed
// (or Redis gone) is a harmless no-op.
func TestRedis_Release_AfterClose(t *testing.T) {
	store := openRedis(t, redisPrefix(t), session.RedisOptions{})
	release, err := store.Hold(t.Context(), "tid-late", 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_ = store.Close()
	release()
	release()
}

// cutProxy forwards TCP connections to Redis. Armed, it passes the next
// EVALSHA on and closes the connection before the reply comes back: the
// command ran, but the client never learns it and resends it.
type cutProxy struct {
	target string
	armed  atomic.Bool
}

// startCutProxy returns a proxy in front of the test Redis and the URL
// that reaches Redis through it.
func startCutProxy(t *testing.T) (*cutProxy, string) {
	u, err := neturl.Parse(redisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	p := &cutProxy{target: u.Host}
	go p.serve(l)
	u.Host = l.Addr().String()
	return p, u.String()
}

func (p *cutProxy) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	var cutting atomic.Bool
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if err != nil || cutting.Load() {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		cut := bytes.Contains(bytes.ToLower(buf[:n]), []byte("evalsha")) && p.armed.CompareAndSwap(true, false)
		if cut {
			cutting.Store(true)
		}
		if _, err := up.Write(buf[:n]); err != nil {
			return
		}
		if cut {
			time.Sleep(50 * time.Millisecond) // Redis runs the script
			return
		}
	}
}

// TestRedis_ReplyLost: a write or a hold whose reply was lost is resent by
// the client, and the resent one must see that it already took effect.
func TestRedis_ReplyLost(t *testing.T) {
	prefix := redisPrefix(t)
	proxy, url := startCutProxy(t)
	t.Setenv("TUNA_TEST_REDIS_URL", url)
	store := openRedis(t, prefix, session.RedisOptions{})
	if err := store.Create(t.Context(), storetest.Sample("tid-lost", time.Now())); err != nil {
		t.Fatal(err)
	}
	s := mustLoadRedis(t, store, "tid-lost")
	s.Data["saved"] = true
	proxy.armed.Store(true)
	if err := store.Save(t.Context(), s); err != nil || s.Version != 2 {
		t.Fatalf("Save with its reply lost: err %v, Version %d; want nil, 2", err, s.Version)
	}
	if proxy.armed.Load() {
		t.Fatal("the proxy did not cut the Save")
	}
	if got := mustLoadRedis(t, store, "tid-lost"); got.Data["saved"] != true || got.Version != 2 {
		t.Fatalf("stored Version %d, saved %v; want 2, true", got.Version, got.Data["saved"])
	}
	warm, err := store.Hold(t.Context(), "tid-other", 0, time.Minute) // loads the script
	if err != nil {
		t.Fatal(err)
	}
	warm()
	proxy.armed.Store(true)
	release, err := store.Hold(t.Context(), "tid-lost", 0, time.Minute)
	if err != nil {
		t.Fatalf("Hold with its reply lost: %v", err)
	}
	release()
	if proxy.armed.Load() {
		t.Fatal("the proxy did not cut the Hold")
	}
}
