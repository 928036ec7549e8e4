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
