-- Per hour (event time, UTC) and document type: documents received, classification events,
-- documents processed and rejected, and for those processed in the hour the average and
-- longest time from receipt to processing (whole seconds). The document type is the
-- document's latest classification ("unclassified" if none), so a reclassification moves its
-- document's counts to the new type (the sink is upserted).
CREATE TEMPORARY VIEW document_types AS
SELECT aggregateid, document_type FROM (
    SELECT aggregateid, data.document_type AS document_type,
           ROW_NUMBER() OVER (PARTITION BY aggregateid ORDER BY `sequence` DESC) AS rn
    FROM inbox_events WHERE eventtype = 'DocumentClassified'
) WHERE rn = 1;

CREATE TEMPORARY VIEW received AS
SELECT aggregateid, MIN(`time`) AS received_at FROM inbox_events WHERE eventtype = 'FileReceived' GROUP BY aggregateid;

CREATE TEMPORARY VIEW windowed AS
SELECT aggregateid, window_start, window_end,
       COUNT(DISTINCT id) FILTER (WHERE eventtype = 'FileReceived') AS received,
       COUNT(DISTINCT id) FILTER (WHERE eventtype = 'DocumentClassified') AS classified,
       COUNT(DISTINCT id) FILTER (WHERE eventtype = 'DocumentProcessed') AS processed,
       COUNT(DISTINCT id) FILTER (WHERE eventtype = 'DocumentRejected') AS rejected,
       MAX(`time`) FILTER (WHERE eventtype = 'DocumentProcessed') AS processed_at
FROM TABLE(TUMBLE(TABLE inbox_events, DESCRIPTOR(`time`), INTERVAL '1' HOUR))
WHERE eventtype IN ('FileReceived', 'DocumentClassified', 'DocumentProcessed', 'DocumentRejected')
GROUP BY aggregateid, window_start, window_end;

INSERT INTO inbox_intake_hourly
SELECT w.window_start,
       w.window_end,
       COALESCE(t.document_type, 'unclassified'),
       SUM(w.received),
       SUM(w.classified),
       SUM(w.processed),
       SUM(w.rejected),
       AVG(CAST(TIMESTAMPDIFF(SECOND, r.received_at, w.processed_at) AS DOUBLE)),
       MAX(CAST(TIMESTAMPDIFF(SECOND, r.received_at, w.processed_at) AS BIGINT))
FROM windowed w
JOIN received r ON r.aggregateid = w.aggregateid
LEFT JOIN document_types t ON t.aggregateid = w.aggregateid
GROUP BY w.window_start, w.window_end, COALESCE(t.document_type, 'unclassified');
