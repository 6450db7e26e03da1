-- Referral Desk: inbox, conversation log, outbox and referral load (PostgreSQL).
-- Times are unix milliseconds (UTC) in both backends, so the SQL is shared.

CREATE TABLE inbox (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id    TEXT    NOT NULL UNIQUE,
    channel        TEXT    NOT NULL,
    conversation   TEXT    NOT NULL,
    asker_key      TEXT    NOT NULL,
    department     TEXT,
    text           TEXT,
    context        TEXT    NOT NULL DEFAULT '{}',
    status         TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    received_ms    BIGINT  NOT NULL,
    lease_until_ms BIGINT,
    completed_ms   BIGINT,
    reply          TEXT
);
CREATE INDEX inbox_pending ON inbox (status, id);

CREATE TABLE conversations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inbox_id     BIGINT  NOT NULL UNIQUE REFERENCES inbox (id),
    received_ms  BIGINT  NOT NULL,
    channel      TEXT    NOT NULL,
    asker_key    TEXT    NOT NULL,
    department   TEXT,
    language     TEXT    NOT NULL,
    question     TEXT,
    intent       TEXT,
    confidence   REAL    NOT NULL,
    decision     TEXT    NOT NULL,
    route        TEXT    NOT NULL DEFAULT '{}',
    latency_us   BIGINT  NOT NULL,
    feedback     TEXT CHECK (feedback IN ('helpful', 'not_helpful')),
    feedback_ms  BIGINT,
    handoff      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_received ON conversations (received_ms);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id BIGINT  NOT NULL UNIQUE REFERENCES conversations (id),
    channel         TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT  NOT NULL,
    last_error      TEXT,
    sent_ms         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_ms);

CREATE TABLE specialist_load (
    specialist_id    TEXT   PRIMARY KEY,
    referrals        BIGINT NOT NULL DEFAULT 0,
    last_referred_ms BIGINT NOT NULL DEFAULT 0
);
