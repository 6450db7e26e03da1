-- Demand reports: where each question ended up and who it was referred to, as plain columns
-- (derived from decision and route when the row is logged), and a covering index so a report
-- over a range reads the index only, never the question texts.

ALTER TABLE conversations ADD COLUMN outcome TEXT;
ALTER TABLE conversations ADD COLUMN specialist TEXT;

UPDATE conversations SET
    outcome = CASE
        WHEN decision <> 'routed' THEN decision
        WHEN json_array_length(route::json -> 'specialists') > 0 THEN 'specialist'
        WHEN json_array_length(route::json -> 'knowledge') > 0 THEN 'knowledge'
        ELSE 'desk'
    END,
    specialist = CASE WHEN decision = 'routed' THEN route::json -> 'specialists' ->> 0 END;

CREATE INDEX conversations_report ON conversations
    (received_ms, asker_key, department, intent, outcome, specialist, feedback, handoff, confidence);
