-- Ids are never handed out twice. Without AUTOINCREMENT, SQLite gives a new
-- row max(id) + 1, so deleting the newest mapping and creating another
-- reused its id: the audit trail then mixed two mappings under one number,
-- and a client holding the old id edited the new record. Each table that
-- has an id is rebuilt with `INTEGER PRIMARY KEY AUTOINCREMENT`, following
-- SQLite's procedure for schema changes ALTER TABLE cannot make
-- (https://sqlite.org/lang_altertable.html, "Making Other Kinds Of Table
-- Schema Changes"): foreign keys are off while migrations run (the start-up
-- connection never turns them on), each table is copied into its new form
-- under a new name, the old one dropped, the new one renamed, and every
-- index and trigger of the old table created again exactly as migrations
-- 0001-0009 made them. Existing ids are kept; the copy seeds
-- `sqlite_sequence` with the largest id, and ids the audit trail names
-- (a deleted mapping's) are counted as used too.
--
-- Also, for accounts:
-- * the lockout columns of 0005 go: failed sign-ins are throttled per client
--   address and per account and address, in memory (see `throttle`), never
--   by locking the account;
-- * `token_version` counts the events that end an account's outstanding
--   access tokens (logout, password change, deactivation): a token carries
--   the version it was issued under and is refused once the account's has
--   moved on. A counter, not a time, so a token issued in the same second as
--   a logout is still told apart from one issued after the next login;
-- * `throttle_resets` counts `clinicdesk admin unlock` (and an admin's
--   unlock in the UI), so a running server forgets that account's sign-in
--   delays at its next sign-in attempt, even when the unlock came from the
--   command line.

CREATE TABLE new_users (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    email                TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    username             TEXT    UNIQUE COLLATE NOCASE,
    name                 TEXT,
    password_hash        TEXT    NOT NULL,
    role                 TEXT    NOT NULL CHECK (role IN ('admin', 'staff', 'user')),
    is_active            INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0 CHECK (must_change_password IN (0, 1)),
    token_version        INTEGER NOT NULL DEFAULT 0 CHECK (token_version >= 0),
    throttle_resets      INTEGER NOT NULL DEFAULT 0 CHECK (throttle_resets >= 0)
);
INSERT INTO new_users (id, email, username, name, password_hash, role, is_active,
                       created_at, updated_at, must_change_password)
    SELECT id, email, username, name, password_hash, role, is_active,
           created_at, updated_at, must_change_password
      FROM users;
DROP TABLE users;
ALTER TABLE new_users RENAME TO users;

CREATE TABLE new_patients (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name                 TEXT    NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name                  TEXT    CHECK (length(last_name) <= 100),
    date_of_birth              TEXT    CHECK (date_of_birth IS NULL OR date(date_of_birth) = date_of_birth),
    age                        INTEGER CHECK (age BETWEEN 0 AND 130),
    gender                     TEXT    CHECK (gender IN ('M', 'F', 'O', 'U')),
    phone                      TEXT,
    email                      TEXT,
    blood_group                TEXT    CHECK (blood_group IN ('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-')),
    address                    TEXT,
    city                       TEXT,
    state                      TEXT,
    postal_code                TEXT,
    country                    TEXT,
    medical_history            TEXT,
    allergies                  TEXT,
    current_medications        TEXT,
    emergency_contact_name     TEXT,
    emergency_contact_phone    TEXT,
    emergency_contact_relation TEXT,
    is_active                  INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    search_text                TEXT    NOT NULL DEFAULT '',
    created_by                 INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at                 TEXT    NOT NULL,
    updated_at                 TEXT    NOT NULL,
    deleted_at                 TEXT
);
INSERT INTO new_patients (id, first_name, last_name, date_of_birth, age, gender, phone, email,
                          blood_group, address, city, state, postal_code, country,
                          medical_history, allergies, current_medications,
                          emergency_contact_name, emergency_contact_phone,
                          emergency_contact_relation, is_active, search_text, created_by,
                          created_at, updated_at, deleted_at)
    SELECT id, first_name, last_name, date_of_birth, age, gender, phone, email,
           blood_group, address, city, state, postal_code, country,
           medical_history, allergies, current_medications,
           emergency_contact_name, emergency_contact_phone,
           emergency_contact_relation, is_active, search_text, created_by,
           created_at, updated_at, deleted_at
      FROM patients;
-- The search index (0008) is external-content: it keeps the rowids, which
-- the copy keeps too, so it stays valid. Its triggers, and the counts' (0009),
-- go with the old table and are made again below.
DROP TABLE patients;
ALTER TABLE new_patients RENAME TO patients;
CREATE INDEX patients_by_creator ON patients (created_by, id) WHERE deleted_at IS NULL;
CREATE INDEX patients_live_by_last_name  ON patients (last_name, id)  WHERE deleted_at IS NULL;
CREATE INDEX patients_live_by_first_name ON patients (first_name, id) WHERE deleted_at IS NULL;
CREATE INDEX patients_live_by_birth      ON patients (date_of_birth, id) WHERE deleted_at IS NULL;
CREATE INDEX patients_live_by_city       ON patients (city COLLATE NOCASE) WHERE deleted_at IS NULL;

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
CREATE TRIGGER patients_search_update AFTER UPDATE OF search_text, deleted_at ON patients
BEGIN
    INSERT INTO patients_search (patients_search, rowid, search_text)
        SELECT 'delete', old.id, old.search_text WHERE old.deleted_at IS NULL;
    INSERT INTO patients_search (rowid, search_text)
        SELECT new.id, new.search_text WHERE new.deleted_at IS NULL;
END;

CREATE TRIGGER patient_counts_insert AFTER INSERT ON patients
    WHEN new.deleted_at IS NULL
BEGIN
    INSERT INTO patient_counts (created_by, live) VALUES (new.created_by, 1)
        ON CONFLICT (created_by) DO UPDATE SET live = live + 1;
END;
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

CREATE TABLE new_doctors (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name           TEXT    NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name            TEXT    CHECK (length(last_name) <= 100),
    specialization       TEXT    NOT NULL CHECK (length(specialization) BETWEEN 1 AND 100),
    years_of_experience  INTEGER CHECK (years_of_experience BETWEEN 0 AND 70),
    phone                TEXT,
    email                TEXT    UNIQUE COLLATE NOCASE,
    qualification        TEXT,
    license_number       TEXT    UNIQUE COLLATE NOCASE,
    consultation_fee_cents INTEGER CHECK (consultation_fee_cents >= 0),
    available_days       TEXT,
    available_time       TEXT,
    bio                  TEXT,
    languages_spoken     TEXT,
    city                 TEXT,
    is_available         INTEGER NOT NULL DEFAULT 1 CHECK (is_available IN (0, 1)),
    search_text          TEXT    NOT NULL DEFAULT '',
    created_by           INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL,
    deleted_at           TEXT
);
INSERT INTO new_doctors (id, first_name, last_name, specialization, years_of_experience, phone,
                         email, qualification, license_number, consultation_fee_cents,
                         available_days, available_time, bio, languages_spoken, city,
                         is_available, search_text, created_by, created_at, updated_at,
                         deleted_at)
    SELECT id, first_name, last_name, specialization, years_of_experience, phone,
           email, qualification, license_number, consultation_fee_cents,
           available_days, available_time, bio, languages_spoken, city,
           is_available, search_text, created_by, created_at, updated_at,
           deleted_at
      FROM doctors;
DROP TABLE doctors;
ALTER TABLE new_doctors RENAME TO doctors;

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
CREATE TRIGGER doctors_search_update AFTER UPDATE OF search_text, deleted_at ON doctors
BEGIN
    INSERT INTO doctors_search (doctors_search, rowid, search_text)
        SELECT 'delete', old.id, old.search_text WHERE old.deleted_at IS NULL;
    INSERT INTO doctors_search (rowid, search_text)
        SELECT new.id, new.search_text WHERE new.deleted_at IS NULL;
END;

CREATE TABLE new_mappings (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES patients (id) ON DELETE RESTRICT,
    doctor_id  INTEGER NOT NULL REFERENCES doctors (id) ON DELETE RESTRICT,
    reason     TEXT,
    notes      TEXT,
    status     TEXT    NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'INACTIVE', 'COMPLETED')),
    created_by INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
