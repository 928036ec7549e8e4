-- Current state of each inbox document; same columns and meaning as the embedded projection
-- `inbox_files` (projections/src/projector.rs), less its search vector.
WITH ev AS (
    SELECT aggregateid, sequence, "position", eventtype, recordedat, data FROM klg_inbox_events
),
received AS (
    SELECT aggregateid,
           data ->> 'filename' AS filename,
           data ->> 'content_type' AS content_type,
           CAST(data ->> 'size_bytes' AS bigint) AS size_bytes,
           data ->> 'sha256' AS sha256,
           data ->> 'source' AS source,
           recordedat AS created_at
    FROM ev WHERE eventtype = 'FileReceived'
),
status_changes AS (
    SELECT aggregateid,
           CASE eventtype WHEN 'FileReceived' THEN 'received'
                          WHEN 'DocumentClassified' THEN 'classified'
                          WHEN 'DocumentProcessed' THEN 'processed'
                          WHEN 'DocumentRejected' THEN 'rejected'
                          ELSE 'archived' END AS status,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype IN ('FileReceived', 'DocumentClassified', 'DocumentProcessed', 'DocumentRejected',
                                'DocumentArchived')
),
classifications AS (
    SELECT aggregateid, data ->> 'document_type' AS document_type, recordedat AS classified_at,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype = 'DocumentClassified'
),
links AS (
    SELECT aggregateid, data ->> 'aircraft_id' AS aircraft_id,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev WHERE eventtype = 'DocumentLinkedToAircraft'
),
-- Processing, rejection and archiving happen at most once per document.
outcomes AS (
    SELECT aggregateid,
           max(CASE WHEN eventtype = 'DocumentProcessed' THEN data ->> 'note' END) AS processing_note,
           max(CASE WHEN eventtype = 'DocumentRejected' THEN data ->> 'reason' END) AS rejection_reason,
           max(CASE WHEN eventtype = 'DocumentProcessed' THEN recordedat END) AS processed_at,
           max(CASE WHEN eventtype = 'DocumentRejected' THEN recordedat END) AS rejected_at,
           max(CASE WHEN eventtype = 'DocumentArchived' THEN recordedat END) AS archived_at
    FROM ev GROUP BY aggregateid
),
heads AS (
    SELECT aggregateid, sequence, "position", recordedat,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY sequence DESC) AS rn
    FROM ev
)
SELECT r.aggregateid AS id,
       r.filename,
       r.content_type,
       r.size_bytes,
       r.sha256,
       r.source,
       s.status,
       c.document_type,
       l.aircraft_id,
       o.processing_note,
       o.rejection_reason,
       r.created_at,
       h.recordedat AS updated_at,
       c.classified_at,
       o.processed_at,
       o.rejected_at,
       o.archived_at,
       h.sequence AS version,
       h."position" AS last_position
FROM received r
JOIN heads h ON h.aggregateid = r.aggregateid AND h.rn = 1
JOIN status_changes s ON s.aggregateid = r.aggregateid AND s.rn = 1
JOIN outcomes o ON o.aggregateid = r.aggregateid
LEFT JOIN classifications c ON c.aggregateid = r.aggregateid AND c.rn = 1
LEFT JOIN links l ON l.aggregateid = r.aggregateid AND l.rn = 1
