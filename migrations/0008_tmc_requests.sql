-- TMC (parts and material) requests: the current state of each `PartsRequest`, kept by the
-- projector from its events and rebuildable like every projection. The event log (and the
-- audit timeline) keeps each step; this row keeps what a planner filters and searches on.
CREATE TABLE tmc_requests
(
    id                 text PRIMARY KEY,
    aircraft_id        text        NOT NULL,
    part_number        text        NOT NULL,
    description        text        NOT NULL,
    quantity           integer     NOT NULL,
    -- directive or work_order, and its number / reference
    reason_kind        text        NOT NULL,
    reason_reference   text        NOT NULL,
    source_document_id text,
    -- requested, approved, ordered, received, installed, cancelled, rejected
    status             text        NOT NULL,
    supplier           text,
    order_ref          text,
    serial_number      text,
    installed_on       date,
    install_work_order text,
    -- why it was cancelled or rejected
    closing_reason     text,
    requested_at       timestamptz NOT NULL,
    approved_at        timestamptz,
    ordered_at         timestamptz,
    received_at        timestamptz,
    installed_at       timestamptz,
    closed_at          timestamptz,
    updated_at         timestamptz NOT NULL,
    version            bigint      NOT NULL,
    last_position      bigint      NOT NULL
);

CREATE INDEX tmc_requests_aircraft_idx ON tmc_requests (aircraft_id, requested_at);
CREATE INDEX tmc_requests_status_idx ON tmc_requests (status, requested_at);
