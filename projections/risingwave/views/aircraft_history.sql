-- One row per aircraft event, for the audit trail; same columns as the embedded view
-- `aircraft_history` (migration 0015). The history query writes each entry's summary from the
-- event (projections/src/queries/summary.rs), in both stores.
SELECT "position" AS global_position,
       aggregateid AS aircraft_id,
       sequence,
       id AS event_id,
       eventtype AS event_type,
       eventversion AS event_version,
       recordedat AS recorded_at,
       actor,
       requestid AS request_id,
       correlationid AS correlation_id,
       causationid AS causation_id,
       jsonb_build_object(eventtype, data) AS payload
FROM klg_aircraft_events
