-- Duplicate patients: blocking keys, the clinic-wide list of likely pairs,
-- the pairs a person said are two people, and where a merged record went.
--
-- `match_keys` is a JSON array of blocking keys computed in Rust when a
-- patient is written (the sound of the last name with the date of birth,
-- with the sound of the first name; the date of birth with the first name;
-- the last 7 digits of the phone; the email), like `search_text`. NULL means
-- not computed yet: rows from before this migration, which the server fills
-- in the background after it starts. The triggers keep `patient_match_keys`
-- (live patients only) in step with every write, so candidates come from an
-- index lookup, never from a pass over every patient.
ALTER TABLE patients ADD COLUMN match_keys TEXT;
-- Set when a merge archived this record: the patient it was merged into.
ALTER TABLE patients ADD COLUMN merged_into INTEGER REFERENCES patients (id);
CREATE INDEX patients_without_match_keys ON patients (id) WHERE match_keys IS NULL;

CREATE TABLE patient_match_keys (
    key        TEXT    NOT NULL,
    patient_id INTEGER NOT NULL REFERENCES patients (id),
    PRIMARY KEY (key, patient_id)
) WITHOUT ROWID;
CREATE INDEX patient_match_keys_by_patient ON patient_match_keys (patient_id);

CREATE TRIGGER patient_match_keys_insert AFTER INSERT ON patients
    WHEN new.deleted_at IS NULL AND new.match_keys IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO patient_match_keys (key, patient_id)
        SELECT value, new.id FROM json_each(new.match_keys);
END;
CREATE TRIGGER patient_match_keys_update AFTER UPDATE OF match_keys, deleted_at ON patients
BEGIN
    DELETE FROM patient_match_keys WHERE patient_id = old.id;
    INSERT OR IGNORE INTO patient_match_keys (key, patient_id)
        SELECT value, new.id FROM json_each(new.match_keys)
         WHERE new.deleted_at IS NULL AND new.match_keys IS NOT NULL;
END;
CREATE TRIGGER patient_match_keys_delete AFTER DELETE ON patients
BEGIN
    DELETE FROM patient_match_keys WHERE patient_id = old.id;
END;

-- Likely duplicates across the clinic, scored when either patient is
-- written (or by the background fill), so the list is a page of an index,
-- not a comparison of every patient with every other per request. Pairs
-- scoring at least 30 (the lowest threshold the setting allows) are kept;
-- the list shows those at or above the clinic's threshold. `reasons`: a
-- JSON array of the words the API answers.
CREATE TABLE duplicate_pairs (
    low     INTEGER NOT NULL REFERENCES patients (id),
    high    INTEGER NOT NULL REFERENCES patients (id),
    score   INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    reasons TEXT    NOT NULL,
    PRIMARY KEY (low, high),
    CHECK (low < high)
) WITHOUT ROWID;
CREATE INDEX duplicate_pairs_by_score ON duplicate_pairs (score DESC, low, high);
CREATE INDEX duplicate_pairs_by_high ON duplicate_pairs (high);

-- An archived patient (a merge archives one) is in no pair.
CREATE TRIGGER duplicate_pairs_leave_with_patient AFTER UPDATE OF deleted_at ON patients
    WHEN new.deleted_at IS NOT NULL
BEGIN
    DELETE FROM duplicate_pairs WHERE low = new.id OR high = new.id;
END;

-- "Not the same person": never suggested again.
CREATE TABLE distinct_patients (
    low       INTEGER NOT NULL REFERENCES patients (id),
    high      INTEGER NOT NULL REFERENCES patients (id),
    marked_by INTEGER NOT NULL REFERENCES users (id),
    marked_at TEXT    NOT NULL,
    PRIMARY KEY (low, high),
    CHECK (low < high)
) WITHOUT ROWID;
CREATE TRIGGER duplicate_pairs_leave_when_distinct AFTER INSERT ON distinct_patients
BEGIN
    DELETE FROM duplicate_pairs WHERE low = new.low AND high = new.high;
END;

-- How similar two records must be to be suggested (0-100, see the README).
ALTER TABLE settings ADD COLUMN duplicate_threshold INTEGER NOT NULL DEFAULT 60
    CHECK (duplicate_threshold BETWEEN 30 AND 100);

-- An audit event may name a second record: a merge names the survivor
-- (entity_id) and the record merged into it (related_id); "not the same
-- person" names both patients. A record's history shows both.
ALTER TABLE audit_log ADD COLUMN related_id INTEGER;
CREATE INDEX audit_log_by_related ON audit_log (related_id, id) WHERE related_id IS NOT NULL;
