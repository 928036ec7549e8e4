-- Statistics per airframe, not per registration number. Decommissioning frees an aircraft's
-- registration number and a new aircraft may take it; statistics keyed by the number merged the
-- two airframes into one row. `aircraft_stats` and `aircraft_event_stats_hourly` are now keyed by
-- aircraft id, with the registration number kept as a column (several rows may share it).

-- Wait for a running projector batch to commit and keep the next one out until this migration
-- commits (every batch locks this row first): aircraft_history then holds exactly the events
-- the projector has counted.
SELECT 1 FROM subscription_checkpoints WHERE name = 'projections' FOR UPDATE;

DROP TABLE aircraft_stats;

-- Per aircraft: how many events it produced and when the last one was.
CREATE TABLE aircraft_stats
(
    aircraft_id         text PRIMARY KEY,
    registration_number text        NOT NULL,
    total_events        bigint      NOT NULL,
    last_event          timestamptz NOT NULL
);

CREATE INDEX aircraft_stats_registration_idx ON aircraft_stats (registration_number, aircraft_id);

-- What the projector would have written for the events it has handled (no rebuild needed).
INSERT INTO aircraft_stats (aircraft_id, registration_number, total_events, last_event)
SELECT h.aircraft_id, a.registration_number, count(*), max(h.recorded_at)
FROM aircraft_history h
JOIN aircraft a ON a.id = h.aircraft_id
GROUP BY h.aircraft_id, a.registration_number;

-- Per aircraft and hour (Flink: the job aircraft_event_stats_hourly, same key and columns).
DROP VIEW aircraft_event_stats_hourly;

CREATE VIEW aircraft_event_stats_hourly AS
SELECT h.aircraft_id,
       a.registration_number,
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
GROUP BY h.aircraft_id, a.registration_number, 3;
