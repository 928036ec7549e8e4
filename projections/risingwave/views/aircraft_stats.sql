-- Per aircraft: how many events it produced and when the last one was, with its registration
-- number (a number passed on after a decommissioning has one row per airframe); same columns
-- and key as the embedded projection `aircraft_stats`.
SELECT e.aggregateid AS aircraft_id,
       r.registration_number,
       count(*) AS total_events,
       max(e.recordedat) AS last_event
FROM klg_aircraft_events e
JOIN (SELECT aggregateid, data ->> 'registration_number' AS registration_number
      FROM klg_aircraft_events WHERE eventtype = 'AircraftRegistered') r ON r.aggregateid = e.aggregateid
GROUP BY e.aggregateid, r.registration_number
