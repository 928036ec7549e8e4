-- Current state of each aircraft, derived from its events; same columns and meaning as the
-- embedded projection `aircraft` (projections/src/projector.rs), less its search vector.
-- Shared SQL: runs as a RisingWave materialized view and as a PostgreSQL view (parity tests).
WITH ev AS (
    SELECT aggregateid, sequence, "position", eventtype, recordedat, data FROM klg_aircraft_events
),
registered AS (
    SELECT aggregateid,
           data ->> 'registration_number' AS registration_number,
           data ->> 'aircraft_type' AS aircraft_type,
           data ->> 'serial_number' AS serial_number,
           CAST(data ->> 'year_of_manufacture' AS integer) AS year_of_manufacture,
           recordedat AS registered_at
    FROM ev WHERE eventtype = 'AircraftRegistered'
),
operator_changes AS (
    SELECT aggregateid, data ->> 'operator' AS operator,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype IN ('AircraftRegistered', 'AircraftDetailsUpdated') AND data ->> 'operator' IS NOT NULL
),
model_changes AS (
    SELECT aggregateid, data ->> 'model' AS model,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype IN ('AircraftRegistered', 'AircraftDetailsUpdated') AND data ->> 'model' IS NOT NULL
),
-- A key present with JSON null clears the field; an absent key leaves it.
base_changes AS (
    SELECT aggregateid, data ->> 'base_airport' AS base_airport,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype = 'AircraftDetailsUpdated' AND data -> 'base_airport' IS NOT NULL
),
notes_changes AS (
    SELECT aggregateid, data ->> 'notes' AS notes,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype = 'AircraftDetailsUpdated' AND data -> 'notes' IS NOT NULL
),
status_changes AS (
    SELECT aggregateid,
           CASE eventtype WHEN 'AircraftRegistered' THEN 'active'
                          WHEN 'ReleasedToService' THEN 'active'
                          WHEN 'AircraftDecommissioned' THEN 'decommissioned'
                          ELSE data ->> 'to' END AS status,
           CASE eventtype WHEN 'AircraftRegistered' THEN NULL
                          WHEN 'ReleasedToService' THEN 'Released to service: ' || (data ->> 'work_order')
                          ELSE data ->> 'reason' END AS status_reason,
           recordedat AS status_changed_at,
           CASE WHEN eventtype = 'AircraftDecommissioned' THEN recordedat END AS decommissioned_at,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype IN ('AircraftRegistered', 'AircraftStatusChanged', 'ReleasedToService',
                                'AircraftDecommissioned')
),
-- The certificate shown is the one reaching furthest; of equals, the one issued last.
certificates AS (
    SELECT aggregateid,
           data ->> 'number' AS certificate_number,
           CAST(data ->> 'issued_on' AS date) AS certificate_issued_on,
           CAST(data ->> 'valid_until' AS date) AS certificate_valid_until,
           ROW_NUMBER() OVER (PARTITION BY aggregateid
                              ORDER BY CAST(data ->> 'valid_until' AS date) DESC, sequence DESC) AS rn
    FROM ev WHERE eventtype = 'AirworthinessCertificateIssued'
),
flights AS (
    SELECT aggregateid,
           CAST(sum(CAST(data ->> 'block_minutes' AS bigint)) AS bigint) AS total_block_minutes,
           CAST(sum(CAST(data ->> 'cycles' AS bigint)) AS bigint) AS total_cycles,
           count(*) AS flight_count,
           max(CAST(data ->> 'flight_date' AS date)) AS last_flight_date
    FROM ev WHERE eventtype = 'FlightLogged' GROUP BY aggregateid
),
heads AS (
    SELECT aggregateid, sequence, "position", recordedat,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev
)
SELECT r.aggregateid AS id,
       r.registration_number,
       r.aircraft_type,
       m.model,
       r.serial_number,
       o.operator,
       r.year_of_manufacture,
       b.base_airport,
       n.notes,
       s.status,
       s.status_reason,
       s.status_changed_at,
       c.certificate_number,
       c.certificate_issued_on,
       c.certificate_valid_until,
       coalesce(f.total_block_minutes, 0) AS total_block_minutes,
       coalesce(f.total_cycles, 0) AS total_cycles,
       coalesce(f.flight_count, 0) AS flight_count,
       f.last_flight_date,
       h.sequence AS version,
       h."position" AS last_position,
       r.registered_at,
       h.recordedat AS updated_at,
       s.decommissioned_at
FROM registered r
JOIN heads h ON h.aggregateid = r.aggregateid AND h.rn = 1
JOIN status_changes s ON s.aggregateid = r.aggregateid AND s.rn = 1
JOIN operator_changes o ON o.aggregateid = r.aggregateid AND o.rn = 1
JOIN model_changes m ON m.aggregateid = r.aggregateid AND m.rn = 1
LEFT JOIN base_changes b ON b.aggregateid = r.aggregateid AND b.rn = 1
LEFT JOIN notes_changes n ON n.aggregateid = r.aggregateid AND n.rn = 1
LEFT JOIN certificates c ON c.aggregateid = r.aggregateid AND c.rn = 1
LEFT JOIN flights f ON f.aggregateid = r.aggregateid
