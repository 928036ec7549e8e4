-- Current state of each TMC (parts) request, derived from its events; same columns and meaning
-- as the embedded projection `tmc_requests` (projections/src/projector.rs `project_parts`).
-- Shared SQL: runs as a RisingWave materialized view and as a PostgreSQL view (parity tests).
WITH ev AS (
    SELECT aggregateid, sequence, "position", eventtype, recordedat, data FROM klg_tmc_events
),
requested AS (
    SELECT aggregateid, data, recordedat FROM ev WHERE eventtype = 'PartsRequested'
),
step AS (
    SELECT aggregateid, eventtype, recordedat, data,
           ROW_NUMBER() OVER (PARTITION BY aggregateid, eventtype ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype <> 'PartsRequested'
),
heads AS (
    SELECT aggregateid, sequence, "position", eventtype, recordedat,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev
)
SELECT r.aggregateid AS id,
       r.data ->> 'aircraft_id' AS aircraft_id,
       r.data ->> 'part_number' AS part_number,
       r.data ->> 'description' AS description,
       CAST(r.data ->> 'quantity' AS integer) AS quantity,
       r.data -> 'reason' ->> 'kind' AS reason_kind,
       r.data -> 'reason' ->> 'reference' AS reason_reference,
       r.data ->> 'source_document' AS source_document_id,
       CASE h.eventtype WHEN 'PartsRequested' THEN 'requested'
                        WHEN 'PartsRequestApproved' THEN 'approved'
                        WHEN 'PartsOrdered' THEN 'ordered'
                        WHEN 'PartsReceived' THEN 'received'
                        WHEN 'PartsInstalled' THEN 'installed'
                        WHEN 'PartsRequestCancelled' THEN 'cancelled'
                        WHEN 'PartsRequestRejected' THEN 'rejected' END AS status,
       o.data ->> 'supplier' AS supplier,
       o.data ->> 'order_ref' AS order_ref,
       i.data ->> 'serial_number' AS serial_number,
       CAST(i.data ->> 'installed_on' AS date) AS installed_on,
       i.data ->> 'work_order' AS install_work_order,
       c.data ->> 'reason' AS closing_reason,
       r.recordedat AS requested_at,
       a.recordedat AS approved_at,
       o.recordedat AS ordered_at,
       v.recordedat AS received_at,
       i.recordedat AS installed_at,
       c.recordedat AS closed_at,
       h.recordedat AS updated_at,
       h.sequence AS version,
       h."position" AS last_position
FROM requested r
JOIN heads h ON h.aggregateid = r.aggregateid AND h.rn = 1
LEFT JOIN step a ON a.aggregateid = r.aggregateid AND a.eventtype = 'PartsRequestApproved' AND a.rn = 1
LEFT JOIN step o ON o.aggregateid = r.aggregateid AND o.eventtype = 'PartsOrdered' AND o.rn = 1
LEFT JOIN step v ON v.aggregateid = r.aggregateid AND v.eventtype = 'PartsReceived' AND v.rn = 1
LEFT JOIN step i ON i.aggregateid = r.aggregateid AND i.eventtype = 'PartsInstalled' AND i.rn = 1
LEFT JOIN step c ON c.aggregateid = r.aggregateid
                 AND c.eventtype IN ('PartsRequestCancelled', 'PartsRequestRejected') AND c.rn = 1
