-- Per registration number and hour (tumbling, event time): events in total and per type.
-- Windows are computed per aircraft, then attributed to its registration number (a number can
-- pass to another aircraft after a decommissioning: both count under it).
INSERT INTO aircraft_event_stats_hourly
SELECT r.registration_number,
       w.window_start,
       w.window_end,
       SUM(w.total_events),
       SUM(w.registered),
       SUM(w.details_updated),
       SUM(w.status_changes),
       SUM(w.certificates_issued),
       SUM(w.flights_logged),
       SUM(w.decommissioned)
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
) r ON r.aggregateid = w.aggregateid
GROUP BY r.registration_number, w.window_start, w.window_end;
