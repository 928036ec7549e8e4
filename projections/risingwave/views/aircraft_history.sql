-- One row per aircraft event, for the audit trail; same columns and summaries as the embedded
-- projection `aircraft_history` (projections/src/projector.rs `summarize`).
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
       CASE eventtype
           WHEN 'AircraftRegistered' THEN
               'Registered ' || (data ->> 'registration_number') || ' (' || (data ->> 'aircraft_type') || ' '
               || (data ->> 'model') || ', MSN ' || (data ->> 'serial_number') || ') for ' || (data ->> 'operator')
           WHEN 'AircraftDetailsUpdated' THEN
               'Details updated: ' || concat_ws(', ',
                   CASE WHEN data ->> 'operator' IS NOT NULL THEN 'operator → ' || (data ->> 'operator') END,
                   CASE WHEN data ->> 'model' IS NOT NULL THEN 'model → ' || (data ->> 'model') END,
                   CASE WHEN data -> 'base_airport' IS NOT NULL
                        THEN 'base → ' || coalesce(data ->> 'base_airport', 'none') END,
                   CASE WHEN data -> 'notes' IS NOT NULL THEN 'notes changed' END)
           WHEN 'AircraftStatusChanged' THEN
               'Status ' || (data ->> 'from') || ' → ' || (data ->> 'to') || ': ' || (data ->> 'reason')
           WHEN 'AirworthinessCertificateIssued' THEN
               'Certificate ' || (data ->> 'number') || ' issued, valid ' || (data ->> 'issued_on') || ' to '
               || (data ->> 'valid_until')
           WHEN 'FlightLogged' THEN
               'Flight on ' || (data ->> 'flight_date') || ': '
               || CAST(CAST(data ->> 'block_minutes' AS bigint) / 60 AS varchar) || ':'
               || lpad(CAST(CAST(data ->> 'block_minutes' AS bigint) % 60 AS varchar), 2, '0')
               || ' block, ' || (data ->> 'cycles') || ' cycle(s)'
           WHEN 'AircraftDecommissioned' THEN
               'Decommissioned ' || (data ->> 'registration_number') || coalesce(': ' || (data ->> 'reason'), '')
           -- A directive's next due: "next due <date> or <h:mm> FH or <n> FC", the limits present.
           WHEN 'DirectiveApplicabilityRecorded' THEN
               'Directive ' || (data ->> 'number') || coalesce(' rev. ' || (data ->> 'revision'), '')
               || CASE WHEN CAST(data ->> 'applicable' AS boolean)
                       THEN ' applies; next due ' || concat_ws(' or ', data -> 'next_due' ->> 'on',
                   CAST(CAST(data -> 'next_due' ->> 'block_minutes' AS bigint) / 60 AS varchar) || ':'
                   || lpad(CAST(CAST(data -> 'next_due' ->> 'block_minutes' AS bigint) % 60 AS varchar), 2, '0')
                   || ' FH',
                   (data -> 'next_due' ->> 'cycles') || ' FC')
                       ELSE ' does not apply' || coalesce(': ' || (data ->> 'reason'), '') END
           WHEN 'PartInstalled' THEN
               'Part ' || (data ->> 'part_number') || ' S/N ' || (data ->> 'serial_number') || ' installed on '
               || (data ->> 'installed_on') || ' under ' || (data ->> 'work_order')
           WHEN 'ReleasedToService' THEN
               'Released to service under ' || (data ->> 'work_order') || ' by ' || (data ->> 'certifying_staff')
               || ' (licence ' || (data ->> 'licence') || '); signed by ' || (data -> 'signed_by' ->> 'name')
           WHEN 'DirectiveComplied' THEN
               'Directive ' || (data ->> 'number') || ' complied with by ' || replace(data ->> 'method', '_', ' ')
               || ' on ' || (data ->> 'done_on') || ' (' || (data ->> 'work_order') || ', '
               || (data ->> 'performed_by') || '); '
               || CASE WHEN data -> 'next_due' ->> 'on' IS NULL AND data -> 'next_due' ->> 'block_minutes' IS NULL
                            AND data -> 'next_due' ->> 'cycles' IS NULL THEN 'closed'
                       ELSE 'next due ' || concat_ws(' or ', data -> 'next_due' ->> 'on',
                   CAST(CAST(data -> 'next_due' ->> 'block_minutes' AS bigint) / 60 AS varchar) || ':'
                   || lpad(CAST(CAST(data -> 'next_due' ->> 'block_minutes' AS bigint) % 60 AS varchar), 2, '0')
                   || ' FH',
                   (data -> 'next_due' ->> 'cycles') || ' FC') END
       END AS summary,
       jsonb_build_object(eventtype, data) AS payload
FROM klg_aircraft_events
