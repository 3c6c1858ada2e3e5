-- Search that stays fast with ten years of patients: a trigram index over
-- each table's `search_text` (already lower-cased in Rust), so a substring
-- of three or more characters is an index lookup instead of a scan of every
-- row. Shorter terms still scan `search_text` (a trigram needs three
-- characters). External-content tables: the text lives once, in the table.
-- The index holds live records only (archived ones leave it, restored ones
-- come back), so the number of matches is counted from the index alone; an
-- admin's search of the archive scans. The triggers keep it in step with
-- every insert, update and delete. (Hence no 'rebuild', which would index
-- archived rows too.)
CREATE VIRTUAL TABLE patients_search USING fts5(
    search_text, content = 'patients', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO patients_search (rowid, search_text)
    SELECT id, search_text FROM patients WHERE deleted_at IS NULL;

CREATE TRIGGER patients_search_insert AFTER INSERT ON patients
    WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO patients_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER patients_search_delete AFTER DELETE ON patients
    WHEN old.deleted_at IS NULL
BEGIN
    INSERT INTO patients_search (patients_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
END;
-- An edit, an archive or a restore: out with what was indexed, in with what
-- should be.
CREATE TRIGGER patients_search_update AFTER UPDATE OF search_text, deleted_at ON patients
BEGIN
    INSERT INTO patients_search (patients_search, rowid, search_text)
        SELECT 'delete', old.id, old.search_text WHERE old.deleted_at IS NULL;
    INSERT INTO patients_search (rowid, search_text)
        SELECT new.id, new.search_text WHERE new.deleted_at IS NULL;
END;

CREATE VIRTUAL TABLE doctors_search USING fts5(
    search_text, content = 'doctors', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO doctors_search (rowid, search_text)
    SELECT id, search_text FROM doctors WHERE deleted_at IS NULL;

CREATE TRIGGER doctors_search_insert AFTER INSERT ON doctors
    WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO doctors_search (rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER doctors_search_delete AFTER DELETE ON doctors
    WHEN old.deleted_at IS NULL
BEGIN
    INSERT INTO doctors_search (doctors_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
END;
-- An edit, an archive or a restore: out with what was indexed, in with what
-- should be.
CREATE TRIGGER doctors_search_update AFTER UPDATE OF search_text, deleted_at ON doctors
BEGIN
    INSERT INTO doctors_search (doctors_search, rowid, search_text)
        SELECT 'delete', old.id, old.search_text WHERE old.deleted_at IS NULL;
    INSERT INTO doctors_search (rowid, search_text)
        SELECT new.id, new.search_text WHERE new.deleted_at IS NULL;
END;

-- The list orderings a reception desk uses, over live records only (what
-- every list but an admin's archive shows), so a page is read in index
-- order and stops after its 50 rows.
CREATE INDEX patients_live_by_last_name  ON patients (last_name, id)  WHERE deleted_at IS NULL;
CREATE INDEX patients_live_by_first_name ON patients (first_name, id) WHERE deleted_at IS NULL;
CREATE INDEX patients_live_by_birth      ON patients (date_of_birth, id) WHERE deleted_at IS NULL;
CREATE INDEX patients_live_by_city       ON patients (city COLLATE NOCASE) WHERE deleted_at IS NULL;

-- One patient's doctors (GET /api/mappings/<patient_id>/, the patient
-- page): the unique index above covers ACTIVE mappings only.
CREATE INDEX mappings_by_patient ON mappings (patient_id);
