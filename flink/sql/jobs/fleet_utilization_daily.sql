-- Per aircraft and day (event time, UTC): block minutes and cycles flown that day (tumbling
-- 1-day window) and over the 7 days ending with it (sliding window: 7 days, 1-day slide).
-- A row exists for every day whose 7-day window holds a flight.
-- Duplicates from the at-least-once mirror are removed inside each window (one row per event
-- id) before summing, so sums stay exact.
CREATE TEMPORARY VIEW flights AS
SELECT id, aggregateid, `time`, data.block_minutes AS block_minutes, data.cycles AS cycles
FROM aircraft_events WHERE eventtype = 'FlightLogged';

CREATE TEMPORARY VIEW daily AS
SELECT aggregateid, window_end, SUM(block_minutes) AS block_minutes, SUM(cycles) AS cycles
FROM (
    SELECT aggregateid, id, window_start, window_end, MAX(block_minutes) AS block_minutes, MAX(cycles) AS cycles
    FROM TABLE(TUMBLE(TABLE flights, DESCRIPTOR(`time`), INTERVAL '1' DAY))
    GROUP BY aggregateid, id, window_start, window_end
) GROUP BY aggregateid, window_end;

CREATE TEMPORARY VIEW rolling AS
SELECT aggregateid, window_end, SUM(block_minutes) AS block_minutes, SUM(cycles) AS cycles
FROM (
    SELECT aggregateid, id, window_start, window_end, MAX(block_minutes) AS block_minutes, MAX(cycles) AS cycles
    FROM TABLE(HOP(TABLE flights, DESCRIPTOR(`time`), INTERVAL '1' DAY, INTERVAL '7' DAY))
    GROUP BY aggregateid, id, window_start, window_end
) GROUP BY aggregateid, window_end;

INSERT INTO fleet_utilization_daily
SELECT r.aggregateid,
       reg.registration_number,
       r.window_end - INTERVAL '1' DAY,
       r.window_end,
       COALESCE(d.block_minutes, 0),
       COALESCE(d.cycles, 0),
       r.block_minutes,
       r.cycles
FROM rolling r
LEFT JOIN daily d ON d.aggregateid = r.aggregateid AND d.window_end = r.window_end
JOIN (
    SELECT DISTINCT aggregateid, data.registration_number AS registration_number
    FROM aircraft_events WHERE eventtype = 'AircraftRegistered'
) reg ON reg.aggregateid = r.aggregateid;
