-- Issue 13: no copy of a question and no raw platform id outlives what a pending reply needs.
-- From this version a finished or given-up inbox item keeps neither its text nor where to
-- reply nor the channel context (Slack/Teams ids, the web session), and a stored reply quotes
-- no question. Rows written before it are brought in line: their stored replies could quote a
-- question, so they are dropped (a repeat of such an old delivery is answered again, unlogged).

UPDATE inbox SET text = NULL, conversation = '', context = '{}',
    last_error = CASE WHEN status = 'done' THEN NULL ELSE last_error END
    WHERE status IN ('done', 'failed');
UPDATE inbox SET reply = NULL WHERE reply IS NOT NULL;
UPDATE outbox SET payload = '{}' WHERE status IN ('sent', 'failed') AND payload <> '{}';

-- Retention clears stored replies by age; this finds the few still kept without a full scan.
CREATE INDEX inbox_kept_replies ON inbox (received_ms) WHERE reply IS NOT NULL;
