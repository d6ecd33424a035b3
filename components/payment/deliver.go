package payment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// DefaultWebhookSchedule is the wait after each failed attempt at a webhook
// event: nine attempts in all over 71 hours and a half, about three days.
var DefaultWebhookSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 24 * time.Hour, 30 * time.Hour,
}

const (
	// webhookTimeout bounds one attempt, the merchant's answer included.
	webhookTimeout = 10 * time.Second
	// webhookClaim is how far a sender moves an event's NextAt while it
	// sends: past the attempt's timeout, so that no other sender takes
	// the same attempt. A sender that dies leaves the event due again
	// that much later.
	webhookClaim = time.Minute
	// webhookBatch events at most are taken by one DeliverWebhooks call,
	// and sent by webhookSenders at a time.
	webhookBatch   = 100
	webhookSenders = 8
	// webhookRead is how much of an answer is read (and dropped), so that
	// the connection can be used again.
	webhookRead = 64 << 10
)

// errStopped is the outcome of an attempt cut short by the caller: it is
// not held against the merchant.
var errStopped = errors.New("delivery stopped")

// DeliverWebhooks sends every webhook event that is due (up to a batch of
// 100), eight at a time, each with a 10 s timeout, and records the
// outcomes: a 2xx answer delivers the event; any other answer, a redirect
// or an error schedules the next attempt (WebhookSchedule), or after the
// last one marks the event FAILED. It returns how many events were
// delivered and how many attempts failed.
//
// Several servers may run it at once: each event's attempt is claimed in a
// transaction before it is sent, so no two send the same attempt at once.
// A nil client means http.DefaultClient. Redirects are never followed.
func (s *Service) DeliverWebhooks(ctx context.Context, client *http.Client) (delivered, failed int, err error) {
	due, err := s.opts.Store.DueEvents(ctx, s.now(), webhookBatch)
	if err != nil {
		return 0, 0, err
	}
	client = withoutRedirects(client)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	sem := make(chan struct{}, webhookSenders)
	for _, e := range due {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, tried, err := s.deliver(ctx, client, e.ID)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("event %s: %w", e.ID, err))
			case ok:
				delivered++
			case tried:
				failed++
			}
		})
	}
	wg.Wait()
	return delivered, failed, errors.Join(errs...)
}

