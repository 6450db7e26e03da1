-- Issue 15: a crashed replica's leases must not make its items wait out the lease. Every
-- process names itself in the leases it takes and writes a heartbeat every second; a lease
-- whose owner has written none for 5 seconds (it crashed, or stopped and removed its row) can
-- be claimed at once by another replica or by the restarted process.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    heartbeat_ms BIGINT NOT NULL
);
ALTER TABLE inbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