INSERT INTO new_mappings (id, patient_id, doctor_id, reason, notes, status, created_by,
                          created_at, updated_at)
    SELECT id, patient_id, doctor_id, reason, notes, status, created_by, created_at, updated_at
      FROM mappings;
DROP TABLE mappings;
ALTER TABLE new_mappings RENAME TO mappings;
CREATE UNIQUE INDEX mappings_one_active_pair ON mappings (patient_id, doctor_id) WHERE status = 'ACTIVE';
CREATE INDEX mappings_by_doctor ON mappings (doctor_id);
CREATE INDEX mappings_by_patient ON mappings (patient_id);

CREATE TABLE new_audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT    NOT NULL,
    actor_id    INTEGER,
    actor_role  TEXT    CHECK (actor_role IN ('admin', 'staff', 'user')),
    -- 'throttle' is new: failed sign-ins that started a sign-in delay.
    action      TEXT    NOT NULL CHECK (action IN (
                    'create', 'update', 'archive', 'restore', 'delete', 'view', 'search',
                    'export', 'login', 'login_failed', 'lockout', 'throttle', 'unlock', 'logout',
                    'password_change', 'role_change', 'user_deactivate', 'token_reuse',
                    'setup', 'setting_change', 'denied', 'backup')),
    entity      TEXT    CHECK (entity IN (
                    'patient', 'doctor', 'mapping', 'user', 'setting', 'backup', 'audit')),
    entity_id   INTEGER,
    outcome     TEXT    NOT NULL CHECK (outcome IN ('success', 'failure')),
    client_ip   TEXT,
    request_id  TEXT,
    fields      TEXT
);
INSERT INTO new_audit_log (id, at, actor_id, actor_role, action, entity, entity_id, outcome,
                           client_ip, request_id, fields)
    SELECT id, at, actor_id, actor_role, action, entity, entity_id, outcome,
           client_ip, request_id, fields
      FROM audit_log;
