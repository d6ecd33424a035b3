package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	neturl "net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

var _ Store = (*RedisStore)(nil)

// Keys, under the prefix:
//
//	s:<tid>  hash  v = version, x = ExpiresAt unix nanos (absent: never
//	               expires), d = the session as JSON, w = id of the last write
//	exp      zset  member tid, score ExpiresAt in unix ms (floored), or
//	               +inf for a session that never expires
//	l:<tid>  string the random token of the current Hold, with the lease as TTL
//
// A session key expires by itself Retention after ExpiresAt; Sweep usually
// deletes it first. The index scores are milliseconds, exact as doubles;
// Sweep settles the last millisecond from the nanoseconds in x.

const (
	defaultRedisPrefix    = "tuna:"
	defaultRedisRetention = time.Hour
	// defaultLease applies when Hold is given no lease: a hold must always
	// end by itself, or a crashed holder would block its TID for good.
	defaultLease = time.Minute
	// redisPingTimeout bounds the PING of OpenRedis.
	redisPingTimeout = 5 * time.Second
	// redisCallTimeout bounds the calls made without a caller's context:
	// Stats and the release of a hold.
	redisCallTimeout = 2 * time.Second
	// holdPollMin and holdPollMax bound the wait between two tries of Hold.
	holdPollMin = 2 * time.Millisecond
	holdPollMax = 25 * time.Millisecond
	// redisSweepBatch bounds the sessions one Sweep script deletes, so that
	// it does not stall Redis for other clients.
	redisSweepBatch = 500
)

// writeScript is Create (ARGV[1] empty) and Save (ARGV[1] the expected
// version) in one step. It returns 0 on success, 1 if the session exists, 2
// if it is not found and 3 if its version moved. Each write carries a
// random id, stored in field w: the client resends a script whose
// connection broke before the reply, and the resent write, finding its own
// id, succeeds again rather than failing with a conflict it caused.
//
//	KEYS: session, index
//	ARGV: want, version, data, expiry nanos or "", TTL ms or "", score, tid, write id
var writeScript = redis.NewScript(`
local v, w = unpack(redis.call('HMGET', KEYS[1], 'v', 'w'))
if w == ARGV[8] then return 0 end
if ARGV[1] == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return 1 end
else
  if not v then return 2 end
  if v ~= ARGV[1] then return 3 end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'w', ARGV[8])
if ARGV[4] == '' then
  redis.call('HDEL', KEYS[1], 'x')
  redis.call('PERSIST', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'x', ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
return 0
`)

// sweepScript deletes the sessions Sweep found due, each only if its
// expiry is still the one Sweep read (a Save may have renewed it since),
// and drops index entries whose session is gone. It returns how many
// sessions it deleted and how many index entries it removed.
//
//	KEYS: index, session 1..n
//	ARGV: tid 1..n, expiry nanos 1..n ("" for a session found gone)
var sweepScript = redis.NewScript(`
local n = #KEYS - 1
local deleted, removed = 0, 0
for i = 1, n do
  local key, want = KEYS[i + 1], ARGV[n + i]
  local drop = false
  if want == '' then
    drop = redis.call('EXISTS', key) == 0
  elseif redis.call('HGET', key, 'x') == want then
    redis.call('DEL', key)
    deleted = deleted + 1
    drop = true
  end
  if drop then
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return {deleted, removed}
`)

// leaseScript is SET NX PX, except that it also succeeds when the lease
// already carries the caller's token: the client resent it after a broken
// connection, and the first try took the lease.
//
//	KEYS: lease; ARGV: token, lease ms
var leaseScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
  return 1
