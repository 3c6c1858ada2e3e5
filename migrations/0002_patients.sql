-- Patients. Archived (soft-deleted via `deleted_at`), never erased: a clinic
-- must be able to bring a record back, and mappings keep pointing at it.
CREATE TABLE patients (
    id                         INTEGER PRIMARY KEY,
    first_name                 TEXT    NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name                  TEXT    CHECK (length(last_name) <= 100),
    -- A real calendar date: date() returns NULL (so the check fails) for 2026-02-30.
    date_of_birth              TEXT    CHECK (date_of_birth IS NULL OR date(date_of_birth) = date_of_birth),
    -- Only meaningful without a date of birth (walk-ins who know their age, not their birthday).
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
    -- Lower-cased (Unicode-aware, in Rust) names, email and phone, with the
    -- phone's digits alone too, so search folds case beyond ASCII and finds
    -- "555-0100" from "5550100". SQLite's own lower() folds ASCII only.
    search_text                TEXT    NOT NULL DEFAULT '',
    created_by                 INTEGER NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    created_at                 TEXT    NOT NULL,
    updated_at                 TEXT    NOT NULL,
    deleted_at                 TEXT
);
-- A plain user's list is "the patients I created".
CREATE INDEX patients_by_creator ON patients (created_by, id) WHERE deleted_at IS NULL;