func withoutRedirects(c *http.Client) *http.Client {
	if c == nil {
		c = http.DefaultClient
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cc
}

// deliver makes one attempt at event id if it is still due: ok reports a
// 2xx answer, tried that an attempt was made.
func (s *Service) deliver(ctx context.Context, client *http.Client, id string) (ok, tried bool, err error) {
	c, err := s.claim(ctx, id)
	if err != nil || c == nil {
		return false, false, err
	}
	failure := s.attempt(ctx, client, c)
	if failure != nil && ctx.Err() != nil {
		failure = errStopped
	}
	e, err := s.record(ctx, c, failure)
	if err != nil {
		return false, true, err
	}
	s.logAttempt(c, e, failure)
	return failure == nil, failure != errStopped, nil
}

// claimed is an attempt a sender has claimed, and where it goes.
type claimed struct {
	event       Event // as claimed: NextAt is the claim's
	url, secret string
}

// claim takes event id's due attempt: it moves NextAt webhookClaim ahead,
// and reads where to send. It returns nil if the event is not due any more
// (another sender took it, or it was delivered).
func (s *Service) claim(ctx context.Context, id string) (*claimed, error) {
	var c *claimed
	err := s.update(ctx, func(tx Tx) error {
		c = nil
		e, err := tx.Event(id)
		if err != nil {
			return err
		}
		now := s.now()
		if e.Status != EventPending || e.NextAt.After(now) {
			return nil
		}
		e.NextAt = now.Add(webhookClaim)
		if err := tx.PutEvent(e); err != nil {
			return err
		}
		c = &claimed{event: *e}
		m, err := tx.Merchant(e.CPID)
		if err == nil {
			c.url, c.secret = m.WebhookURL, m.WebhookSecret
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		return nil
	})
	return c, err
}

// attempt POSTs the event, signed: nil if the merchant answered 2xx.
func (s *Service) attempt(ctx context.Context, client *http.Client, c *claimed) error {
	if c.url == "" {
		return errors.New("the merchant has no webhook URL")
	}
	if err := checkWebhookURL(c.url); err != nil {
		return err // never sent anywhere but http or https
	}
	ts := s.now().Unix()
	sig, err := sign(c.secret, c.event.ID, ts, c.event.Body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.event.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "TUNA-Webhooks/1")
	req.Header.Set("webhook-id", c.event.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		return withoutURL(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, webhookRead))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// withoutURL drops the URL net/http puts in its errors: a merchant's URL
// may carry a token in its query.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// record writes an attempt's outcome, unless the event changed since the
// claim (it was resent meanwhile: the new attempt is the resender's). It
// returns the event as recorded, or nil.
func (s *Service) record(ctx context.Context, c *claimed, failure error) (*Event, error) {
	var out *Event
	err := s.update(ctx, func(tx Tx) error {
		out = nil
		e, err := tx.Event(c.event.ID)
		if err != nil {
			return err
		}
		if e.Status != EventPending || !e.NextAt.Equal(c.event.NextAt) {
			return nil
		}
		s.outcome(e, failure)
		out = e
		return tx.PutEvent(e)
	})
	return out, err
}

// outcome applies an attempt's outcome to e.
func (s *Service) outcome(e *Event, failure error) {
	now := s.now()
	switch {
	case failure == errStopped:
		e.NextAt = now // not an attempt: due again at once
	case failure == nil:
		e.Attempts++
		e.Status, e.DeliveredAt, e.LastError = EventDelivered, now, ""
	default:
		e.Attempts++
		e.LastError = truncate(failure.Error(), 200)
		if e.Attempts > len(s.opts.WebhookSchedule) {
			e.Status = EventFailed
		} else {
			e.NextAt = now.Add(jitter(s.opts.WebhookSchedule[e.Attempts-1]))
		}
	}
}

// jitter spreads d by ±10%, so that events that failed together are not
// all retried at the same instant.
func jitter(d time.Duration) time.Duration {
	if d < 10 {
		return d
	}
	return d - d/10 + rand.N(d/5)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// logAttempt logs an attempt by the event's id, never its body or the
// merchant's secret.
func (s *Service) logAttempt(c *claimed, e *Event, failure error) {
	fields := []zap.Field{zap.String("event", c.event.ID), zap.String("type", c.event.Type),
		zap.String("tid", c.event.TID), zap.String("cp_id", c.event.CPID)}
	switch {
	case failure == nil:
		s.log.Debug("webhook delivered", fields...)
	case failure == errStopped:
	case e != nil && e.Status == EventFailed:
		s.log.Warn("webhook failed for good: every attempt failed", append(fields, zap.Int("attempts", e.Attempts),
			zap.String("error", e.LastError))...)
	default:
		s.log.Info("webhook attempt failed; it is tried again later", append(fields, zap.String("error", failure.Error()))...)
	}
}

// RunWebhooks delivers webhook events until ctx ends: a pass at once, then
// one every so often, and the next at once after a pass that found a full
// batch. Each server may run it; see DeliverWebhooks.
func RunWebhooks(ctx context.Context, svc *Service, every time.Duration, log *zap.Logger) {
	if log == nil {
		log = zap.NewNop()
	}
	if every <= 0 {
		every = time.Second
	}
	client := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer client.CloseIdleConnections()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		delivered, failed, err := svc.DeliverWebhooks(ctx, client)
		if err != nil && ctx.Err() == nil {
			log.Warn("webhook delivery pass failed", zap.Error(err))
		}
		if delivered+failed >= webhookBatch && ctx.Err() == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
