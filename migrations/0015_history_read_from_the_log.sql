-- An aircraft's and a document's history are read from the log itself instead of from a copy of
-- it (docs/benchmarks.md, session 14). `aircraft_history` and `inbox_history` held one row per
-- event: the event's own columns again, plus a summary for aircraft. Writing those copies was
-- about 40 % of a rebuild (profiled: 0.35 s of 0.87 s for 100,000 events) and a share of every
-- live projector batch, while the events table already keeps each stream in sequence order under
-- its primary key (aggregate_type, aggregate_id, sequence), which is what the history query reads.
--
-- They become views over `events` with the same names and the same columns, less `summary`: the
-- history query now writes each entry's summary from the event itself (projections/src/queries/
-- aircraft.rs), as the audit timeline does. What changes for a reader:
-- - the views follow the log's head, not the projector's checkpoint: an event is in the history
--   from its commit on, possibly a moment before the aircraft row shows its effect;
-- - `event_version` and `payload` are as stored; the history query upcasts them, as every other
--   reader of stored events does (the statistics views read no field an upcaster changes).
-- The statistics views over them are recreated unchanged.

-- Keep the projector's batches out until this commits (every batch locks this row first).
SELECT 1 FROM subscription_checkpoints WHERE name = 'projections' FOR UPDATE;

DO $$
DECLARE
    dependents CONSTANT text[] := ARRAY['aircraft_event_stats_hourly', 'fleet_utilization_daily',
                                        'inbox_intake_hourly'];
    definitions text[];
    history record;
BEGIN
    SELECT array_agg(pg_get_viewdef(view::regclass) ORDER BY n) INTO definitions
    FROM unnest(dependents) WITH ORDINALITY AS d(view, n);
    EXECUTE 'DROP VIEW ' || array_to_string(dependents, ', ');
    DROP TABLE aircraft_history, inbox_history;

    -- Each stream as stored, under the old table's name and columns (less `summary`).
    FOR history IN SELECT * FROM (VALUES ('aircraft_history', 'aircraft_id', 'Aircraft'),
                                         ('inbox_history', 'document_id', 'InboxItem')) AS h(name, id_column, kind)
    LOOP
        EXECUTE format(
            'CREATE VIEW %I AS '
            'SELECT global_position, aggregate_id AS %I, sequence, event_id::text AS event_id, event_type, '
            '       event_version, recorded_at, coalesce(metadata ->> ''actor'', ''unknown'') AS actor, '
            '       metadata ->> ''request_id'' AS request_id, metadata ->> ''correlation_id'' AS correlation_id, '
            '       metadata ->> ''causation_id'' AS causation_id, payload '
            'FROM events WHERE aggregate_type = %L',
            history.name, history.id_column, history.kind);
    END LOOP;

    FOR n IN 1 .. array_length(dependents, 1) LOOP
        EXECUTE format('CREATE VIEW %I AS %s', dependents[n], definitions[n]);
    END LOOP;
END
$$;
