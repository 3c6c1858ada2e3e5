-- Which machine is the clinic's primary, for a replicated database (see
-- `standby`). One row, written only while `replication = "litestream"`.
-- It travels to the replica with everything else, so a standby reads it
-- from its copy:
-- - `history` names this database's line of changes. A restored backup or
--   a new database starts a new one, and a replica of another history is
--   refused rather than overwritten.
-- - `term` grows by one at every promotion; a machine whose copy has an
--   older term than the replica's was replaced and must not serve.
-- - `beats` is the primary's heartbeat, counted up every few seconds while
--   it serves. A standby promotes only after seeing it stand still.
CREATE TABLE primary_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    history TEXT NOT NULL CHECK (length(history) = 32),
    term INTEGER NOT NULL CHECK (term >= 1),
    holder TEXT NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
    beats INTEGER NOT NULL DEFAULT 0 CHECK (beats >= 0),
    renewed_at TEXT NOT NULL
);
