-- One row per inbox event; same columns as the embedded view `inbox_history` (migration 0015).
SELECT "position" AS global_position,
       aggregateid AS document_id,
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
FROM klg_inbox_events
