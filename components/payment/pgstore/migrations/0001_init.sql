-- 0001: the payment store. One PostgreSQL schema holds one store: names here
-- are unqualified and found through the connection's search_path, which
-- pgstore sets to the store's schema.
--
-- Rows are the JSON of the payment package's types (jsonb), decoded anew on
-- every read. The key columns beside it are copies of JSON fields, written
-- in the same statement, so that they can be indexed. Keys use the "C"
-- collation: listings sort by bytes, as the embedded store's keys do, on
-- any database's default collation.

-- The ledger, keyed by TID.
CREATE TABLE payments (
    tid        text COLLATE "C" PRIMARY KEY,
    cp_id      text COLLATE "C" NOT NULL,
    order_id   text COLLATE "C" NOT NULL,  -- '' when none: never looked up
    created_at timestamptz NOT NULL,       -- to the microsecond, as PostgreSQL keeps it
    created_ns smallint NOT NULL,          -- 0-999: the nanoseconds of CreatedAt below created_at
    unresolved boolean NOT NULL,           -- Payment.Unresolved(), kept by every write
    data       jsonb NOT NULL
);

-- PaymentByOrder: of the payments of a merchant's order id, the one created
-- last (ties: the greatest TID).
CREATE INDEX payments_by_order ON payments
    (cp_id, order_id, created_at DESC, created_ns DESC, tid DESC)
    WHERE order_id <> '';

-- Unresolved: recovery's work list, small beside the ledger.
CREATE INDEX payments_unresolved ON payments (tid) WHERE unresolved;

-- Monthly limit use per phone number. An Update that reads a limit no one
-- has used yet inserts a placeholder row (stored false) to lock it; the
-- store shows a placeholder as a zero Limit and does not list it.
CREATE TABLE limits (
    month  text COLLATE "C" NOT NULL,  -- YYYY-MM, Asia/Seoul
    phone  text COLLATE "C" NOT NULL,
    used   bigint NOT NULL DEFAULT 0,
    held   bigint NOT NULL DEFAULT 0,
    stored boolean NOT NULL DEFAULT false,
    PRIMARY KEY (month, phone)
);

CREATE TABLE merchants (
    id   text COLLATE "C" PRIMARY KEY,
    data jsonb NOT NULL
);

CREATE TABLE otps (
    tid  text COLLATE "C" PRIMARY KEY,
    data jsonb NOT NULL
);

-- Named leases between servers, timed by the database's clock.
CREATE TABLE leases (
    name   text COLLATE "C" PRIMARY KEY,
    holder text COLLATE "C" NOT NULL,
    until  timestamptz NOT NULL
);
