-- Per registration number: how many events its aircraft produced and when the last one was;
-- the seed's view, same columns as the embedded projection `aircraft_stats`.
SELECT r.registration_number,
       count(*) AS total_events,
       max(e.recordedat) AS last_event
FROM klg_aircraft_events e
JOIN (SELECT aggregateid, data ->> 'registration_number' AS registration_number
      FROM klg_aircraft_events WHERE eventtype = 'AircraftRegistered') r ON r.aggregateid = e.aggregateid
GROUP BY r.registration_number