-- The append-only triggers guard against UPDATE and DELETE; dropping the
-- table they belong to fires neither, and drops them with it.
DROP TABLE audit_log;
ALTER TABLE new_audit_log RENAME TO audit_log;
CREATE INDEX audit_log_by_entity ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_by_actor  ON audit_log (actor_id, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX audit_log_by_time   ON audit_log (at, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The copies above left each table's largest id in `sqlite_sequence`. An id
-- the audit trail names was handed out even if its row is gone (a deleted
-- mapping, the newest one removed before this upgrade): never give it again.
WITH used (name, seq) AS (
    SELECT t.name, coalesce((SELECT max(entity_id) FROM audit_log a WHERE a.entity = t.entity), 0)
      FROM (SELECT 'users' AS name, 'user' AS entity
            UNION ALL SELECT 'patients', 'patient'
            UNION ALL SELECT 'doctors', 'doctor'
            UNION ALL SELECT 'mappings', 'mapping') AS t
)
UPDATE sqlite_sequence
   SET seq = max(seq, (SELECT used.seq FROM used WHERE used.name = sqlite_sequence.name))
 WHERE name IN (SELECT name FROM used);
-- A table emptied before the upgrade has no row there yet.
WITH used (name, seq) AS (
    SELECT t.name, coalesce((SELECT max(entity_id) FROM audit_log a WHERE a.entity = t.entity), 0)
      FROM (SELECT 'users' AS name, 'user' AS entity
            UNION ALL SELECT 'patients', 'patient'
            UNION ALL SELECT 'doctors', 'doctor'
            UNION ALL SELECT 'mappings', 'mapping') AS t
)
INSERT INTO sqlite_sequence (name, seq)
    SELECT name, seq FROM used
     WHERE seq > 0 AND name NOT IN (SELECT name FROM sqlite_sequence);