end
if cur == ARGV[1] then return 1 end
return 0
`)

// unleaseScript deletes a hold only if it still carries the caller's token,
// so a holder whose lease ran out cannot free the next holder.
var unleaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// RedisOptions configure OpenRedis. A nil *RedisOptions means defaults.
type RedisOptions struct {
	// Prefix starts every key of the store; "" means "tuna:". Instances
	// with the same prefix share their sessions and holds.
	Prefix string
	// Now is the clock that decides expiry; nil means time.Now.
	Now func() time.Time
	// Retention is how long Redis keeps a session after its ExpiresAt, so
	// that Load answers ErrExpired rather than ErrNotFound until it is
	// swept; 0 or less means 1h. Keep it at least the sweep's retention.
	Retention time.Duration
}

// RedisStore is a Store in Redis, shared by every server instance that
// uses the same Redis and prefix. Save is an atomic compare-and-set on the
// version, and Hold a lease that every instance honours.
type RedisStore struct {
	rdb       *redis.Client
	prefix    string
	index     string
	now       func() time.Time
	retention time.Duration
	closed    atomic.Bool
}

// OpenRedis connects to the Redis at url (redis://, rediss:// or unix://)
// and checks that it answers.
func OpenRedis(url string, opts *RedisOptions) (*RedisStore, error) {
	o := redisDefaults(opts)
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, badURL(err)
	}
	ro.ContextTimeoutEnabled = true
	if err := ping(*ro); err != nil {
		var reply redis.Error
		if errors.As(err, &reply) { // it answered, with an error (auth, ...)
			return nil, fmt.Errorf("session: redis at %s: %w", ro.Addr, err)
		}
		return nil, fmt.Errorf("session: redis at %s is unreachable: %w", ro.Addr, err)
	}
	return &RedisStore{
		rdb: redis.NewClient(ro), prefix: o.Prefix, index: o.Prefix + "exp",
		now: o.Now, retention: o.Retention,
	}, nil
}

// badURL reports a URL redis.ParseURL rejected without repeating it, since
// it may hold a password (a *url.Error quotes the whole URL).
func badURL(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("session: redis URL: %w", err)
}

// ping checks that Redis answers, on a client of its own that neither
// retries nor redials, so that a wrong address fails at once; the store's
// client keeps the retries that ride out a short outage.
func ping(ro redis.Options) error {
	ro.MaxRetries, ro.DialerRetries = -1, 1
	probe := redis.NewClient(&ro)
	defer probe.Close()
	ctx, cancel := context.WithTimeout(context.Background(), redisPingTimeout)
	defer cancel()
	return probe.Ping(ctx).Err()
}

func redisDefaults(opts *RedisOptions) RedisOptions {
	var o RedisOptions
	if opts != nil {
		o = *opts
	}
	if o.Prefix == "" {
		o.Prefix = defaultRedisPrefix
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Retention <= 0 {
		o.Retention = defaultRedisRetention
	}
	return o
}

// Create stores s as a new session at Version 1 and sets s.Version to 1.
func (r *RedisStore) Create(ctx context.Context, s *Session) error {
	if err := checkTID(s.TID); err != nil {
		return err
	}
	return r.write(ctx, s, true)
}

// Save stores s if the stored version is still s.Version, and increments
// s.Version.
func (r *RedisStore) Save(ctx context.Context, s *Session) error {
	return r.write(ctx, s, false)
}

// write runs writeScript for s. Once sent, the script runs to its end
// even if ctx ends, so that the caller learns whether it committed.
func (r *RedisStore) write(ctx context.Context, s *Session, create bool) error {
	if err := r.ready(ctx); err != nil {
		return err
	}
	want, version := strconv.FormatUint(s.Version, 10), s.Version+1
	if create {
		want, version = "", 1
	}
	data, err := encodeSession(s, version)
	if err != nil {
		return err
	}
	x, ttl, score := r.expiry(s.ExpiresAt)
	keys := []string{r.sessionKey(s.TID), r.index}
	res, err := writeScript.Run(context.WithoutCancel(ctx), r.rdb, keys,
		want, version, data, x, ttl, score, s.TID, newToken()).Int()
	if err != nil {
		return fmt.Errorf("session: write %q: %w", s.TID, r.mapErr(err))
	}
	if err := writeResult(res); err != nil {
		return err
	}
	s.Version = version
	return nil
}

func writeResult(res int) error {
	switch res {
	case 0:
		return nil
	case 1:
		return ErrExists
	case 2:
		return ErrNotFound
	case 3:
		return ErrConflict
	}
	return fmt.Errorf("session: redis write script answered %d", res)
}

// expiry returns the fields a write stores for a session expiring at: its
// expiry in nanos, the key's TTL in ms and its index score. A session that
// never expires has "", "" and +inf.
func (r *RedisStore) expiry(at time.Time) (x, ttl, score string) {
	if at.IsZero() {
		return "", "", "+inf"
	}
	ns := unixNanos(at)
	keep := ceilMillis(at.Add(r.retention).Sub(r.now()))
	return strconv.FormatInt(ns, 10), strconv.FormatInt(keep, 10), strconv.FormatInt(floorMillis(ns), 10)
}

// ceilMillis is d in whole milliseconds, rounded up and at least 1: Redis
// counts TTLs in ms, and a key must not expire before d has passed.
func ceilMillis(d time.Duration) int64 {
	ms := d.Milliseconds()
	if d%time.Millisecond > 0 {
		ms++
	}
	return max(ms, 1)
}

// floorMillis converts unix nanos to unix ms, rounding down also before
// 1970, so that a ≤ b implies floorMillis(a) ≤ floorMillis(b).
func floorMillis(ns int64) int64 {
	ms := ns / 1e6
	if ns%1e6 < 0 {
		ms--
	}
	return ms
}

// encodeSession encodes s as stored at version. An error names the TID and
// the kind of failure only, never the data.
func encodeSession(s *Session, version uint64) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	c := *s
	c.Version = version
	if err := enc.Encode(&c); err != nil {
		return nil, fmt.Errorf("session: encode %q: not JSON-encodable (%T)", s.TID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Load returns the session stored under tid.
func (r *RedisStore) Load(ctx context.Context, tid string) (*Session, error) {
	if err := r.ready(ctx); err != nil {
		return nil, err
	}
	vals, err := r.rdb.HMGet(ctx, r.sessionKey(tid), "v", "x", "d").Result()
	if err != nil {
		return nil, fmt.Errorf("session: load %q: %w", tid, r.mapErr(err))
	}
	v, x, d := field(vals, 0), field(vals, 1), field(vals, 2)
	if v == "" {
		return nil, ErrNotFound
	}
	if x != "" {
		exp, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("session: corrupt record %q: bad expiry", tid)
		}
		if unixNanos(r.now()) >= exp {
			return nil, ErrExpired
		}
	}
	return decodeSession(tid, v, d)
}

// field returns vals[i] as a string; "" when the hash lacks it.
func field(vals []any, i int) string {
	if i >= len(vals) {
		return ""
	}
	s, _ := vals[i].(string)
	return s
}

// decodeSession decodes a stored record. An error names the TID and the
// kind of failure only, never the data.
func decodeSession(tid, version, data string) (*Session, error) {
	v, err := strconv.ParseUint(version, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("session: corrupt record %q: bad version", tid)
	}
	s := &Session{}
	if err := json.Unmarshal([]byte(data), s); err != nil {
		return nil, fmt.Errorf("session: corrupt record %q: %d bytes of bad JSON (%T)", tid, len(data), err)
	}
	s.Version = v
	if s.Data == nil {
		s.Data = map[string]any{}
	}
	if s.Steps == nil {
		s.Steps = map[string]*StepRecord{}
	}
	return s, nil
}

// Hold takes tid's lease in Redis, which every instance sharing the prefix
// honours. It tries at once, then polls with a growing, jittered pause until
// wait passes (ErrBusy) or ctx ends (an error matching ErrBusy and
// ctx.Err()). The lease ends at release or after lease (defaultLease when
// lease is 0 or less), whichever is first, so a crashed holder blocks its
// TID for lease at most.
func (r *RedisStore) Hold(ctx context.Context, tid string, wait, lease time.Duration) (func(), error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	if lease <= 0 {
		lease = defaultLease
	}
	ms := ceilMillis(lease)
	key, token := r.leaseKey(tid), newToken()
	deadline := time.Now().Add(wait)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for pause := holdPollMin; ; pause = min(2*pause, holdPollMax) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBusy, err)
		}
		took, err := leaseScript.Run(ctx, r.rdb, []string{key}, token, ms).Int()
		if err != nil {
			return nil, r.holdFailed(ctx, tid, key, token, err)
		}
		if took == 1 {
			return r.releaser(key, token), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, ErrBusy
		}
		timer.Reset(min(jitter(pause), left))
		select {
		case <-timer.C:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
		}
	}
}

// holdFailed turns a failed try into Hold's error. The try may have taken
// the lease before its reply was lost (ctx ended meanwhile, say), so the
// lease is given back.
func (r *RedisStore) holdFailed(ctx context.Context, tid, key, token string, err error) error {
	r.unlease(key, token)
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
	return fmt.Errorf("session: hold %q: %w", tid, r.mapErr(err))
}

// releaser returns the release of a hold. It may be called more than once
// and after Close; it never fails, since a lease it cannot delete expires.
func (r *RedisStore) releaser(key, token string) func() {
	var once sync.Once
	return func() { once.Do(func() { r.unlease(key, token) }) }
}

func (r *RedisStore) unlease(key, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), redisCallTimeout)
	defer cancel()
	_ = unleaseScript.Run(ctx, r.rdb, []string{key}, token).Err()
}

// jitter returns a pause between d/2 and d, so that waiters polling one
// TID spread out.
func jitter(d time.Duration) time.Duration {
	return d/2 + mathrand.N(d/2+1)
}

// newToken returns a random token that identifies one hold or write.
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Sweep deletes the sessions that expired at or before cutoff, in batches
// of redisSweepBatch read from the expiry index.
func (r *RedisStore) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	ns := unixNanos(cutoff)
	by := &redis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(floorMillis(ns), 10), Count: redisSweepBatch}
	total := 0
	for {
		if err := r.ready(ctx); err != nil {
			return total, err
		}
		tids, err := r.rdb.ZRangeByScore(ctx, r.index, by).Result()
		if err != nil {
			return total, fmt.Errorf("session: sweep: %w", r.mapErr(err))
		}
		deleted, removed, err := r.sweepBatch(ctx, tids, ns)
		total += deleted
		if err != nil || len(tids) < redisSweepBatch {
			return total, err
		}
		// What stays in the index (due in cutoff's last millisecond but
		// after cutoff, or renewed meanwhile) is skipped, not read again.
		by.Offset += int64(len(tids) - removed)
	}
}

// sweepBatch deletes those of tids that are due at cutoff (unix nanos):
// it reads their expiries, then deletes the due ones in one script.
func (r *RedisStore) sweepBatch(ctx context.Context, tids []string, cutoff int64) (deleted, removed int, err error) {
	if len(tids) == 0 {
		return 0, 0, nil
	}
	exps, err := r.expiries(ctx, tids)
	if err != nil {
		return 0, 0, err
	}
	keys := []string{r.index}
	var tidArgs, expArgs []any
	for i, tid := range tids {
		if exp, err := strconv.ParseInt(exps[i], 10, 64); err == nil && exp > cutoff {
			continue
		}
		keys = append(keys, r.sessionKey(tid))
		tidArgs, expArgs = append(tidArgs, tid), append(expArgs, exps[i])
	}
	if len(tidArgs) == 0 {
		return 0, 0, nil
	}
	res, err := sweepScript.Run(ctx, r.rdb, keys, append(tidArgs, expArgs...)...).Int64Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("session: sweep: %w", r.mapErr(err))
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("session: redis sweep script answered %d values", len(res))
	}
	return int(res[0]), int(res[1]), nil
}

// expiries returns the stored expiry (field x) of each of tids; "" for a
// session that is gone (or never expires).
func (r *RedisStore) expiries(ctx context.Context, tids []string) ([]string, error) {
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(tids))
	for i, tid := range tids {
		cmds[i] = pipe.HGet(ctx, r.sessionKey(tid), "x")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("session: sweep: %w", r.mapErr(err))
	}
	exps := make([]string, len(tids))
	for i, c := range cmds {
		exps[i] = c.Val()
	}
	return exps, nil
}

// Stats reports the sessions in the expiry index (which may still count a
// session Redis dropped by itself, until the next Sweep); the byte size is
// unknown (-1), since Redis reports memory for the whole server only. It
// reports -1 sessions when closed or when Redis does not answer.
func (r *RedisStore) Stats() Stats {
	st := Stats{Backend: "redis", Sessions: -1, Bytes: -1}
	if r.closed.Load() {
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), redisCallTimeout)
	defer cancel()
	if n, err := r.rdb.ZCard(ctx, r.index).Result(); err == nil {
		st.Sessions = n
	}
	return st
}

// Close closes the connections; later calls fail with ErrClosed. Closing
// twice is harmless. Holds not yet released expire with their lease.
func (r *RedisStore) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	return r.rdb.Close()
}

// ready reports why an operation must not start: ctx is done or the store
// is closed.
func (r *RedisStore) ready(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.closed.Load() {
		return ErrClosed
	}
	return nil
}

// mapErr marks the error of a client closed meanwhile as ErrClosed.
func (r *RedisStore) mapErr(err error) error {
	if errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

func (r *RedisStore) sessionKey(tid string) string { return r.prefix + "s:" + tid }

func (r *RedisStore) leaseKey(tid string) string { return r.prefix + "l:" + tid }
