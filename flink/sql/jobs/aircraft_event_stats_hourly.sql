-- Per aircraft and hour (tumbling, event time): events in total and per type, with the
-- aircraft's registration number. Keyed by aircraft, not by registration number: a number can
-- pass to another aircraft after a decommissioning, and each airframe keeps its own rows.
INSERT INTO aircraft_event_stats_hourly
SELECT w.aggregateid,
       r.registration_number,
       w.window_start,
       w.window_end,
       w.total_events,
       w.registered,
       w.details_updated,
       w.status_changes,
       w.certificates_issued,
       w.flights_logged,
       w.decommissioned
FROM (
    SELECT aggregateid,
           window_start,
           window_end,
           COUNT(DISTINCT id) AS total_events,
           COUNT(DISTINCT id) FILTER (WHERE eventtype = 'AircraftRegistered') AS registered,
           COUNT(DISTINCT id) FILTER (WHERE eventtype = 'AircraftDetailsUpdated') AS details_updated,
           COUNT(DISTINCT id) FILTER (WHERE eventtype = 'AircraftStatusChanged') AS status_changes,
           COUNT(DISTINCT id) FILTER (WHERE eventtype = 'AirworthinessCertificateIssued') AS certificates_issued,
           COUNT(DISTINCT id) FILTER (WHERE eventtype = 'FlightLogged') AS flights_logged,
           COUNT(DISTINCT id) FILTER (WHERE eventtype = 'AircraftDecommissioned') AS decommissioned
    FROM TABLE(TUMBLE(TABLE aircraft_events, DESCRIPTOR(`time`), INTERVAL '1' HOUR))
    GROUP BY aggregateid, window_start, window_end
) w
JOIN (
    SELECT DISTINCT aggregateid, data.registration_number AS registration_number
    FROM aircraft_events WHERE eventtype = 'AircraftRegistered'
) r ON r.aggregateid = w.aggregateid;
