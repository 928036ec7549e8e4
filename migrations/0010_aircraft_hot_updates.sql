-- Every flight updates its aircraft's row (totals, version, last position, updated_at). With
-- `updated_at` indexed, none of those updates could be HOT (heap-only): each wrote a new entry
-- into every index of the table, the GIN index over `search` included. Listing by `updated_at`
-- sorts a fleet-sized table instead (thousands of rows at most), and pages keep room for the new
-- row versions so they stay on the same page (docs/benchmarks.md, session 6).
DROP INDEX aircraft_updated_idx;
ALTER TABLE aircraft SET (fillfactor = 70);
