-- Demand reports are views of one published table per month, stored here once and never
-- revised (see src/analytics/release.rs): `body` is the table as JSON, hidden figures without
-- their values.
CREATE TABLE report_releases (
    month        TEXT    PRIMARY KEY,        -- 2026-10
    released_ms  BIGINT  NOT NULL,
    body         TEXT    NOT NULL
);

-- The report scan counts all web chat sessions as one asker, so it reads the channel too:
-- the covering index gains it (the scan still never touches the question texts).
DROP INDEX conversations_report;
CREATE INDEX conversations_report ON conversations
    (received_ms, channel, asker_key, department, intent, outcome, specialist, feedback, handoff, confidence);
