-- Issue 14: demo data never mixes with real conversations. Every row `seed-demo` writes carries
-- `demo = 1`; nothing else ever sets it (the pipeline's statements do not name the column, so
-- real rows keep the default 0). Reports count real rows only unless asked to include demo
-- data, and `seed-demo --remove` deletes exactly the rows marked here.

ALTER TABLE inbox ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN demo INTEGER NOT NULL DEFAULT 0;

-- Rows seeded before this version: the generator always gave them delivery ids `seed:<seed>:<n>`
-- (the server's are channel-prefixed: `web:`, `slack:`, `teams:`), so they can be told apart.
UPDATE inbox SET demo = 1 WHERE delivery_id >= 'seed:' AND delivery_id < 'seed;';
UPDATE conversations SET demo = 1
    WHERE inbox_id IN (SELECT id FROM inbox WHERE delivery_id >= 'seed:' AND delivery_id < 'seed;');

-- The report scan reads real rows (demo = 0) or demo rows (demo = 1) of a range, never both in
-- one statement: `demo` leads the covering index, so either is one index range and the check
-- "does this database hold real conversations" is one index probe.
DROP INDEX conversations_report;
CREATE INDEX conversations_report ON conversations
    (demo, received_ms, channel, asker_key, department, intent, outcome, specialist, feedback, handoff, confidence);

-- Published tables are kept per month and per kind of rows: `demo = 0` the real conversations
-- (what every report shows), `demo = 1` the demo rows only (added in by reports that ask for
-- demo data, deleted by `seed-demo --remove`). A table published before this version that
-- counted seeded rows is neither, so it is dropped and published again from the marked rows;
-- the difference between the two versions is the synthetic rows.
CREATE TABLE report_releases_by_kind (
    month        TEXT    NOT NULL,           -- 2026-10
    demo         INTEGER NOT NULL DEFAULT 0,
    released_ms  BIGINT  NOT NULL,
    body         TEXT    NOT NULL,
    PRIMARY KEY (month, demo)
);
INSERT INTO report_releases_by_kind (month, demo, released_ms, body)
    SELECT month, 0, released_ms, body FROM report_releases r
    WHERE NOT EXISTS (SELECT 1 FROM conversations c WHERE c.demo = 1
        AND c.received_ms >= CAST(strftime('%s', r.month || '-01') AS INTEGER) * 1000
        AND c.received_ms < CAST(strftime('%s', r.month || '-01', '+1 month') AS INTEGER) * 1000);
DROP TABLE report_releases;
ALTER TABLE report_releases_by_kind RENAME TO report_releases;

-- The generator used to add its referrals to the referral load (the rotation of real
-- questions); it no longer writes there, and what it added before is taken out again.
UPDATE specialist_load SET referrals = MAX(0, specialist_load.referrals - d.n)
    FROM (SELECT specialist, COUNT(*) AS n FROM conversations
          WHERE demo = 1 AND specialist IS NOT NULL GROUP BY specialist) AS d
    WHERE d.specialist = specialist_load.specialist_id;
