-- 0002: the webhook outbox. An event is written in the transaction that
-- changes the payment's status it announces, and sent until its merchant
-- acknowledges it. As in 0001, data is the JSON of payment.Event and the
-- columns beside it are copies of its fields, written in the same statement,
-- so that they can be indexed; times to the microsecond (data has the
-- nanoseconds).
CREATE TABLE events (
    id         text COLLATE "C" PRIMARY KEY,  -- msg_…, the webhook-id
    cp_id      text COLLATE "C" NOT NULL,
    tid        text COLLATE "C" NOT NULL,
    status     text COLLATE "C" NOT NULL,     -- PENDING, DELIVERED, FAILED
    next_at    timestamptz NOT NULL,          -- when a PENDING event is due
    created_at timestamptz NOT NULL,
    data       jsonb NOT NULL
);

-- DueEvents: the PENDING events by NextAt, the dispatchers' work list.
CREATE INDEX events_due ON events (status, next_at, id);

-- The operators' listings: the events of a payment, of a merchant.
CREATE INDEX events_by_tid ON events (tid);
CREATE INDEX events_by_cp ON events (cp_id, created_at);
