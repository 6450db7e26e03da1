-- Referral Desk: inbox, conversation log, outbox and referral load (SQLite).
-- Times are unix milliseconds (UTC) in both backends, so the SQL is shared.

CREATE TABLE inbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id   TEXT    NOT NULL UNIQUE,          -- channel-prefixed, e.g. "web:..." or "slack:Ev..."
    channel       TEXT    NOT NULL,
    conversation  TEXT    NOT NULL,                 -- where to reply (channel's conversation reference)
    asker_key     TEXT    NOT NULL,                 -- pseudonymous key, never the raw user id
    department    TEXT,
    text          TEXT,                             -- the question until processed, then NULL
    context       TEXT    NOT NULL DEFAULT '{}',    -- channel reply context (JSON)
    status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    received_ms   INTEGER NOT NULL,
    lease_until_ms INTEGER,
    completed_ms  INTEGER,
    reply         TEXT                              -- the reply model (JSON) once processed
);
CREATE INDEX inbox_pending ON inbox (status, id);

CREATE TABLE conversations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    inbox_id      INTEGER NOT NULL UNIQUE REFERENCES inbox (id),
    received_ms   INTEGER NOT NULL,
    channel       TEXT    NOT NULL,
    asker_key     TEXT    NOT NULL,
    department    TEXT,
    language      TEXT    NOT NULL,
    question      TEXT,                             -- redacted; NULL when not stored or past retention
    intent        TEXT,
    confidence    REAL    NOT NULL,
    decision      TEXT    NOT NULL,
    route         TEXT    NOT NULL DEFAULT '{}',    -- JSON: specialist, knowledge and desk ids
    latency_us    INTEGER NOT NULL,
    feedback      TEXT CHECK (feedback IN ('helpful', 'not_helpful')),
    feedback_ms   INTEGER,
    handoff       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_received ON conversations (received_ms);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL UNIQUE REFERENCES conversations (id),
    channel         TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT,
    sent_ms         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_ms);

CREATE TABLE specialist_load (
    specialist_id    TEXT    PRIMARY KEY,
    referrals        INTEGER NOT NULL DEFAULT 0,
    last_referred_ms INTEGER NOT NULL DEFAULT 0
);
