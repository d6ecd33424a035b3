package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tunapay/tuna/components/payment"
)

var events = newTable("events", "id") // its put is sqlPutEvent's

const (
	sqlPutEvent = `INSERT INTO events (id, cp_id, tid, status, next_at, created_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO UPDATE SET cp_id = EXCLUDED.cp_id, tid = EXCLUDED.tid, status = EXCLUDED.status,
			next_at = EXCLUDED.next_at, created_at = EXCLUDED.created_at, data = EXCLUDED.data`
	// sqlDueEvents walks the events_due index. A NULL limit is none.
	sqlDueEvents = `SELECT data FROM events WHERE status = 'PENDING' AND next_at <= $1
		ORDER BY next_at, id LIMIT $2`
)

func (t *tx) Event(id string) (*payment.Event, error) {
	var e payment.Event
	if err := found(t.get(events, id, &e)); err != nil {
		return nil, fmt.Errorf("pgstore: event %q: %w", id, err)
	}
	return &e, nil
}

// PutEvent stores e and its index columns.
func (t *tx) PutEvent(e *payment.Event) error {
	if e == nil || e.ID == "" {
		return fmt.Errorf("pgstore: put event: empty id: %w", ErrInvalidKey)
	}
	if err := t.putEvent(e); err != nil {
		return fmt.Errorf("pgstore: put event %q: %w", e.ID, err)
	}
	return nil
}

func (t *tx) putEvent(e *payment.Event) error {
	if !validKey(e.ID, e.CPID, e.TID, string(e.Status)) {
		return ErrInvalidKey
	}
	data, err := encode(e)
	if err != nil {
		return err
	}
	return t.upsert(events.kind, e.ID, sqlPutEvent, e.ID, e.CPID, e.TID, string(e.Status), e.NextAt, e.CreatedAt, data)
}

// DueEvents lists the PENDING events due at now. The columns keep times to
// the microsecond, so the rows are checked and ordered again by the
// nanosecond times of their data.
func (s *Store) DueEvents(ctx context.Context, now time.Time, limit int) ([]payment.Event, error) {
	var lim any
	if limit > 0 {
		lim = limit
	}
	out, err := list(ctx, s, "due events", sqlDueEvents, pgx.RowTo[payment.Event], now, lim)
	if err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(e payment.Event) bool { return e.NextAt.After(now) })
	slices.SortStableFunc(out, func(a, b payment.Event) int {
		return cmp.Or(a.NextAt.Compare(b.NextAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Events lists the events f selects, newest first. The query names only
// the columns f sets, so that each can use its index.
func (s *Store) Events(ctx context.Context, f payment.EventFilter) ([]payment.Event, error) {
	if !validKey(string(f.Status), f.CPID, f.TID) {
		return []payment.Event{}, nil // no event can have it
	}
	q, args := eventsQuery(f)
	out, err := list(ctx, s, "events", q, pgx.RowTo[payment.Event], args...)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b payment.Event) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}

func eventsQuery(f payment.EventFilter) (string, []any) {
	var where []string
	var args []any
	for _, c := range []struct{ col, v string }{{"status", string(f.Status)}, {"cp_id", f.CPID}, {"tid", f.TID}} {
		if c.v != "" {
			args = append(args, c.v)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
		}
	}
	q := "SELECT data FROM events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	return q, args
}
