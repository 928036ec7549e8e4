-- History rows are read by their record (the history query, by record and sequence; the
-- statistics views, grouped by record); nothing looks one up by its global position. Its two unique keys — the global position and
-- (record, sequence) — both refused an event applied twice; one does. The other was an index
-- maintained on every projected event and rebuilt by every `klg project --rebuild`: 50–65 ms
-- of a one-second rebuild of 100,000 events (docs/benchmarks.md, session 13).
--
-- (record, sequence) becomes the primary key under the name the global position's had.

ALTER TABLE aircraft_history
    DROP CONSTRAINT aircraft_history_pkey,
    DROP CONSTRAINT aircraft_history_aircraft_id_sequence_key,
    ADD CONSTRAINT aircraft_history_pkey PRIMARY KEY (aircraft_id, sequence);

ALTER TABLE inbox_history
    DROP CONSTRAINT inbox_history_pkey,
    DROP CONSTRAINT inbox_history_document_id_sequence_key,
    ADD CONSTRAINT inbox_history_pkey PRIMARY KEY (document_id, sequence);
