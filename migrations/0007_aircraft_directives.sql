-- Airworthiness directives on each aircraft's record (kept by the projector from the Aircraft
-- events `DirectiveApplicabilityRecorded` and `DirectiveComplied`; rebuildable like every
-- projection). One row per aircraft and directive number: the current assessment, the last
-- compliance since it, and when the directive next falls due. What is *left* (days, hours,
-- cycles) is computed when read, from today and the aircraft row's totals, so a flight rewrites
-- no directive row.
CREATE TABLE aircraft_directives
(
    aircraft_id            text        NOT NULL,
    number                 text        NOT NULL,
    revision               text,
    document_id            text        NOT NULL,
    applicable             boolean     NOT NULL,
    not_applicable_reason  text,
    comply_within_days     integer,
    comply_within_hours    integer,
    comply_within_cycles   integer,
    assessed_at            timestamptz NOT NULL,
    -- not_applicable, open (awaiting compliance), recurring (complied, due again), complied (closed)
    status                 text        NOT NULL,
    method                 text,
    done_on                date,
    block_minutes_at       bigint,
    cycles_at              bigint,
    performed_by           text,
    work_order             text,
    interval_days          integer,
    interval_hours         integer,
    interval_cycles        integer,
    complied_at            timestamptz,
    next_due_on            date,
    next_due_block_minutes bigint,
    next_due_cycles        bigint,
    -- The aircraft event (sequence, global position) that last changed the row.
    version                bigint      NOT NULL,
    last_position          bigint      NOT NULL,
    PRIMARY KEY (aircraft_id, number)
);

