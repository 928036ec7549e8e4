-- Airworthiness directives on each aircraft's record, derived from its events; same columns and
-- meaning as the embedded projection `aircraft_directives` (projections/src/projector.rs): the
-- current assessment of each directive, the last compliance since it, and the next due (the
-- compliance's if there is one, else the assessment's). Remaining days/hours/cycles are derived
-- when read, as in the embedded store.
-- Shared SQL: runs as a RisingWave materialized view and as a PostgreSQL view (parity tests).
WITH ev AS (
    SELECT aggregateid, sequence, "position", eventtype, recordedat, data FROM klg_aircraft_events
    WHERE eventtype IN ('DirectiveApplicabilityRecorded', 'DirectiveComplied')
),
assessments AS (
    SELECT aggregateid, data ->> 'number' AS number, sequence, "position", recordedat, data,
           ROW_NUMBER() OVER (PARTITION BY aggregateid, data ->> 'number' ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype = 'DirectiveApplicabilityRecorded'
),
current_assessment AS (
    SELECT aggregateid, number, sequence, "position", recordedat, data FROM assessments WHERE rn = 1
),
-- A new assessment starts compliance afresh: only compliances after it count.
compliances AS (
    SELECT c.aggregateid, c.number, c.sequence, c."position", c.recordedat, c.data,
           ROW_NUMBER() OVER (PARTITION BY c.aggregateid, c.number ORDER BY c.sequence DESC) AS rn
    FROM (SELECT aggregateid, data ->> 'number' AS number, sequence, "position", recordedat, data
          FROM ev WHERE eventtype = 'DirectiveComplied') c
    JOIN current_assessment a ON a.aggregateid = c.aggregateid AND a.number = c.number
    WHERE c.sequence > a.sequence
)
SELECT a.aggregateid AS aircraft_id,
       a.number,
       a.data ->> 'revision' AS revision,
       a.data ->> 'document_id' AS document_id,
       CAST(a.data ->> 'applicable' AS boolean) AS applicable,
       a.data ->> 'reason' AS not_applicable_reason,
       CAST(a.data -> 'comply_within' ->> 'days' AS integer) AS comply_within_days,
       CAST(a.data -> 'comply_within' ->> 'hours' AS integer) AS comply_within_hours,
       CAST(a.data -> 'comply_within' ->> 'cycles' AS integer) AS comply_within_cycles,
       a.recordedat AS assessed_at,
       CASE WHEN NOT CAST(a.data ->> 'applicable' AS boolean) THEN 'not_applicable'
            WHEN c.aggregateid IS NULL THEN 'open'
            WHEN c.data -> 'next_due' ->> 'on' IS NULL AND c.data -> 'next_due' ->> 'block_minutes' IS NULL
                 AND c.data -> 'next_due' ->> 'cycles' IS NULL THEN 'complied'
            ELSE 'recurring' END AS status,
       c.data ->> 'method' AS method,
       CAST(c.data ->> 'done_on' AS date) AS done_on,
       CAST(c.data ->> 'block_minutes_at' AS bigint) AS block_minutes_at,
       CAST(c.data ->> 'cycles_at' AS bigint) AS cycles_at,
       c.data ->> 'performed_by' AS performed_by,
       c.data ->> 'work_order' AS work_order,
       CAST(c.data -> 'interval' ->> 'days' AS integer) AS interval_days,
       CAST(c.data -> 'interval' ->> 'hours' AS integer) AS interval_hours,
       CAST(c.data -> 'interval' ->> 'cycles' AS integer) AS interval_cycles,
       c.recordedat AS complied_at,
       CAST(CASE WHEN c.aggregateid IS NULL THEN a.data -> 'next_due' ->> 'on'
                 ELSE c.data -> 'next_due' ->> 'on' END AS date) AS next_due_on,
       CAST(CASE WHEN c.aggregateid IS NULL THEN a.data -> 'next_due' ->> 'block_minutes'
                 ELSE c.data -> 'next_due' ->> 'block_minutes' END AS bigint) AS next_due_block_minutes,
       CAST(CASE WHEN c.aggregateid IS NULL THEN a.data -> 'next_due' ->> 'cycles'
                 ELSE c.data -> 'next_due' ->> 'cycles' END AS bigint) AS next_due_cycles,
       CASE WHEN c.aggregateid IS NULL THEN a.sequence ELSE c.sequence END AS version,
       CASE WHEN c.aggregateid IS NULL THEN a."position" ELSE c."position" END AS last_position
FROM current_assessment a
LEFT JOIN compliances c ON c.aggregateid = a.aggregateid AND c.number = a.number AND c.rn = 1
