-- History rows cost less to write (docs/benchmarks.md, session 7): every event becomes one, in
-- the live projector's batches and in a rebuild, where the history insert was most of a batch's
-- time.
-- - `payload` is kept as `json`, the event's text as stored, instead of being parsed into
--   `jsonb` (≈ 40 % of an 8,000-row insert); the embedded statistics view still reads two
--   fields of a flight's payload, with the json operators.
-- - The unique key on `event_id` goes: the primary key (global position) already holds one row
--   per event, and nothing looks history up by event id; it was one more index per row.

-- Wait for a running projector batch to commit and keep the next one out until this migration
-- commits (every batch locks this row first).
SELECT 1 FROM subscription_checkpoints WHERE name = 'projections' FOR UPDATE;

ALTER TABLE aircraft_history DROP CONSTRAINT aircraft_history_event_id_key;
ALTER TABLE inbox_history DROP CONSTRAINT inbox_history_event_id_key;

DROP VIEW fleet_utilization_daily;
ALTER TABLE aircraft_history ALTER COLUMN payload TYPE json USING payload::json;
ALTER TABLE inbox_history ALTER COLUMN payload TYPE json USING payload::json;

-- As in 0003_statistics.sql.
CREATE VIEW fleet_utilization_daily AS
WITH flights AS (
    SELECT h.aircraft_id,
           a.registration_number,
           date_bin('1 day', h.recorded_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS day,
           (h.payload -> 'FlightLogged' ->> 'block_minutes')::bigint AS block_minutes,
           (h.payload -> 'FlightLogged' ->> 'cycles')::bigint AS cycles
    FROM aircraft_history h
    JOIN aircraft a ON a.id = h.aircraft_id
    WHERE h.event_type = 'FlightLogged'
),
days AS (
    SELECT DISTINCT aircraft_id, registration_number, day + make_interval(days => k) AS day
    FROM flights, generate_series(0, 6) AS k
)
SELECT d.aircraft_id,
       d.registration_number,
       d.day AS window_start,
       d.day + INTERVAL '1 day' AS window_end,
       coalesce(sum(f.block_minutes) FILTER (WHERE f.day = d.day), 0)::bigint AS block_minutes,
       coalesce(sum(f.cycles) FILTER (WHERE f.day = d.day), 0)::bigint AS cycles,
       sum(f.block_minutes)::bigint AS rolling_7d_block_minutes,
       sum(f.cycles)::bigint AS rolling_7d_cycles
FROM days d
JOIN flights f ON f.aircraft_id = d.aircraft_id AND f.day > d.day - INTERVAL '7 days' AND f.day <= d.day
GROUP BY d.aircraft_id, d.registration_number, d.day;

-- Per hour and document type (the document's latest classification, 'unclassified' if none):
