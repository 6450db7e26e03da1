-- Issue 15: leases name their owner, as on PostgreSQL (where a replica's heartbeat frees a
-- crashed replica's leases at once). A SQLite file has one process, which releases every
-- lease when it starts, so here the owner only tells which run took it.
ALTER TABLE inbox ADD COLUMN lease_owner TEXT;
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
