-- Windowed statistics, embedded mode: computed by PostgreSQL from the projections, with the
-- same names and columns as the Flink jobs' results (flink/sql/jobs/), so the same view names
-- answer in every mode. Windows are [start, start + size) on event time (recorded_at), aligned
-- to UTC midnight, as Flink's TUMBLE with the table.local-time-zone UTC.
CREATE VIEW aircraft_event_stats_hourly AS
SELECT a.registration_number,
       date_bin('1 hour', h.recorded_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS window_start,
       date_bin('1 hour', h.recorded_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') + INTERVAL '1 hour' AS window_end,
       count(*) AS total_events,
       count(*) FILTER (WHERE h.event_type = 'AircraftRegistered') AS registered,
       count(*) FILTER (WHERE h.event_type = 'AircraftDetailsUpdated') AS details_updated,
       count(*) FILTER (WHERE h.event_type = 'AircraftStatusChanged') AS status_changes,
       count(*) FILTER (WHERE h.event_type = 'AirworthinessCertificateIssued') AS certificates_issued,
       count(*) FILTER (WHERE h.event_type = 'FlightLogged') AS flights_logged,
       count(*) FILTER (WHERE h.event_type = 'AircraftDecommissioned') AS decommissioned
FROM aircraft_history h
JOIN aircraft a ON a.id = h.aircraft_id
GROUP BY 1, 2;

-- Per aircraft and day: block minutes and cycles that day and over the 7 days ending with it
-- (Flink: tumbling 1-day and sliding 7-day/1-day windows). A row for every day whose 7-day
-- window holds a flight.
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
-- received, classification events, processed, rejected; for documents processed in the hour,
-- average and longest seconds from receipt to processing.
CREATE VIEW inbox_intake_hourly AS
WITH events AS (
    SELECT h.document_id,
           h.event_type,
           h.recorded_at,
           date_bin('1 hour', h.recorded_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS window_start
    FROM inbox_history h
    WHERE h.event_type IN ('FileReceived', 'DocumentClassified', 'DocumentProcessed', 'DocumentRejected')
)
SELECT e.window_start,
       e.window_start + INTERVAL '1 hour' AS window_end,
       coalesce(f.document_type, 'unclassified') AS document_type,
       count(*) FILTER (WHERE e.event_type = 'FileReceived') AS received,
       count(*) FILTER (WHERE e.event_type = 'DocumentClassified') AS classified,
       count(*) FILTER (WHERE e.event_type = 'DocumentProcessed') AS processed,
       count(*) FILTER (WHERE e.event_type = 'DocumentRejected') AS rejected,
       avg(floor(extract(epoch FROM e.recorded_at - f.created_at)))
           FILTER (WHERE e.event_type = 'DocumentProcessed')::float8 AS avg_processing_seconds,
       max(floor(extract(epoch FROM e.recorded_at - f.created_at)))
           FILTER (WHERE e.event_type = 'DocumentProcessed')::bigint AS max_processing_seconds
FROM events e
JOIN inbox_files f ON f.id = e.document_id
GROUP BY 1, 2, 3;
