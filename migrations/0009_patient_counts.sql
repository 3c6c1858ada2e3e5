-- How many live (not archived) patients each account created, kept by the
-- triggers below in the same transaction as the change, so the total of an
-- unfiltered patient list (X-Total-Count on every page a reception desk
-- opens) is a lookup, not a count of every row: at 100,000 patients the
-- count was most of a page's cost.
CREATE TABLE patient_counts (
    created_by INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE RESTRICT,
    live       INTEGER NOT NULL CHECK (live >= 0)
);
INSERT INTO patient_counts (created_by, live)
    SELECT created_by, count(*) FROM patients WHERE deleted_at IS NULL GROUP BY created_by;

CREATE TRIGGER patient_counts_insert AFTER INSERT ON patients
    WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO patient_counts (created_by, live) VALUES (new.created_by, 1)
        ON CONFLICT (created_by) DO UPDATE SET live = live + 1;
END;

-- Archive, restore, and (never done by clinicdesk, but kept right) a change
-- of creator: take the old row out of its count, put the new one in.
CREATE TRIGGER patient_counts_update AFTER UPDATE OF deleted_at, created_by ON patients
    WHEN (old.deleted_at IS NULL) <> (new.deleted_at IS NULL) OR old.created_by <> new.created_by
BEGIN
    UPDATE patient_counts SET live = live - 1
        WHERE created_by = old.created_by AND old.deleted_at IS NULL;
    INSERT INTO patient_counts (created_by, live)
        SELECT new.created_by, 1 WHERE new.deleted_at IS NULL
        ON CONFLICT (created_by) DO UPDATE SET live = live + 1;
END;

CREATE TRIGGER patient_counts_delete AFTER DELETE ON patients
    WHEN old.deleted_at IS NULL
BEGIN
    UPDATE patient_counts SET live = live - 1 WHERE created_by = old.created_by;
END;
