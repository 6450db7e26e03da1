-- Issue 15: the referral load equals the log, and a reply whose earlier attempt may have
-- reached the platform is checked before it is sent again.

-- A referral counts when, and only when, its log row is written: a repeated delivery, a
-- retried worker, a failed transaction or a replica that lost the race records nothing (the
-- application stamps only when a specialist was last chosen, for the rotation). Demo rows
-- never count (seed-demo).
CREATE FUNCTION count_referral() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO specialist_load (specialist_id, referrals) VALUES (NEW.specialist, 1)
        ON CONFLICT (specialist_id) DO UPDATE SET referrals = specialist_load.referrals + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER conversations_count_referral AFTER INSERT ON conversations
    FOR EACH ROW WHEN (NEW.specialist IS NOT NULL AND NEW.demo = 0)
    EXECUTE FUNCTION count_referral();

-- The load counted so far is made to agree with the log.
UPDATE specialist_load SET referrals = (SELECT COUNT(*) FROM conversations c
    WHERE c.specialist = specialist_load.specialist_id AND c.demo = 0);

-- 1 when an earlier attempt may have reached the platform (a crash or a timeout after the
-- request went out): the sender looks for it before posting again.
ALTER TABLE outbox ADD COLUMN unsure INTEGER NOT NULL DEFAULT 0;
