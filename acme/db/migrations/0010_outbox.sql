-- 0010: the transactional outbox (docs/decisions/0056-outbox.md). An event that announces a
-- change is inserted here in the transaction that makes the change; it is published after
-- the commit, by the writer or, if that fails or the writer dies, by the relay.

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        text NOT NULL UNIQUE,
    event_type      text NOT NULL,
    -- the event as it goes on the wire: binary-mode headers and the JSON body
    headers         jsonb NOT NULL,
    body            bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz,
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0)
);

CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;
