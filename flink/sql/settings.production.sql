-- Settings of the production submission: flink/submit.sh (the compose one-shot `flink-jobs`)
-- reads this file first, and KlgSqlRunner creates the jobs' environment with these settings.

-- Where the jobs go: the session cluster's JobManager (REST API), from the environment.
SET 'execution.target' = 'remote';
SET 'rest.address' = '${FLINK_JOBMANAGER_HOST}';
SET 'rest.port' = '${FLINK_JOBMANAGER_PORT}';

-- Windows are UTC hours and days, whatever the time zone of the machine that submits.
SET 'table.local-time-zone' = 'UTC';

-- The mirror topics have 3 partitions keyed by aggregate: with a small fleet (or a quiet inbox)
-- a partition can stay empty for long, and the watermark, the minimum over the partitions,
-- would never advance and no window would ever close. A partition without events for 10 s
-- stops counting until it has events again.
SET 'table.exec.source.idle-timeout' = '10 s';

-- One slot per job: the three jobs fit the TaskManager's slots.
SET 'parallelism.default' = '1';

-- A failed job (a broker outage, a lost TaskManager) restarts after 1 s, then after delays
-- growing up to 1 min, for as long as it keeps failing, instead of failing for good (Flink's
-- default without checkpoints). Checkpointing stays off: without checkpoint storage shared by
-- the JobManager and the TaskManagers, state would be kept in the JobManager's memory, at most
-- 5 MB per state, which the per-document state of inbox_intake_hourly grows past as documents
-- accumulate. A restarted job re-reads its topics from the earliest offset and recomputes every
-- window; the upsert sinks take the same rows again.
SET 'restart-strategy.type' = 'exponential-delay';
SET 'restart-strategy.exponential-delay.initial-backoff' = '1 s';
SET 'restart-strategy.exponential-delay.max-backoff' = '1 min';
